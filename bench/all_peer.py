#!/usr/bin/env python3
"""bench/all_peer.py - the Python counterpart of combinator_bench.

Times, inside one asyncio event loop (or uvloop's, with --loop=uvloop), the
same workloads as the C++ program:

  gather.ready.*    gather over N futures already holding their result
  gather.pending.*  gather over N pending futures, each resolved with
                    set_result after gather is called
  to_thread.*       round trips through a thread pool of 2 workers:
                    asyncio.to_thread and loop.run_in_executor, sequential
                    (each awaits the previous) and concurrent (N submitted,
                    then gather)
  sem.*             asyncio.Semaphore acquire/release pairs: uncontended
                    (one coroutine, the permit always free) and contended
                    (permits=1, W coroutines cycling)

combinator_bench runs it once per repetition and reads its output: one line
per figure, "name ns_per_element_or_op", for example

  gather.pending.total 812.402

and a first line "python VERSION LOOP". A short untimed round of every
workload runs first. Exit status 2 if the requested loop is not importable.

  python3 all_peer.py [--loop=asyncio|uvloop] [--gather=N] [--to-thread=N]
                      [--sem=N] [--waiters=W]
"""

import argparse
import asyncio
import gc
import sys
import time
from concurrent.futures import ThreadPoolExecutor

now = time.perf_counter_ns


def per(ns, n):
    return ns / n


async def gather_ready(n):
    loop = asyncio.get_running_loop()
    t0 = now()
    futs = [loop.create_future() for _ in range(n)]
    for i, f in enumerate(futs):
        f.set_result(i)
    t1 = now()
    g = asyncio.gather(*futs)
    t2 = now()
    res = await g
    t3 = now()
    if len(res) != n or res[-1] != n - 1:
        raise RuntimeError("gather (ready): wrong result")
    return {"create": t1 - t0, "gather": t2 - t1, "run": t3 - t2, "total": t3 - t0}


async def gather_pending(n):
    loop = asyncio.get_running_loop()
    t0 = now()
    futs = [loop.create_future() for _ in range(n)]
    t1 = now()
    g = asyncio.gather(*futs)
    t2 = now()
    for i, f in enumerate(futs):
        f.set_result(i)
    t3 = now()
    res = await g
    t4 = now()
    if len(res) != n or res[-1] != n - 1:
        raise RuntimeError("gather (pending): wrong result")
    return {"create": t1 - t0, "gather": t2 - t1, "resolve": t3 - t2, "run": t4 - t3, "total": t4 - t0}


def one():
    return 1


async def thread_round_trips(n, submit):
    t0 = now()
    s = 0
    for _ in range(n):
        s += await submit()
    t1 = now()
    res = await asyncio.gather(*[submit() for _ in range(n)])
    t2 = now()
    if s != n or sum(res) != n:
        raise RuntimeError("to_thread: wrong result")
    return {"seq": t1 - t0, "conc": t2 - t1}


async def sem_uncontended(n):
    sem = asyncio.Semaphore(1)
    t0 = now()
    for _ in range(n):
        await sem.acquire()
        sem.release()
    return now() - t0


async def sem_contended(n, waiters):
    """W coroutines cycle through one permit; returns (ns, pairs)."""
    sem = asyncio.Semaphore(1)
    count = 0

    async def worker():
        nonlocal count
        while count < n:
            await sem.acquire()
            count += 1
            sem.release()

    t0 = now()
    await asyncio.gather(*[worker() for _ in range(waiters)])
    return now() - t0, count


async def run_all(a, out):
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(max_workers=2)
    loop.set_default_executor(pool)  # asyncio.to_thread uses the default executor

    # Untimed warm-up: bytecode caches, the pool's threads, the allocator.
    await gather_ready(min(a.gather, 10000))
    await gather_pending(min(a.gather, 10000))
    await thread_round_trips(min(a.to_thread, 100), lambda: asyncio.to_thread(one))
    await sem_uncontended(min(a.sem, 10000))
    await sem_contended(min(a.sem, 10000), a.waiters)

    # gc.collect() before each timed part: every part starts from the same
    # heap, as the C++ side does. The collector stays on while timing.
    gc.collect()
    for k, v in (await gather_ready(a.gather)).items():
        out(f"gather.ready.{k}", per(v, a.gather))
    gc.collect()
    for k, v in (await gather_pending(a.gather)).items():
        out(f"gather.pending.{k}", per(v, a.gather))

    gc.collect()
    for k, v in (await thread_round_trips(a.to_thread, lambda: asyncio.to_thread(one))).items():
        out(f"to_thread.{k}", per(v, a.to_thread))
    for k, v in (await thread_round_trips(a.to_thread, lambda: loop.run_in_executor(pool, one))).items():
        out(f"run_in_executor.{k}", per(v, a.to_thread))

    gc.collect()
    out("sem.uncontended", per(await sem_uncontended(a.sem), a.sem))
    gc.collect()
    ns, pairs = await sem_contended(a.sem, a.waiters)
    out("sem.contended", per(ns, pairs))
    pool.shutdown(wait=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    p.add_argument("--gather", type=int, default=100000)
    p.add_argument("--to-thread", type=int, default=5000)
    p.add_argument("--sem", type=int, default=200000)
    p.add_argument("--waiters", type=int, default=1000)
    a = p.parse_args()
    if min(a.gather, a.to_thread, a.sem, a.waiters) < 1:
        p.error("sizes must be positive")

    version = "{}.{}.{}".format(*sys.version_info[:3])
    if a.loop == "uvloop":
        try:
            import uvloop
        except ImportError as e:
            print(f"uvloop missing: {e}", file=sys.stderr)
            return 2
        loop = uvloop.new_event_loop()
        version += f" uvloop {uvloop.__version__}"
    else:
        loop = asyncio.new_event_loop()

    lines = []
    try:
        loop.run_until_complete(run_all(a, lambda k, v: lines.append(f"{k} {v:.3f}")))
    finally:
        loop.close()
    print(f"python {version.replace(' ', '_')} {a.loop}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
