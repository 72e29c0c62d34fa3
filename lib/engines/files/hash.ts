/**
 * sha256 of a file's content, read into pooled 1 MiB buffers (no allocation per file: a fresh buffer per
 * small file left RSS to the garbage collector's pace, ~100 MB above the heap at 100k files).
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';

const SIZE = 1 << 20;
const pool: Buffer[] = [];

export async function hashFile(path: Buffer | string, size: number, signal?: AbortSignal): Promise<string> {
  return (await hashFileBytes(path, size, signal)).sha256;
}

/** sha256 and the number of bytes read (`size`: the expected size, picks the one-read path for small files). */
export async function hashFileBytes(path: Buffer | string, size: number, signal?: AbortSignal): Promise<{ sha256: string; bytes: number }> {
  const buf = pool.pop() ?? Buffer.allocUnsafe(SIZE);
  if (size < SIZE) {
    // A small file on the main thread: one read of size + 1 (a short read is the end), no pool hand-offs.
    const fd = openSync(path, 'r');
    try {
      const h = createHash('sha256');
      let bytes = 0;
      for (let want = size + 1; ; want = SIZE) {
        const n = readSync(fd, buf, 0, want, null);
        h.update(buf.subarray(0, n));
        bytes += n;
        if (n < want) break;
      }
      return { sha256: h.digest('hex'), bytes };
    } finally {
      closeSync(fd);
      if (pool.length < 64) pool.push(buf);
    }
  }
  const fh = await open(path, 'r');
  try {
    const h = createHash('sha256');
    let bytes = 0;
    for (;;) {
      signal?.throwIfAborted();
      const { bytesRead } = await fh.read(buf, 0, SIZE, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      bytes += bytesRead;
    }
    return { sha256: h.digest('hex'), bytes };
  } finally {
    await fh.close();
    if (pool.length < 64) pool.push(buf);
  }
}
