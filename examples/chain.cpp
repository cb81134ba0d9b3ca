// examples/chain.cpp - a then / catch_ / finally chain that recovers from an
// error, printing each step.
//
// Each `then` gets the previous step's value and returns the next one (or a
// future of it). A throw anywhere skips the remaining `then`s down to the
// first `catch_` that handles that error type; `finally` runs either way.
// `catch` is a C++ keyword, hence `catch_`.
#include <vow/vow.hpp>

#include <fmt/core.h>

#include <chrono>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

struct connection_refused : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Pretends to connect: port 8080 refuses, any other port accepts, after 10 ms.
vow::future<std::string> connect(vow::reactor& r, int port) {
    return vow::sleep(r, 10ms).then([port] {
        if (port == 8080)
            throw connection_refused(fmt::format("connection to port {} refused", port));
        return fmt::format("connection on port {}", port);
    });
}

int main() {
    vow::reactor r;

    auto session =
        vow::make_ready_future(r, std::string("port = 8080"))
            .then([](const std::string& config) {
                int port = std::stoi(config.substr(config.find('=') + 1));
                fmt::print("step 1: read the config: port {}\n", port);
                return port;
            })
            .then([&r](int port) {
                fmt::print("step 2: connecting to port {}\n", port);
                return connect(r, port);  // a future<std::string>: the chain waits for it
            })
            .then([](std::string conn) {
                fmt::print("step 3: never printed, the connection failed\n");
                return conn;
            })
            .catch_([](const std::invalid_argument& e) {  // not this error type: skipped
                fmt::print("never printed: {}\n", e.what());
                return std::string();
            })
            .catch_([&r](const connection_refused& e) {
                fmt::print("recovering from: {}\n", e.what());
                fmt::print("step 3: trying the fallback port 9090\n");
                return connect(r, 9090);
            })
            .then([](std::string conn) {
                fmt::print("step 4: got a {}\n", conn);
                return conn.size();
            })
            .finally([] { fmt::print("finally: cleaning up, on success and on failure alike\n"); });

    std::size_t n = vow::run_until_complete(r, std::move(session));
    fmt::print("result: {} characters\n", n);
}
