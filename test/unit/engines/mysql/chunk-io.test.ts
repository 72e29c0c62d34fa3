import { afterAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BLOCK_BYTES, ChunkWriter, FEED_PIECE_BYTES, FileFeed } from '../../../../lib/engines/mysql/chunk-io.ts';
import { createRandom } from '../../../../fixtures/mysql/random.ts';

const dir = mkdtempSync(join(tmpdir(), 'ferry-chunk-io-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Everything a feed emits, copied as mysql2's sender copies it (the block is read into again right after). */
function drain(feed: FileFeed, pauseEvery = 0, sizes: number[] = []): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    feed.on('data', (d: Buffer) => {
      sizes.push(d.length);
      parts.push(Buffer.from(d));
      if (pauseEvery && parts.length % pauseEvery === 0) { feed.pause(); setTimeout(() => feed.resume(), 5); }
    });
    feed.on('end', () => resolve(Buffer.concat(parts)));
    feed.on('error', reject);
  });
}

describe('chunk files in reused blocks', () => {
  it('writes every pushed byte in order, small and over-sized pieces alike, with their sha256', async () => {
    const r = createRandom(11);
    const pieces = Array.from({ length: 4000 }, (_, i) => r.bytes(i % 997 === 0 ? BLOCK_BYTES / 2 : 1 + r.int(0, 2000)));
    const path = join(dir, 'w.tsv');
    const w = new ChunkWriter(path);
    for (const p of pieces) if (w.push(p)) await w.flush();
    await w.flush();
    const digest = await w.close();
    const want = Buffer.concat(pieces);
    const got = readFileSync(path);
    expect(got.length).toBe(want.length);
    expect(w.bytes).toBe(want.length);
    expect(got.equals(want)).toBe(true);
    expect(digest).toBe(sha(want));
  });

  it('a second writer reusing the first one\'s blocks writes only its own bytes', async () => {
    const a = join(dir, 'a.tsv');
    const b = join(dir, 'b.tsv');
    const w1 = new ChunkWriter(a);
    w1.push(Buffer.alloc(BLOCK_BYTES - 10, 0x61)); w1.push(Buffer.alloc(100, 0x62));
    await w1.flush(); await w1.close();
    const w2 = new ChunkWriter(b);
    w2.push(Buffer.from('short\n'));
    await w2.flush();
    expect(await w2.close()).toBe(sha(Buffer.from('short\n')));
    expect(readFileSync(b, 'utf8')).toBe('short\n');
  });

  it('feeds a file of several blocks whole, also when paused and resumed, and an empty one', async () => {
    const r = createRandom(5);
    const body = r.bytes(3 * BLOCK_BYTES + 12345);
    const path = join(dir, 'feed.tsv');
    writeFileSync(path, body);
    const sizes: number[] = [];
    expect((await drain(new FileFeed(path), 0, sizes)).equals(body)).toBe(true);
    // Handed over in pieces of at most FEED_PIECE_BYTES (mysql2 allocates a packet of each piece's size).
    expect(Math.max(...sizes)).toBe(FEED_PIECE_BYTES);
    expect(sizes.length).toBe(Math.ceil(3 * BLOCK_BYTES / FEED_PIECE_BYTES) + 1);
    // Paused after every piece (as the sender pauses when the socket's buffer is full): nothing lost or repeated.
    expect((await drain(new FileFeed(path), 1)).equals(body)).toBe(true);
    expect((await drain(new FileFeed(path), 3)).equals(body)).toBe(true);
    writeFileSync(join(dir, 'empty.tsv'), '');
    expect((await drain(new FileFeed(join(dir, 'empty.tsv')))).length).toBe(0);
  });

  it('reports a missing file as an error event naming the path', async () => {
    await expect(drain(new FileFeed(join(dir, 'missing.tsv')))).rejects.toThrow(/missing\.tsv/);
  });
});
