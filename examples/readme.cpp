#include <vow/vow.hpp>
#include <fmt/core.h>
using namespace std::chrono_literals;

int main() {
    vow::reactor r;
    auto answer = vow::sleep(r, 100ms)                         // future<void>
        .then([] { return 20; })                               // future<int>
        .then([](int n) -> int { if (n < 42) throw std::range_error("too small"); return n; })
        .catch_([](const std::range_error& e) { fmt::print("recovered: {}\n", e.what()); return 21; })
        .then([&r](int n) { return vow::sleep(r, 10ms).then([n] { return n * 2; }); })  // adopted
        .finally([] { fmt::print("done\n"); });
    fmt::print("answer: {}\n", vow::run_until_complete(r, std::move(answer)));
}
