// bench/fs/copy_node.js SRC DST - the copy loop of examples/copy_file with
// Node.js fs.promises: 64 KiB chunks, read then write, one at a time, into
// one reused Buffer (Node's fastest form of the loop). Prints the same
// summary line as copy_file, timed from the first open to the close of DST.
'use strict';
const fs = require('fs/promises');

const CHUNK = 64 * 1024;

async function main(src, dst) {
  const start = process.hrtime.bigint();
  const fin = await fs.open(src, 'r');
  const fout = await fs.open(dst, 'w');
  const buf = Buffer.allocUnsafe(CHUNK);
  let n = 0;
  for (;;) {
    const { bytesRead } = await fin.read(buf, 0, CHUNK, null);
    if (bytesRead === 0) break;
    await fout.write(buf, 0, bytesRead);
    n += bytesRead;
  }
  await fin.close();
  await fout.close();
  const took = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`copied ${n} bytes in ${took.toFixed(3)} s (${(n / 1048576 / took).toFixed(1)} MiB/s)`);
}

main(process.argv[2], process.argv[3]).catch((e) => { console.error(e); process.exit(1); });
