// bench/all_peer.js - the Node.js counterpart of combinator_bench's vow::all.
//
// Times Promise.all over N promises, the same two shapes as the C++ program:
//   ready:   ps[i] = Promise.resolve(i); await Promise.all(ps)
//   pending: ps[i] = new Promise((r) => { resolvers[i] = r; });
//            const all = Promise.all(ps); resolvers[i](i) for every i; await all
// with process.hrtime.bigint around each phase, so process start-up is not
// counted. combinator_bench runs it once per repetition and reads one line
// per figure, "name ns_per_element", for example
//   all.pending.total 183.117
// after a first line "node VERSION". A short untimed round of each shape
// warms up the JIT first; with --expose-gc, a full GC runs before each timed
// part (the collector stays on while timing).
//
//   node --expose-gc all_peer.js [N]     # N defaults to 100000
'use strict';

const now = () => process.hrtime.bigint();

async function allReady(n) {
  const t0 = now();
  const ps = [];
  for (let i = 0; i < n; ++i)
    ps.push(Promise.resolve(i));
  const t1 = now();
  const all = Promise.all(ps);
  const t2 = now();
  const v = await all;
  const t3 = now();
  if (v.length !== n || v[n - 1] !== n - 1)
    throw new Error('Promise.all (ready): wrong result');
  return { create: t1 - t0, all: t2 - t1, run: t3 - t2, total: t3 - t0 };
}

async function allPending(n) {
  const t0 = now();
  const ps = [];
  const resolvers = [];
  for (let i = 0; i < n; ++i)
    ps.push(new Promise((r) => { resolvers.push(r); }));
  const t1 = now();
  const all = Promise.all(ps);
  const t2 = now();
  for (let i = 0; i < n; ++i)
    resolvers[i](i);
  const t3 = now();
  const v = await all;
  const t4 = now();
  if (v.length !== n || v[n - 1] !== n - 1)
    throw new Error('Promise.all (pending): wrong result');
  return { create: t1 - t0, all: t2 - t1, resolve: t3 - t2, run: t4 - t3, total: t4 - t0 };
}

function gc() {
  if (typeof global.gc === 'function')
    global.gc();
}

async function main() {
  const n = Number(process.argv[2] ?? 100000);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`usage: node all_peer.js [N]; got '${process.argv[2]}'`);
  await allReady(Math.min(n, 10000));  // warm-up, untimed
  await allPending(Math.min(n, 10000));
  const lines = [`node ${process.version}`];
  for (const [name, fn] of [['ready', allReady], ['pending', allPending]]) {
    gc();
    const r = await fn(n);
    for (const [k, ns] of Object.entries(r))
      lines.push(`all.${name}.${k} ${(Number(ns) / n).toFixed(3)}`);
  }
  console.log(lines.join('\n'));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
