/**
 * The quick scan (GNU find's stat stream, hashed per directory) on real directories: the same tree gives
 * the same per-directory hashes however find's output is cut into chunks (a tree well over one pipe
 * buffer), and a change marks exactly the directories whose direct children changed.
 */
import { appendFile, mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { changedDirs, quickScan } from '../../../../lib/engines/files/quick-scan.ts';

let dir = '';
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-quick-scan-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

describe('quickScan', () => {
  it('per-directory hashes are stable across runs and name only the directories that changed', async () => {
    for (const d of ['a', 'b', 'b/c', 'd']) await mkdir(join(dir, d), { recursive: true });
    // ~3000 records with long names: several 64 KiB chunks of find's output.
    for (let i = 0; i < 750; i++) for (const d of ['a', 'b', 'b/c', 'd']) await writeFile(join(dir, d, `${'n'.repeat(60)}-${i}.jpg`), `${d}${i}`);
    const one = await quickScan(dir);
    const two = await quickScan(dir);
    expect(one?.dirs?.size).toBe(5); // the root and a, b, b/c, d
    expect(two?.quick).toBe(one?.quick);
    expect(changedDirs(one!.dirs!, two!.dirs!)).toEqual({ changed: new Set(), gone: new Set() });

    await appendFile(join(dir, 'b/c', `${'n'.repeat(60)}-7.jpg`), 'x'); // rewritten in place: b/c only
    await unlink(join(dir, 'd', `${'n'.repeat(60)}-3.jpg`));            // deleted: d (and the root, whose record of d moved)
    await mkdir(join(dir, 'e/f'), { recursive: true });
    await writeFile(join(dir, 'e/f/new.jpg'), 'new');                  // a new subtree: e, e/f (and the root)
    const three = await quickScan(dir);
    expect(three?.quick).not.toBe(two?.quick);
    const { changed, gone } = changedDirs(two!.dirs!, three!.dirs!);
    expect([...changed].sort()).toEqual(['', 'b/c', 'd', 'e', 'e/f']);
    expect(gone).toEqual(new Set());
    await rm(join(dir, 'b'), { recursive: true });
    expect(changedDirs(three!.dirs!, (await quickScan(dir))!.dirs!)).toEqual({ changed: new Set(['']), gone: new Set(['b', 'b/c']) });
  });
});
