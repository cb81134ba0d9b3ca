// bench/then_chain.js - the Node.js counterpart of promise_bench's then-chain.
//
// Builds a chain of N `.then`s on a pending Promise, resolves it, and waits
// for the end of the chain: the same shape as the vow program,
//   f = std::move(f).then([](long x) { return x + 1; });   // N times
//   p.resolve(0); run_until_complete(r, std::move(f));
// promise_bench runs this script once per repetition (when `node` is on
// PATH) and reads the one line it prints:
//   build_ns_per_step run_ns_per_step heap_bytes_per_pending_then build_cpu_ns run_cpu_ns
// The last two are CPU time per step (process.cpuUsage: user + system, all
// of the process's threads, so the garbage collector's helpers count).
// A short untimed chain first warms up the JIT, as the C++ side warms up.
// The heap figure needs --expose-gc (promise_bench passes it; -1 without):
// an untimed chain of 100k pending thens, measured between two full GCs.
//
//   node --expose-gc then_chain.js [N]     # N defaults to 2000000
'use strict';

async function chain(n) {
  let resolve;
  const p = new Promise((r) => { resolve = r; });
  let f = p;
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; ++i)
    f = f.then((x) => x + 1);
  const t1 = process.hrtime.bigint();
  const c1 = process.cpuUsage();
  resolve(0);
  const v = await f;
  const t2 = process.hrtime.bigint();
  const c2 = process.cpuUsage();
  if (v !== n)
    throw new Error(`then chain: got ${v}, expected ${n}`);
  const cpu_ns = (a, b) => (b.user - a.user + b.system - a.system) * 1000 / n;
  return [Number(t1 - t0) / n, Number(t2 - t1) / n, cpu_ns(c0, c1), cpu_ns(c1, c2)];
}

// Live heap per pending `.then` (the promise, its reaction and closure).
async function heap_per_then(n) {
  if (typeof global.gc !== 'function')
    return -1;
  let resolve;
  let f = new Promise((r) => { resolve = r; });
  global.gc();
  const h0 = process.memoryUsage().heapUsed;
  for (let i = 0; i < n; ++i)
    f = f.then((x) => x + 1);
  global.gc();
  const h1 = process.memoryUsage().heapUsed;
  resolve(0);
  await f;
  return (h1 - h0) / n;
}

async function main() {
  const n = Number(process.argv[2] ?? 2000000);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`usage: node then_chain.js [N]; got '${process.argv[2]}'`);
  const heap = await heap_per_then(100000);  // untimed
  await chain(Math.min(n, 10000));  // warm-up, untimed
  const [build, run, build_cpu, run_cpu] = await chain(n);
  console.log(`${build.toFixed(3)} ${run.toFixed(3)} ${heap.toFixed(1)} ${build_cpu.toFixed(3)} ${run_cpu.toFixed(3)}`);
}

main().catch((e) => {
  console.error(`then_chain.js: ${e.message}`);
  process.exit(1);
});
