#!/usr/bin/env node
// bench/net/echo_node.js - the Node.js peer of vow's TCP echo server: the
// `net` module, writing back every chunk it receives.
//
//   node echo_node.js --port 0      # prints "listening on 127.0.0.1:<port>"
//
// noDelay: true sets TCP_NODELAY on every accepted socket. Listens on
// 127.0.0.1 only; SIGTERM or SIGINT end it.
'use strict';
const net = require('net');

function parsePort(argv) {
    let port = 0;
    for (let i = 2; i < argv.length; ++i) {
        if (argv[i] === '--port' && i + 1 < argv.length) {
            port = Number(argv[++i]);
        } else if (argv[i] !== '--quiet') {
            console.error('usage: node echo_node.js --port N (0 picks a free port)');
            process.exit(2);
        }
    }
    return port;
}

const server = net.createServer({ noDelay: true }, (socket) => {
    socket.on('data', (chunk) => socket.write(chunk));
    socket.on('error', () => socket.destroy());
});
server.listen({ host: '127.0.0.1', port: parsePort(process.argv), backlog: 1024 }, () => {
    console.log(`listening on 127.0.0.1:${server.address().port}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, () => process.exit(0));
}
