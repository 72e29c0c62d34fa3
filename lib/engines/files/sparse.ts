/** Copy a sparse file with its holes (all-zero blocks are skipped, the length set at the end), hashing what it reads. */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { dataPieces, RANGE_BLOCK } from './ranges.ts';
import { writeAll } from '../../util/write-all.ts';

export async function copySparse(src: Buffer, dest: string, size: number): Promise<{ sha256: string; bytes: number }> {
  const [r, w] = await Promise.all([open(src, 'r'), open(dest, 'w', 0o600)]);
  try {
    const h = createHash('sha256');
    const buf = Buffer.alloc(RANGE_BLOCK);
    let pos = 0;
    for (;;) {
      const { bytesRead } = await r.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      // The same holes as a large file's ranges leave (ranges.ts HOLE_BLOCK): all-zero pieces are not written.
      for (const [off, len] of dataPieces(buf, bytesRead, true)) await writeAll(w, buf, off, len, pos + off);
      pos += bytesRead;
    }
    await w.truncate(Math.max(size, pos));
    return { sha256: h.digest('hex'), bytes: pos };
  } finally {
    await Promise.all([r.close(), w.close()]);
  }
}
