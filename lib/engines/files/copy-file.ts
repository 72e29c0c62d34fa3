/**
 * Copy one regular file and hash it from the same read: the bytes read are hashed and written, so the
 * manifest's sha256 costs no second pass over the source. Small files take one read into a pooled
 * buffer; large ones stream through two buffers, the next read in flight while the last chunk is written.
 */
import { createHash } from 'node:crypto';
import { closeSync, fchmodSync, fchownSync, futimesSync, openSync, readSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';

const CHUNK = 1 << 20;
const pool: Buffer[] = [];
const take = () => pool.pop() ?? Buffer.allocUnsafe(CHUNK);
const give = (b: Buffer) => { if (pool.length < 64) pool.push(b); };

/** Copy `src` to the new file `dest` (mode 0600 until the caller sets the manifest's); returns sha256 and bytes copied. */
export async function copyHashing(src: Buffer | string, dest: string, signal?: AbortSignal): Promise<{ sha256: string; bytes: number }> {
  const r = await open(src, 'r');
  let w: Awaited<ReturnType<typeof open>> | undefined;
  const a = take(), b = take();
  try {
    w = await open(dest, 'w', 0o600);
    const h = createHash('sha256');
    let pos = 0;
    let cur = a, next = b;
    let reading = r.read(cur, 0, CHUNK, null);
    for (;;) {
      signal?.throwIfAborted();
      const { bytesRead } = await reading;
      if (bytesRead === 0) break;
      const data = cur.subarray(0, bytesRead);
      h.update(data);
      // Short read: most likely the end; the next read (into the other buffer) confirms it while this chunk is written.
      reading = r.read(next, 0, CHUNK, null);
      reading.catch(() => undefined);
      await w.write(data, 0, bytesRead, pos);
      pos += bytesRead;
      [cur, next] = [next, cur];
    }
    return { sha256: h.digest('hex'), bytes: pos };
  } finally {
    await Promise.all([r.close(), w?.close()]);
    give(a); give(b);
  }
}

/** At most this many bytes are copied by the synchronous path (one read, one write). */
export const SMALL_FILE = CHUNK;

/**
 * A small file's copy on the main thread: no thread-pool round trip per call (seven per file the async
 * way: most of a 100k-file copy's CPU went to handing calls to the pool and back). One read of
 * `size + 1` bytes (a short read is the end of a regular file), one write, then owner, mode and times
 * set on the open descriptor. A file that grew since the manifest is copied whole, read in chunks.
 */
export function copySmallHashing(src: Buffer | string, dest: string, size: number, meta: { uid: number; gid: number; mode: number; mtimeSec: number }): { sha256: string; bytes: number } {
  const buf = take();
  const r = openSync(src, 'r');
  let w: number | undefined;
  try {
    w = openSync(dest, 'w', 0o600);
    const h = createHash('sha256');
    let pos = 0;
    for (let want = Math.min(size + 1, CHUNK); ; want = CHUNK) {
      const n = readSync(r, buf, 0, want, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      for (let off = 0; off < n;) off += writeSync(w, buf, off, n - off);
      pos += n;
      if (n < want) break;
    }
    fchownSync(w, meta.uid, meta.gid);
    fchmodSync(w, meta.mode);
    futimesSync(w, meta.mtimeSec, meta.mtimeSec);
    return { sha256: h.digest('hex'), bytes: pos };
  } finally {
    closeSync(r);
    if (w !== undefined) closeSync(w);
    give(buf);
  }
}
