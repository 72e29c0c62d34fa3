/** Writing a buffer out whole: a file write may take fewer bytes than asked, so the rest is written again. */
import type { FileHandle } from 'node:fs/promises';

/**
 * Write `len` bytes of `buf` from `off` to `fh`: at `pos` and on (positional), or with `pos` null at the
 * file's own position, in as many writes as that takes.
 */
export async function writeAll(fh: FileHandle, buf: Uint8Array, off = 0, len = buf.length - off, pos: number | null = null): Promise<void> {
  while (len > 0) {
    const { bytesWritten } = await fh.write(buf, off, len, pos);
    off += bytesWritten;
    len -= bytesWritten;
    if (pos !== null) pos += bytesWritten;
  }
}
