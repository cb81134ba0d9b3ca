#!/usr/bin/env node
// bench/net/http_node.js - the Node.js peer of vow's HTTP hello-world
// server: the `http` module.
//
//   node http_node.js --port 0      # prints "listening on 127.0.0.1:<port>"
//
// `GET /` answers 200 "hello world" (text/plain, with Content-Length, so
// keep-alive connections stay open); any other path answers 404. Listens on
// 127.0.0.1 only; SIGTERM or SIGINT end it.
'use strict';
const http = require('http');

function parsePort(argv) {
    let port = 0;
    for (let i = 2; i < argv.length; ++i) {
        if (argv[i] === '--port' && i + 1 < argv.length) {
            port = Number(argv[++i]);
        } else if (argv[i] !== '--quiet') {
            console.error('usage: node http_node.js --port N (0 picks a free port)');
            process.exit(2);
        }
    }
    return port;
}

const body = 'hello world';
const server = http.createServer({ noDelay: true }, (req, res) => {
    if (req.url !== '/') {
        res.writeHead(404, { 'Content-Length': 0 });
        res.end();
        return;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
    res.end(body);
});
// wrk and the client benchmarks keep connections open between requests.
server.keepAliveTimeout = 60000;
server.listen({ host: '127.0.0.1', port: parsePort(process.argv), backlog: 1024 }, () => {
    console.log(`listening on 127.0.0.1:${server.address().port}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, () => process.exit(0));
}
