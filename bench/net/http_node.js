#!/usr/bin/env node
// bench/net/http_node.js - the Node.js peer of vow's HTTP hello-world
// server: the `http` module, or `https` with --cert and --key (the HTTPS
// rows: the same certificate as the other servers).
//
//   node http_node.js --port 0                                # prints "listening on 127.0.0.1:<port>"
//   node http_node.js --port 0 --cert cert.pem --key key.pem  # HTTPS
//
// `GET /` answers 200 "hello world" (text/plain, with Content-Length, so
// keep-alive connections stay open); any other path answers 404. Listens on
// 127.0.0.1 only; SIGTERM or SIGINT end it.
'use strict';
const fs = require('fs');

let port = 0, cert = '', key = '';
for (let i = 2; i < process.argv.length; ++i) {
    const a = process.argv[i];
    if (a === '--port' && i + 1 < process.argv.length) port = Number(process.argv[++i]);
    else if (a === '--cert' && i + 1 < process.argv.length) cert = process.argv[++i];
    else if (a === '--key' && i + 1 < process.argv.length) key = process.argv[++i];
    else if (a !== '--quiet') {
        console.error('usage: node http_node.js --port N (0 picks a free port) [--cert FILE --key FILE]');
        process.exit(2);
    }
}
if (!cert !== !key) {
    console.error('http_node.js: --cert and --key go together');
    process.exit(2);
}

const body = 'hello world';
function hello(req, res) {
    if (req.url !== '/') {
        res.writeHead(404, { 'Content-Length': 0 });
        res.end();
        return;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
    res.end(body);
}
const server = cert
    ? require('https').createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key), noDelay: true }, hello)
    : require('http').createServer({ noDelay: true }, hello);
// wrk and the client benchmarks keep connections open between requests.
server.keepAliveTimeout = 60000;
server.listen({ host: '127.0.0.1', port, backlog: 1024 }, () => {
    console.log(`listening on 127.0.0.1:${server.address().port}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, () => process.exit(0));
}
