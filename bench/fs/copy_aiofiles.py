#!/usr/bin/env python3
"""bench/fs/copy_aiofiles.py SRC DST - the copy loop of examples/copy_file
with aiofiles: 64 KiB chunks, read then write, one at a time. Prints the
same summary line as copy_file ("copied N bytes in S s (R MiB/s)"), timed
from the first open to the close of DST, as copy_file times itself."""
import asyncio
import sys
import time

import aiofiles

CHUNK = 64 * 1024


async def main(src, dst):
    start = time.perf_counter()
    n = 0
    async with aiofiles.open(src, "rb") as fin, aiofiles.open(dst, "wb") as fout:
        while True:
            chunk = await fin.read(CHUNK)
            if not chunk:
                break
            await fout.write(chunk)
            n += len(chunk)
    took = time.perf_counter() - start
    print(f"copied {n} bytes in {took:.3f} s ({n / (1 << 20) / took:.1f} MiB/s)")


asyncio.run(main(sys.argv[1], sys.argv[2]))
