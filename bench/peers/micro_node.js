// bench/peers/micro_node.js - Node.js's side of the micro-benchmarks that
// bench/run sets beside vow (workloads in micro.hpp), printing the same
// JSON lines:
//
//   node --expose-gc micro_node.js [--div=K] [WORKLOAD...]
//
// chain: setImmediate chains (one callback per turn of the loop); then: a
// chain of .then on a pending Promise; all: Promise.all over pending
// promises; timers and timers_spread: setTimeout / clearTimeout; future_bytes: live heap per
// pending promise with its resolve function kept (heapUsed between two full
// GCs; needs --expose-gc). No cross-thread posts: a worker's postMessage
// copies a message to another isolate, which is not the same operation.
'use strict';

const now = () => process.hrtime.bigint();
const per = (t0, n) => Number(now() - t0) / n;

function chain(n) {
  return new Promise((resolve) => {
    let count = 0;
    const t0 = now();
    const step = () => {
      if (++count < n) setImmediate(step);
      else resolve(per(t0, n));
    };
    setImmediate(step);
  });
}

async function thenChain(n) {
  const t0 = now();
  let resolveFirst;
  let p = new Promise((r) => { resolveFirst = r; });
  for (let i = 0; i < n; i++) p = p.then((x) => x + 1);
  resolveFirst(0);
  const v = await p;
  const r = per(t0, n);
  if (v !== n) throw new Error('then result');
  return r;
}

async function all(n) {
  const t0 = now();
  const resolvers = new Array(n);
  const promises = new Array(n);
  for (let i = 0; i < n; i++) promises[i] = new Promise((r) => { resolvers[i] = r; });
  const a = Promise.all(promises);
  for (let i = 0; i < n; i++) resolvers[i](i);
  const v = await a;
  const r = per(t0, n);
  if (v.length !== n || v[n - 1] !== n - 1) throw new Error('all result');
  return r;
}

function timersWith(n, delayMs) {
  return new Promise((resolve, reject) => {
    const expected = Math.ceil(n / 2);
    let fired = 0;
    const t0 = now();
    const handles = new Array(n);
    const cb = () => {
      if (++fired === expected) resolve(per(t0, n));
    };
    for (let i = 0; i < n; i++) handles[i] = setTimeout(cb, delayMs(i));
    for (let i = 1; i < n; i += 2) clearTimeout(handles[i]);
    if (expected === 0) reject(new Error('no timers'));
  });
}

const timers = (n) => timersWith(n, (i) => i % 10);
// micro.hpp's spread_delay_ms: 0..50 ms in a scrambled order.
const timersSpread = (n) => timersWith(n, (i) => (i * 37) % 51);

async function futureBytes(n) {
  if (typeof global.gc !== 'function') throw new Error('run with --expose-gc');
  const resolvers = new Array(n).fill(null);
  const promises = new Array(n).fill(null);
  global.gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < n; i++) promises[i] = new Promise((r) => { resolvers[i] = r; });
  global.gc();
  const after = process.memoryUsage().heapUsed;
  for (let i = 0; i < n; i++) resolvers[i](i);
  return (after - before) / n;
}

const WORKLOADS = [
  ['chain', 200000, chain], // a fifth of vow's: one loop iteration per callback
  ['then', 1000000, thenChain],
  ['all', 100000, all],
  ['timers', 1000000, timers],
  ['timers_spread', 1000000, timersSpread],
  ['future_bytes', 100000, futureBytes],
];

async function main() {
  let div = 1;
  const wanted = [];
  for (const a of process.argv.slice(2)) {
    if (a.startsWith('--div=')) div = Math.max(1, parseInt(a.slice(6), 10) || 1);
    else if (a === '--list') { WORKLOADS.forEach((w) => console.log(w[0])); return; }
    else wanted.push(a);
  }
  for (const [name, full, fn] of WORKLOADS) {
    if (wanted.length && !wanted.includes(name)) continue;
    const n = Math.floor(full / div);
    await fn(Math.min(1000, Math.floor(n / 10) + 1)); // warm-up
    const v = await fn(n);
    const key = name.endsWith('_bytes') ? 'bytes_per_op' : 'ns_per_op';
    console.log(JSON.stringify({ workload: name, n, [key]: Number(v.toFixed(3)) }));
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
