#!/usr/bin/env python3
"""bench/peers/micro_asyncio.py - Python's side of the micro-benchmarks that
bench/run sets beside vow (workloads in micro.hpp), on asyncio's own loop or
on uvloop's, printing the same JSON lines:

  python3 micro_asyncio.py [--loop=asyncio|uvloop] [--div=K] [WORKLOAD...]

chain: loop.call_soon chains; then: a chain of futures, each resolved by a
done-callback of the one before; all: asyncio.gather over pending futures;
timers and timers_spread: loop.call_later / TimerHandle.cancel; xthread: 4
threads calling loop.call_soon_threadsafe, xthread_one: one thread;
future_bytes: tracemalloc's count of the bytes per pending
loop.create_future(). Python's sizes are a fifth of the C++ ones for chain,
then, the timers and the xthreads (the figure is per operation).
Exit status 2 if the requested loop is not importable.
"""

import asyncio
import json
import os
import sys
import threading
import time
import tracemalloc

now = time.perf_counter_ns


async def chain(n):
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    count = 0
    t0 = now()

    def step():
        nonlocal count
        count += 1
        if count < n:
            loop.call_soon(step)
        else:
            done.set_result(None)

    loop.call_soon(step)
    await done
    return (now() - t0) / n


async def then_chain(n):
    loop = asyncio.get_running_loop()
    t0 = now()
    futs = [loop.create_future() for _ in range(n + 1)]
    for i in range(n):
        nxt = futs[i + 1]
        futs[i].add_done_callback(lambda f, nxt=nxt: nxt.set_result(f.result() + 1))
    futs[0].set_result(0)
    v = await futs[n]
    r = (now() - t0) / n
    if v != n:
        raise RuntimeError("then result")
    return r


async def gather(n):
    loop = asyncio.get_running_loop()
    t0 = now()
    futs = [loop.create_future() for _ in range(n)]
    g = asyncio.gather(*futs)
    for i, f in enumerate(futs):
        f.set_result(i)
    v = await g
    r = (now() - t0) / n
    if len(v) != n or v[-1] != n - 1:
        raise RuntimeError("all result")
    return r


async def timers_with(n, delay_ms):
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    expected = (n + 1) // 2
    fired = 0

    def cb():
        nonlocal fired
        fired += 1
        if fired == expected:
            done.set_result(None)

    t0 = now()
    hs = [loop.call_later(delay_ms(i) / 1000, cb) for i in range(n)]
    for i in range(1, n, 2):
        hs[i].cancel()
    await done
    return (now() - t0) / n


async def timers(n):
    return await timers_with(n, lambda i: i % 10)


async def timers_spread(n):
    # micro.hpp's spread_delay_ms: 0..50 ms in a scrambled order.
    return await timers_with(n, lambda i: (i * 37) % 51)


async def posts(n, threads, pin):
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    each = n // threads
    total = each * threads
    count = 0
    go = threading.Event()

    def cb():
        nonlocal count
        count += 1
        if count == total:
            done.set_result(None)

    def poster():
        if pin:
            os.sched_setaffinity(0, {pin[0]})
        go.wait()
        post = loop.call_soon_threadsafe
        for _ in range(each):
            post(cb)

    ts = [threading.Thread(target=poster) for _ in range(threads)]
    for t in ts:
        t.start()
    t0 = now()
    go.set()
    await done
    r = (now() - t0) / total
    for t in ts:
        t.join()
    return r


async def xthread(n):
    return await posts(n, 4, None)


async def xthread_one(n):
    # micro.hpp's cpu_pair: the loop on the second allowed CPU, the poster on
    # the first (os.sched_setaffinity(0, ...) pins the calling thread only).
    saved = os.sched_getaffinity(0)
    cpus = sorted(saved)[:2]
    if len(cpus) < 2:
        return await posts(n, 1, None)
    os.sched_setaffinity(0, {cpus[1]})
    try:
        return await posts(n, 1, cpus)
    finally:
        os.sched_setaffinity(0, saved)


async def future_bytes(n):
    loop = asyncio.get_running_loop()
    futs = [None] * n
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(n):
        futs[i] = loop.create_future()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    for f in futs:
        f.set_result(None)
    return (after - before) / n


WORKLOADS = [
    ("chain", 200_000, chain),
    ("then", 200_000, then_chain),
    ("all", 100_000, gather),
    ("timers", 200_000, timers),
    ("timers_spread", 200_000, timers_spread),
    ("xthread", 200_000, xthread),
    ("xthread_one", 200_000, xthread_one),
    ("future_bytes", 100_000, future_bytes),
]


async def main(div, wanted):
    for name, full, fn in WORKLOADS:
        if wanted and name not in wanted:
            continue
        n = full // div
        await fn(min(1000, n // 10 + 1))  # warm-up
        v = await fn(n)
        key = "bytes_per_op" if name.endswith("_bytes") else "ns_per_op"
        print(json.dumps({"workload": name, "n": n, key: round(v, 3)}), flush=True)


if __name__ == "__main__":
    loop_name, div, wanted = "asyncio", 1, []
    for a in sys.argv[1:]:
        if a.startswith("--loop="):
            loop_name = a[7:]
        elif a.startswith("--div="):
            div = max(1, int(a[6:]))
        elif a == "--list":
            print("\n".join(w[0] for w in WORKLOADS))
            sys.exit(0)
        else:
            wanted.append(a)
    if loop_name == "uvloop":
        try:
            import uvloop
        except ImportError:
            print("uvloop is not installed", file=sys.stderr)
            sys.exit(2)
        uvloop.install()
    asyncio.run(main(div, wanted))
