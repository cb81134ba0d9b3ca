#!/usr/bin/env node
// bench/net/client_node.js - the Node.js peer of vow's HTTP client benchmark
// (examples/fetch): COUNT GETs of one URL, CONCURRENCY at a time, with the
// global fetch().
//
//   node client_node.js --url http://127.0.0.1:8080/ --count 10000 --concurrency 100
//   {"client":"node-fetch","requests":10000,"seconds":1.234,"requests_per_s":8103.7,"errors":0}
//
// Node 20's fetch is undici behind a global Agent that keeps connections
// alive and pools them per origin (no limit on their number), so CONCURRENCY
// workers end up on CONCURRENCY reused connections; no dispatcher needs to be
// set (and Node 20 does not expose undici's Agent without the npm package).
// Each answer must be status 200 with the body given by --expect (default
// "hello world"); anything else, or a rejection, counts as an error. Exit
// status 1 if any request failed.
'use strict';

function parseArgs(argv) {
    const o = { url: null, count: 10000, concurrency: 100, expect: 'hello world' };
    for (let i = 2; i < argv.length; i += 2) {
        const key = argv[i].replace(/^--/, '');
        if (!(key in o) || i + 1 >= argv.length) {
            console.error('usage: node client_node.js --url URL --count N --concurrency C [--expect BODY]');
            process.exit(2);
        }
        o[key] = key === 'url' || key === 'expect' ? argv[i + 1] : Number(argv[i + 1]);
    }
    if (!o.url) {
        console.error('client_node: --url is required');
        process.exit(2);
    }
    return o;
}

async function main() {
    const o = parseArgs(process.argv);
    let remaining = o.count;
    let done = 0;
    let errors = 0;
    let firstError = '';

    async function worker() {
        while (remaining > 0) {
            --remaining;
            try {
                const res = await fetch(o.url);
                const body = await res.text();
                if (res.status !== 200 || body !== o.expect) {
                    throw new Error(`status ${res.status}, body ${JSON.stringify(body.slice(0, 40))}`);
                }
                ++done;
            } catch (e) {
                ++errors;
                if (!firstError) {
                    firstError = String(e && e.cause ? `${e.message}: ${e.cause}` : e);
                }
            }
        }
    }

    const start = process.hrtime.bigint();
    await Promise.all(Array.from({ length: o.concurrency }, worker));
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    console.log(JSON.stringify({
        client: 'node-fetch',
        requests: done,
        seconds: Number(seconds.toFixed(3)),
        requests_per_s: Number((done / seconds).toFixed(1)),
        errors,
        error_detail: firstError,
    }));
    process.exitCode = errors ? 1 : 0;
}

main();
