/** Copy a sparse file with its holes (all-zero blocks are skipped, the length set at the end), hashing what it reads. */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

const BLOCK = 64 * 1024;
const ZERO = Buffer.alloc(BLOCK);

export async function copySparse(src: Buffer, dest: string, size: number): Promise<{ sha256: string; bytes: number }> {
  const [r, w] = await Promise.all([open(src, 'r'), open(dest, 'w', 0o600)]);
  try {
    const h = createHash('sha256');
    const buf = Buffer.alloc(16 * BLOCK);
    let pos = 0;
    for (;;) {
      const { bytesRead } = await r.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      for (let off = 0; off < bytesRead; off += BLOCK) {
        const n = Math.min(BLOCK, bytesRead - off);
        const block = buf.subarray(off, off + n);
        if (!block.equals(ZERO.subarray(0, n))) await w.write(block, 0, n, pos + off);
      }
      pos += bytesRead;
    }
    await w.truncate(Math.max(size, pos));
    return { sha256: h.digest('hex'), bytes: pos };
  } finally {
    await Promise.all([r.close(), w.close()]);
  }
}
