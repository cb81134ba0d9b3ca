#!/usr/bin/env node
// bench/net/static_node.js - the Node.js peer of vow's examples/file_server
// in the static rows of issue 17: the plain `http` module, one process,
// each file streamed with fs.createReadStream(path).pipe(res).
//
//   node static_node.js --root DIR --port 0   # prints "listening on 127.0.0.1:<port>"
//
// GET and HEAD of /NAME answer DIR/NAME (a regular file directly in DIR;
// anything else is 404) with 200, application/octet-stream and a
// Content-Length from fs.stat, so keep-alive connections stay open. No
// ETag, no ranges: the least a file server does. Listens on 127.0.0.1
// only; SIGTERM or SIGINT end it.
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');

let port = 0, root = '';
for (let i = 2; i < process.argv.length; ++i) {
    const a = process.argv[i];
    if (a === '--port' && i + 1 < process.argv.length) port = Number(process.argv[++i]);
    else if (a === '--root' && i + 1 < process.argv.length) root = process.argv[++i];
    else if (a !== '--quiet') {
        console.error('usage: node static_node.js --root DIR --port N (0 picks a free port)');
        process.exit(2);
    }
}
if (!root) {
    console.error('static_node.js: --root DIR is required');
    process.exit(2);
}

function not_found(res) {
    res.writeHead(404, { 'Content-Length': 0 });
    res.end();
}

function serve(req, res) {
    const name = decodeURIComponent(req.url.split('?')[0]).slice(1);
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !name || name !== path.basename(name)) {
        not_found(res);
        return;
    }
    const file = path.join(root, name);
    fs.stat(file, (err, st) => {
        if (err || !st.isFile()) {
            not_found(res);
            return;
        }
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': st.size });
        if (req.method === 'HEAD') {
            res.end();
            return;
        }
        const stream = fs.createReadStream(file);
        stream.on('error', () => res.destroy());
        stream.pipe(res);
    });
}

const server = http.createServer({ noDelay: true }, serve);
// wrk keeps connections open between requests.
server.keepAliveTimeout = 60000;
server.listen({ host: '127.0.0.1', port, backlog: 1024 }, () => {
    console.log(`listening on 127.0.0.1:${server.address().port}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, () => process.exit(0));
}
