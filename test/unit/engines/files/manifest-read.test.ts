/**
 * A manifest is read in blocks of whole lines (manifest.ts lineBlocks): whatever the buffer's size, a
 * line longer than it, a multi-byte character cut by a read, and a torn last line come back as written.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lineBlocks } from '../../../../lib/engines/files/manifest.ts';

let dir = '';
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-manifest-read-')); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

describe('reading a manifest in blocks of lines', () => {
  it('gives back every line as written, for any buffer size', async () => {
    const lines = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ p: `${'x'.repeat((i * 7919) % 9000)}é€${i}`, t: 'f' }));
    const text = lines.join('\n') + '\n';
    for (const torn of ['', '{"p":"torn-la']) {
      const f = join(dir, `m${torn ? '-torn' : ''}.ndjson`);
      await writeFile(f, text + torn);
      for (const size of [16, 100, 4096, 1 << 18]) {
        const blocks: string[] = [];
        for await (const b of lineBlocks(f, size)) blocks.push(b);
        expect(blocks.join('\n').split('\n')).toEqual(torn ? [...lines, torn] : lines);
        if (size === 1 << 18) expect(blocks.length).toBeGreaterThan(10); // blocks, not the file at once
      }
    }
  });
});
