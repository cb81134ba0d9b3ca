// tests/consume/consumer.cpp - a program written the way a user of vow writes
// one: it knows only the installed headers (through <vow/vow.hpp>) and the
// library that pkg-config, find_package(vow) or dependency('vow') hands it.
#include <vow/vow.hpp>

#include <fmt/core.h>

#include <chrono>

using namespace std::chrono_literals;

// <vow/version.hpp> (through <vow/vow.hpp>) agrees with itself.
static_assert(VOW_VERSION == VOW_MAKE_VERSION(VOW_VERSION_MAJOR, VOW_VERSION_MINOR, VOW_VERSION_PATCH));
static_assert(VOW_VERSION >= VOW_MAKE_VERSION(0, 1, 0));

int main() {
    vow::reactor r;
    const auto start = vow::reactor::clock::now();
    int steps = 0;
    r.call_soon([&] {
        ++steps;
        fmt::print("call_soon ran\n");
    });
    (void)r.call_later(20ms, [&] {
        ++steps;
        bool on_time = vow::reactor::clock::now() - start >= 20ms;
        fmt::print("timer fired {}\n", on_time ? "after 20 ms" : "too early");
    });
    r.run();
    fmt::print("vow {} steps\n", steps);
    return steps == 2 ? 0 : 1;
}
