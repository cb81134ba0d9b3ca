// examples/hello.cpp - asyncio's first program on a vow reactor.
//
//   async def hello():
//       print("Hello")
//       await asyncio.sleep(1)
//       print("World")
//
// The coroutine becomes two callbacks: the first prints Hello and arms a
// one-second timer, the timer's callback prints World. run() returns when
// nothing is left to run, like asyncio.run().
#include <vow/reactor/reactor.hpp>

#include <fmt/core.h>

#include <chrono>

using namespace std::chrono_literals;

int main() {
    vow::reactor r;
    r.call_soon([&r] {
        fmt::print("Hello\n");
        // Dropping the handle does not cancel the timer; we never need to.
        (void)r.call_later(1s, [] { fmt::print("World\n"); });
    });
    r.run();
}
