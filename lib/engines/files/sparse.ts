/** Copy a sparse file with its holes: all-zero blocks are skipped, the length set at the end. */
import { open } from 'node:fs/promises';

const BLOCK = 64 * 1024;
const ZERO = Buffer.alloc(BLOCK);

export async function copySparse(src: Buffer, dest: string, size: number): Promise<void> {
  const [r, w] = await Promise.all([open(src, 'r'), open(dest, 'w', 0o600)]);
  try {
    const buf = Buffer.alloc(16 * BLOCK);
    for (let pos = 0; pos < size;) {
      const { bytesRead } = await r.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      for (let off = 0; off < bytesRead; off += BLOCK) {
        const n = Math.min(BLOCK, bytesRead - off);
        const block = buf.subarray(off, off + n);
        if (!block.equals(ZERO.subarray(0, n))) await w.write(block, 0, n, pos + off);
      }
      pos += bytesRead;
    }
    await w.truncate(size);
  } finally {
    await Promise.all([r.close(), w.close()]);
  }
}
