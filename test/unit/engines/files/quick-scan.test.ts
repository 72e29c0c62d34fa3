/**
 * The quick scan (GNU find's stat stream, hashed per directory) on real directories: the same tree gives
 * the same per-directory hashes however find's output is cut into chunks (a tree well over one pipe
 * buffer), and a change marks exactly the directories whose direct children changed.
 */
import { appendFile, chmod, lstat, mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { changedDirs, quickScan, stampMs } from '../../../../lib/engines/files/quick-scan.ts';
import { takeStamp } from '../../../../lib/engines/files/ctime-stamp.ts';
import { exportTree } from '../../../../lib/engines/files/export.ts';

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

  it('with a stamp, says whether an entry it printed changed after the stamp (a scan beside a walk is kept only when none did)', async () => {
    const tree = join(dir, 'tree'), art = join(dir, 'art');
    for (const d of ['a', 'b/c']) await mkdir(join(tree, d), { recursive: true });
    for (let i = 0; i < 750; i++) for (const d of ['a', 'b/c']) await writeFile(join(tree, d, `${'n'.repeat(60)}-${i}.jpg`), `${d}${i}`);
    await mkdir(art);
    await sleep(50); // past the kernel tick of the last write: a change in the stamp's own tick counts as after it
    const stamp = takeStamp(art)!;
    const quiet = await quickScan(tree, undefined, { stamp });
    expect(quiet?.changedAfter).toBe(false);
    expect(quiet?.quick).toBe((await quickScan(tree))?.quick); // the same scan, only looked at more closely
    await chmod(join(tree, 'b/c', `${'n'.repeat(60)}-700.jpg`), 0o600); // late in find's output, several chunks in
    expect((await quickScan(tree, undefined, { stamp }))?.changedAfter).toBe(true);
    const stamp2 = (await sleep(50), takeStamp(art)!);
    await unlink(join(tree, 'a', `${'n'.repeat(60)}-3.jpg`)); // gone: only its directory's record shows it
    expect((await quickScan(tree, undefined, { stamp: stamp2 }))?.changedAfter).toBe(true);
  });

  it('reads find\'s %C@ as the same ms Node\'s Stats give (an entry changed in the stamp\'s own tick is not an ulp before it)', async () => {
    for (let i = 0; i < 300; i++) await writeFile(join(dir, `f${i}`), `${i}`);
    const lines = execFileSync('find', [dir, '-mindepth', '1', '-printf', '%C@ %p\\n'], { encoding: 'utf8' }).trim().split('\n');
    expect(lines).toHaveLength(300);
    for (const line of lines) {
      const sp = line.indexOf(' ');
      expect(stampMs(line.slice(0, sp))).toBe((await lstat(line.slice(sp + 1))).ctimeMs);
    }
    expect(stampMs('1796007517.5107315030')).toBe(1796007517 * 1000 + 510731503 / 1e6);
    expect(stampMs('1796007517')).toBe(1796007517000);
    expect(stampMs('x')).toBe(Infinity);
  });

  it('a first export records the scan it ran beside its walk (a quiet tree)', async () => {
    const tree = join(dir, 'tree'), art = join(dir, 'art');
    await mkdir(join(tree, 'x/y'), { recursive: true });
    for (let i = 0; i < 50; i++) await writeFile(join(tree, 'x/y', `f${i}`), `${i}`);
    await sleep(50);
    const r = await exportTree({ storeId: 'files', root: tree, artifactDir: art, normalize: 'none', concurrency: 4 });
    expect(r.scan).toBe('walk');
    const rec = JSON.parse(await readFile(join(art, 'scan.json'), 'utf8')) as { quick?: string; quickDirs?: unknown[] };
    expect(rec.quick).toBe((await quickScan(tree))?.quick);
    expect(rec.quickDirs?.length).toBe(3); // the root, x, x/y
  });
});
