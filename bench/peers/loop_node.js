// bench/peers/loop_node.js - Node.js's side of bench/run's loop part, the
// counterpart of loop_vow.cpp: the same workloads, the same N (1M), the
// same JSON lines (micro.hpp):
//
//   node --max-old-space-size=4096 loop_node.js [--div=K] [WORKLOAD...]
//
//   then             N .then on a pending Promise, resolved, awaited
//   repeat_plain     an async function's loop, `if (await body()) break;`,
//                    the body returning a plain boolean (vow: repeat with a
//                    body returning a stop_iteration)
//   repeat_ready     the same, the body returning Promise.resolve(stop)
//                    (vow: make_ready_future)
//   repeat_pending   the same, the body returning a promise that a
//                    queueMicrotask resolves (vow: a promise a call_soon
//                    resolves). Not setImmediate: a turn of Node's loop polls
//                    for I/O (bench/run's chain row measures that), where a
//                    microtask, like vow's call_soon, runs back to back
//   recurse_ready    function loop(n) { return n === 0 ? Promise.resolve()
//                      : Promise.resolve().then(() => loop(n - 1)); }
//   recurse_pending  the same, each level waiting on a promise resolved by a
//                    queueMicrotask instead of Promise.resolve()
//   recurse_bytes, recurse_pending_bytes, repeat_bytes
//                    RSS growth per level (iteration): the peak RSS (VmHWM,
//                    reset through /proc/self/clear_refs first) while the
//                    loop runs, less VmRSS before it, over N; one workload
//                    per process. A promise resolved with another promise
//                    stays pending, with a reaction on the inner one, until
//                    the inner one settles, so the recursion keeps every
//                    level alive until the bottom resolves: it needs more
//                    heap than V8's default limit, hence
//                    --max-old-space-size.
'use strict';

const fs = require('fs');

const now = () => process.hrtime.bigint();

function statusBytes(field) {
  const m = fs.readFileSync('/proc/self/status', 'utf8').match(new RegExp(`^${field}:\\s*(\\d+) kB`, 'm'));
  if (!m) throw new Error(`no ${field} in /proc/self/status`);
  return Number(m[1]) * 1024;
}

async function thenChain(n) {
  let resolveFirst;
  let p = new Promise((r) => { resolveFirst = r; });
  for (let i = 0; i < n; i++) p = p.then((x) => x + 1);
  resolveFirst(0);
  return p;
}

// The loop a Node.js programmer writes: an async function awaiting each body.
async function repeat(body) {
  for (;;) if (await body()) break;
}

async function repeatPlain(n) {
  let count = 0;
  await repeat(() => ++count >= n);
  return count;
}

async function repeatReady(n) {
  let count = 0;
  await repeat(() => Promise.resolve(++count >= n));
  return count;
}

const soon = (v) => new Promise((r) => queueMicrotask(() => r(v)));

async function repeatPending(n) {
  let count = 0;
  await repeat(() => soon(++count >= n));
  return count;
}

async function recurseReady(n) {
  let levels = 0;
  function loop(k) {
    return k === 0 ? Promise.resolve() : Promise.resolve().then(() => { ++levels; return loop(k - 1); });
  }
  await loop(n);
  return levels;
}

async function recursePending(n) {
  let levels = 0;
  function loop(k) {
    return k === 0 ? Promise.resolve() : soon().then(() => { ++levels; return loop(k - 1); });
  }
  await loop(n);
  return levels;
}

const timed = (work) => async (n) => {
  const t0 = now();
  const reached = await work(n);
  const ns = Number(now() - t0) / n;
  if (reached !== n) throw new Error(`loop count: ${reached}, expected ${n}`);
  return ns;
};

const rss = (work) => async (n) => {
  fs.writeFileSync('/proc/self/clear_refs', '5'); // resets VmHWM to VmRSS
  const before = statusBytes('VmRSS');
  const reached = await work(n);
  const peak = statusBytes('VmHWM');
  if (reached !== n) throw new Error(`loop count: ${reached}, expected ${n}`);
  return (peak - before) / n;
};

const N = 1000000;
const WORKLOADS = [
  ['then', N, timed(thenChain)],
  ['repeat_plain', N, timed(repeatPlain)],
  ['repeat_ready', N, timed(repeatReady)],
  ['repeat_pending', N, timed(repeatPending)],
  ['recurse_ready', N, timed(recurseReady)],
  ['recurse_pending', N, timed(recursePending)],
  ['recurse_bytes', N, rss(recurseReady)],
  ['recurse_pending_bytes', N, rss(recursePending)],
  ['repeat_bytes', N, rss(repeatPending)],
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
