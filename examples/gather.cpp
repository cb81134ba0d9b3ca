// examples/gather.cpp - asyncio.gather, the seed's example.
//
//   async def task1():
//       print("Task1 start"); await asyncio.sleep(2); print("Task1 end")
//   async def task2():
//       print("Task2 start"); await asyncio.sleep(1); print("Task2 end")
//   await asyncio.gather(task1(), task2())
//   print("All tasks completed")
//
// vow::all is gather: it waits for every future and keeps their results in
// argument order. Both sleeps run at the same time, so it takes about two
// seconds, not three.
#include <vow/vow.hpp>

#include <fmt/core.h>

#include <chrono>

using namespace std::chrono_literals;

vow::future<void> task1(vow::reactor& r) {
    fmt::print("Task1 start\n");
    return vow::sleep(r, 2s).then([] { fmt::print("Task1 end\n"); });
}

vow::future<void> task2(vow::reactor& r) {
    fmt::print("Task2 start\n");
    return vow::sleep(r, 1s).then([] { fmt::print("Task2 end\n"); });
}

int main() {
    vow::reactor r;
    auto start = std::chrono::steady_clock::now();

    // Start both in order (C++ leaves the order of function arguments open).
    auto t1 = task1(r);
    auto t2 = task2(r);
    vow::run_until_complete(r, vow::all(std::move(t1), std::move(t2)));
    fmt::print("All tasks completed\n");

    auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    fmt::print("in about {:.0f} s\n", took);
}
