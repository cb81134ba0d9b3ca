// examples/tasks.cpp - asyncio's create_task, with futures.
//
//   async def hello():
//       print("Hello")
//       await asyncio.sleep(1)
//       print("World")
//
//   async def main():
//       task = asyncio.create_task(hello())
//       await task
//
// In vow a task is a function that returns a future. Starting it on a later
// turn of the loop, as create_task does, is `make_ready_future(r).then(...)`:
// the handler runs once the current code is done. Two tasks run
// concurrently on one thread: the total time is the longest wait, not the sum.
#include <vow/vow.hpp>

#include <fmt/core.h>

#include <chrono>

using namespace std::chrono_literals;

// The coroutine `hello`, as a chain: print, sleep, print.
vow::future<void> hello(vow::reactor& r, const char* name, vow::reactor::duration nap) {
    fmt::print("{}: Hello\n", name);
    return vow::sleep(r, nap).then([name] { fmt::print("{}: World\n", name); });
}

// asyncio.create_task: schedule `hello` to start on the next turn, and hand
// back the future that settles when it is done.
vow::future<void> create_task(vow::reactor& r, const char* name, vow::reactor::duration nap) {
    return vow::make_ready_future(r).then([&r, name, nap] { return hello(r, name, nap); });
}

int main() {
    vow::reactor r;
    auto start = std::chrono::steady_clock::now();

    fmt::print("main: creating two tasks\n");
    vow::future<void> a = create_task(r, "task A", 1s);
    vow::future<void> b = create_task(r, "task B", 500ms);
    fmt::print("main: tasks created; neither has started yet\n");

    // `await a; await b` - run the loop until both are done.
    vow::run_until_complete(r, vow::all(std::move(a), std::move(b)));

    auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    fmt::print("main: both tasks done in about {:.0f} s (not 1.5 s: they waited together)\n", took);
}
