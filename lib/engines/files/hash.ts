/** sha256 of a file's content: one read for small files, a stream for large ones. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';

const SMALL = 1 << 20;

export async function hashFile(path: Buffer | string, size: number, signal?: AbortSignal): Promise<string> {
  if (size <= SMALL) return createHash('sha256').update(await readFile(path, signal ? { signal } : {})).digest('hex');
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20, ...(signal ? { signal } : {}) })) h.update(chunk as Buffer);
  return h.digest('hex');
}
