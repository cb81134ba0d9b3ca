#!/usr/bin/env node
// bench/net/https_node.js - the Node.js peer of vow's HTTPS hello-world
// server: the `https` module, with the same certificate and key.
//
//   node https_node.js --port 0 --cert cert.pem --key key.pem
//
// Prints "listening on 127.0.0.1:<port>"; `GET /` answers 200 "hello world"
// (with Content-Length, so keep-alive connections stay open). SIGTERM or
// SIGINT end it.
'use strict';
const fs = require('fs');
const https = require('https');

let port = 0, cert = '', key = '';
for (let i = 2; i < process.argv.length; ++i) {
    const a = process.argv[i];
    if (a === '--port' && i + 1 < process.argv.length) port = Number(process.argv[++i]);
    else if (a === '--cert' && i + 1 < process.argv.length) cert = process.argv[++i];
    else if (a === '--key' && i + 1 < process.argv.length) key = process.argv[++i];
    else if (a !== '--quiet') {
        console.error('usage: node https_node.js --port N --cert FILE --key FILE');
        process.exit(2);
    }
}

const body = 'hello world';
const server = https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key), noDelay: true },
    (req, res) => {
        if (req.url !== '/') {
            res.writeHead(404, { 'Content-Length': 0 });
            res.end();
            return;
        }
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
        res.end(body);
    });
server.keepAliveTimeout = 60000;
server.listen({ host: '127.0.0.1', port, backlog: 1024 }, () => {
    console.log(`listening on 127.0.0.1:${server.address().port}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, () => process.exit(0));
}
