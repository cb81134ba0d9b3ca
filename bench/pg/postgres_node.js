#!/usr/bin/env node
// bench/pg/postgres_node.js - examples/pg_bench's workloads on Node.js with
// npm's `postgres` (postgres.js), the Node.js peer of bench/pg/run.py.
//
//   NODE_PATH=build-bench/npm/node_modules node postgres_node.js \
//       --dsn DSN --queries N --concurrency C [--workload add|rows|copy] [--rows R]
//
// Same work and output as examples/pg_bench (bench/pg/asyncpg_bench.py's
// docstring has the details): add runs sql`SELECT ${i}::int + 1` N times from
// C workers on a shared counter (postgres({max: C}), prepared statements, the
// default), checking each answer; rows runs the generate_series query N times
// and reads every field; copy streams R rows, generated inside the timed part
// in batches of 1,000 lines, into a fresh pg_bench_copy through
// sql`COPY ... FROM STDIN`.writable(). postgres.js opens connections lazily,
// so C concurrent `SELECT 1` open the pool before the clock starts.
'use strict';
const postgres = require('postgres');
const { once } = require('events');
const { finished } = require('stream/promises');

const ROWS_SQL = (r) => `SELECT i, 'row ' || i, i * 0.5::float8 FROM generate_series(1, ${r}) i`;
const COPY_TABLE = 'pg_bench_copy';

function parseArgs(argv) {
  const a = { queries: 100000, concurrency: 10, workload: 'add' };
  for (let k = 0; k < argv.length; k += 2) {
    const key = argv[k].replace(/^--/, '');
    const value = argv[k + 1];
    if (value === undefined) throw new Error(`--${key} needs a value`);
    a[key] = ['queries', 'concurrency', 'rows'].includes(key) ? Number(value) : value;
  }
  if (!a.dsn) throw new Error('--dsn is required');
  if (a.rows === undefined) a.rows = a.workload === 'copy' ? 1000000 : 10000;
  return a;
}

// libpq's `key=value ...` DSN as postgres.js options.
function options(dsn, max) {
  const o = { max, onnotice: () => {} };
  for (const part of dsn.trim().split(/\s+/)) {
    const [key, value] = [part.slice(0, part.indexOf('=')), part.slice(part.indexOf('=') + 1).replace(/^'|'$/g, '')];
    if (key === 'host') o.host = value;
    else if (key === 'port') o.port = Number(value);
    else if (key === 'user') o.username = value;
    else if (key === 'password') o.password = value;
    else if (key === 'dbname') o.database = value;
    else throw new Error(`unsupported DSN key ${key}`);
  }
  return o;
}

async function pooled(a, sql, work) {
  await Promise.all(Array.from({ length: a.concurrency }, () => sql`SELECT 1`));
  let next = 0;
  const worker = async () => {
    while (next < a.queries) await work(next++);
  };
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: a.concurrency }, worker));
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function add(a, sql) {
  const elapsed = await pooled(a, sql, async (i) => {
    const [[v]] = await sql`SELECT ${i}::int + 1`.values();
    if (v !== i + 1) throw new Error(`SELECT ${i}::int + 1 answered ${v}`);
  });
  console.log(`queries/s ${(a.queries / elapsed).toFixed(1)}`);
  return elapsed;
}

async function rows(a, sql) {
  const text = ROWS_SQL(a.rows);
  const elapsed = await pooled(a, sql, async () => {
    const result = await sql.unsafe(text, [], { prepare: true }).values();
    let total = 0;
    for (const r of result) total += r[0] + r[1].length + r[2];
    if (result.length !== a.rows) throw new Error(`${result.length} rows, expected ${a.rows}`);
  });
  console.log(`rows/s ${((a.queries * a.rows) / elapsed).toFixed(1)}`);
  return elapsed;
}

async function copy(a, sql) {
  await sql.unsafe(`DROP TABLE IF EXISTS ${COPY_TABLE}`);
  await sql.unsafe(`CREATE TABLE ${COPY_TABLE} (id int, name text, value float8)`);
  const start = process.hrtime.bigint();
  const stream = await sql.unsafe(`COPY ${COPY_TABLE} (id, name, value) FROM STDIN`).writable();
  for (let i = 1; i <= a.rows; ) {
    let chunk = '';
    for (const end = Math.min(i + 999, a.rows); i <= end; i++) chunk += `${i}\trow ${i}\t${i * 0.5}\n`;
    if (!stream.write(chunk)) await once(stream, 'drain');
  }
  stream.end();
  await finished(stream);
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  const [[count]] = await sql.unsafe(`SELECT count(*)::int FROM ${COPY_TABLE}`).values();
  await sql.unsafe(`DROP TABLE ${COPY_TABLE}`);
  if (count !== a.rows) throw new Error(`the table has ${count} rows, expected ${a.rows}`);
  console.log(`rows/s ${(a.rows / elapsed).toFixed(1)}`);
  return elapsed;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const run = { add, rows, copy }[a.workload];
  if (!run) throw new Error(`unknown workload ${a.workload}`);
  const sql = postgres(options(a.dsn, a.workload === 'copy' ? 1 : a.concurrency));
  try {
    const elapsed = await run(a, sql);
    console.log(`elapsed ${elapsed.toFixed(3)}`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

main().catch((e) => {
  console.error(`postgres_node: ${e.message}`);
  process.exit(1);
});
