#!/usr/bin/env node
// bench/net/ws_echo_node.js - the Node.js peer of vow's WebSocket echo
// server (examples/ws_echo): npm's `ws`, echoing every message at `/`, text
// as text and binary as binary.
//
//   NODE_PATH=<dir>/node_modules node ws_echo_node.js --port 0
//                                   # prints "listening on 127.0.0.1:<port>"
//
// `ws` is not part of Node.js: run.py installs it with
// `npm install --prefix <dir> ws` and sets NODE_PATH. Its defaults are kept
// except perMessageDeflate, set to false so no compression is negotiated
// (ws's server already defaults to that; it is stated because the goal's
// figures assume it). ws sets TCP_NODELAY on every upgraded socket and sends
// no keepalive pings. Listens on 127.0.0.1 only, with a backlog of 1024 like
// the other peers; SIGTERM or SIGINT end it.
'use strict';

let WebSocketServer;
try {
    ({ WebSocketServer } = require('ws'));
} catch (e) {
    console.error('ws_echo_node: npm package ws not found (npm install --prefix DIR ws, then ' +
                  'NODE_PATH=DIR/node_modules): ' + e.message);
    process.exit(2);
}

function parsePort(argv) {
    let port = 0;
    for (let i = 2; i < argv.length; ++i) {
        if (argv[i] === '--port' && i + 1 < argv.length) {
            port = Number(argv[++i]);
        } else if (argv[i] !== '--quiet') {
            console.error('usage: node ws_echo_node.js --port N (0 picks a free port)');
            process.exit(2);
        }
    }
    return port;
}

const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: parsePort(process.argv),
    backlog: 1024,
    perMessageDeflate: false,
}, () => {
    console.log(`listening on 127.0.0.1:${wss.address().port}`);
});
wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('error', () => ws.terminate());
});
for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, () => process.exit(0));
}
