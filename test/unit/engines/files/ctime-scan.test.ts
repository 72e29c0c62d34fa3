/**
 * The ctime change scan on real directories: the stamp's threshold and trust checks, and exportTree
 * narrowed by it (every kind of change lands in the manifest exactly as a whole walk sees it), with each
 * fallback to the whole scan named.
 */
import { appendFile, chmod, lstat, mkdir, mkdtemp, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { changedBefore, CTIME_RECORD_FILE, localCtime, macLocal, readCtimeRecord, setReference, takeStamp, thresholdOf, type CtimeRecord } from '../../../../lib/engines/files/ctime-stamp.ts';
import { changedInWindow, changedSince } from '../../../../lib/engines/files/ctime-scan.ts';
import { waitQuiet } from '../../../../lib/engines/files/freeze.ts';
import { underAny } from '../../../../lib/engines/files/ctime-rescan.ts';
import { livePlan, SPLIT, splitPlan, type RecordedDir } from '../../../../lib/engines/files/scan-split.ts';
import { spawnSync } from 'node:child_process';

/** GNU find ≥ 4.9 (the test bed's): the split scan's starting points come on stdin. Without it the split is never used (the fallback is tested apart). */
const filesFrom = spawnSync('find', ['-files0-from', '/dev/null', '-quit']).status === 0;
import { exportTree, provenFingerprint, treeFingerprint, type ExportResult } from '../../../../lib/engines/files/export.ts';
import { readManifest } from '../../../../lib/engines/files/manifest.ts';
import { emptyScanReport, scanTree } from '../../../../lib/engines/files/walk.ts';
import type { EngineParams } from '../../../../lib/core/engine.ts';
import type { FilesOptions } from '../../../../lib/engines/files/options.ts';

let dir = '';
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-ctime-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

/** A small tree of six directories, four files each, and its record as the last pass would have kept it (the root: three directories). */
async function recordedTree(root: string): Promise<{ names: string[]; recorded: RecordedDir[] }> {
  const names = ['a', 'a/b', 'a/b/c', 'd', 'd/e', 'f'];
  for (const d of names) await mkdir(join(root, d), { recursive: true });
  for (const d of names) for (let i = 0; i < 4; i++) await writeFile(join(root, d, `${i}.jpg`), d);
  return { names, recorded: [['', 1, 3], ...names.map((d): RecordedDir => [d, 1, d === 'a/b/c' || d === 'f' || d === 'd/e' ? 4 : 5])] };
}

describe('the stamp', () => {
  it('T is the stamp\'s second floored, minus one second', () => {
    expect(thresholdOf(1_700_000_123_456.789)).toBe(1_700_000_122_000);
    expect(thresholdOf(1_700_000_123_000)).toBe(1_700_000_122_000);
  });

  it('an inode changed before the stamp: at or under T, or under the stamp itself when both carry sub-seconds', () => {
    const stamp = { ctimeMs: 1_700_000_123_456.5, thresholdMs: 1_700_000_122_000 };
    expect(changedBefore(1_700_000_122_000, stamp)).toBe(true);
    expect(changedBefore(1_700_000_123_100.25, stamp)).toBe(true);
    expect(changedBefore(1_700_000_123_456.5, stamp)).toBe(false); // the same tick: maybe after
    expect(changedBefore(1_700_000_123_000, stamp)).toBe(false); // whole seconds: may be a later change rounded down
    expect(changedBefore(1_700_000_123_100.25, { ctimeMs: 1_700_000_123_000, thresholdMs: 1_700_000_122_000 })).toBe(false);
  });

  it('is a new file whose ctime is now; its mtime points find at a threshold, kept exactly', async () => {
    const before = Date.now();
    const s = takeStamp(dir)!;
    expect(s.ctimeMs).toBeGreaterThanOrEqual(before - 20);
    expect(s.ctimeMs).toBeLessThanOrEqual(Date.now() + 20);
    expect(s.thresholdMs).toBe(thresholdOf(s.ctimeMs));
    expect(takeStamp(dir, () => s.ctimeMs + 60_000)).toBeUndefined(); // a clock two filesystems disagree on
    expect(setReference(s.file, s.thresholdMs)).toBe(true);
    expect((await stat(s.file)).mtimeMs).toBe(s.thresholdMs);
  });

  it('trusts local filesystems only: the temp dir yes, /proc no; on a Mac, APFS or HFS+ mounted local', async () => {
    expect(await localCtime(dir)).toBe(true);
    expect(await localCtime('/proc')).toBe(false);
    const mount = [
      '/dev/disk3s1s1 on / (apfs, sealed, local, read-only, journaled)',
      '/dev/disk3s5 on /System/Volumes/Data (apfs, local, journaled, nobrowse, protect)',
      '//user@nas/share on /Volumes/share (smbfs, nodev, nosuid, mounted by user)',
      'nas:/export on /Users/me/nfs (nfs, asynchronous)',
    ].join('\n');
    expect(macLocal(mount, '/Users/me/app/storage')).toBe(true);
    expect(macLocal(mount, '/System/Volumes/Data/Users/me/app')).toBe(true);
    expect(macLocal(mount, '/Volumes/share/app')).toBe(false);
    expect(macLocal(mount, '/Users/me/nfs/app')).toBe(false);
    expect(macLocal('', '/x')).toBe(false);
  });

  it('a record is refused with the reason: none, another manifest, another root, the clock back', async () => {
    const root = join(dir, 'src');
    await mkdir(root);
    const art = join(dir, 'art');
    await mkdir(art);
    const stamp = takeStamp(art)!;
    const base = { artifactDir: art, root, normalize: 'none', manifestId: 'm1', stamp };
    expect(await readCtimeRecord(base)).toEqual({ reason: 'no ctime stamp recorded by the last pass' });
    const st = await lstat(root);
    const rec: CtimeRecord = { v: 1, root, dev: st.dev, ino: st.ino, thresholdMs: stamp.thresholdMs - 5000, stampMs: stamp.ctimeMs - 4000, manifest: 'm1', normalize: 'none', dirs: [['', st.ino]] };
    const put = (r: CtimeRecord) => writeFile(join(art, CTIME_RECORD_FILE), JSON.stringify(r));
    await put(rec);
    expect(await readCtimeRecord(base)).toEqual({ record: rec });
    expect(await readCtimeRecord({ ...base, manifestId: 'm2' })).toEqual({ reason: 'the manifest is not the one the stamp was recorded with' });
    await put({ ...rec, stampMs: stamp.ctimeMs + 60_000 });
    expect(await readCtimeRecord(base)).toEqual({ reason: 'the clock stepped back since the last stamp' });
    await put(rec);
    await rm(root, { recursive: true });
    await mkdir(root);
    const again = await readCtimeRecord(base);
    // A new directory at the same path: another inode (or, reusing it, another device is not possible here).
    if ((await lstat(root)).ino !== st.ino) expect(again).toEqual({ reason: 'the source directory was replaced' });
  });
});

describe('changedSince', () => {
  it('prints nothing for an unchanged tree, and each entry whose inode changed after the reference', async () => {
    const root = join(dir, 'src');
    await mkdir(join(root, 'a/b'), { recursive: true });
    await writeFile(join(root, 'a/b/1.jpg'), 'one');
    await writeFile(join(root, 'a/2.jpg'), 'two');
    const ref = join(dir, 'ref');
    await writeFile(ref, '');
    const later = Date.now() / 1000 + 3600;
    await utimes(ref, later, later); // an hour ahead: nothing is newer
    expect(await changedSince(root, ref)).toEqual([]);
    const past = Date.now() / 1000 - 3600;
    await utimes(ref, past, past);
    const all = (await changedSince(root, ref))!.map((b) => b.toString()).sort();
    expect(all).toEqual(['', 'a', 'a/2.jpg', 'a/b', 'a/b/1.jpg']);
    expect(await changedSince(join(dir, 'missing'), ref)).toBeUndefined(); // find fails: no proof
  });

  it.skipIf(!filesFrom)('split over several finds (the record\'s directories): what the recursive find prints, but below directories the record does not hold', async () => {
    const saved = { ...SPLIT };
    Object.assign(SPLIT, { minEntries: 0, parts: 3 });
    try {
      const root = join(dir, 'src');
      const { names, recorded } = await recordedTree(root);
      await writeFile(join(root, 'top.txt'), 'top');
      expect(splitPlan(recorded)!.flatMap((g) => g.lists).sort()).toEqual(['', ...names].sort()); // small: every directory listed
      const ref = join(dir, 'ref');
      await writeFile(ref, '');
      const sorted = (x: Buffer[] | undefined) => x?.map((b) => b.toString()).sort();
      const later = Date.now() / 1000 + 3600;
      await utimes(ref, later, later);
      expect(await changedSince(root, ref, undefined, recorded)).toEqual([]);
      const past = Date.now() / 1000 - 3600;
      await utimes(ref, past, past);
      const whole = sorted(await changedSince(root, ref))!;
      expect(whole).toHaveLength(1 + 6 + 24 + 1);
      expect(sorted(await changedSince(root, ref, undefined, recorded))).toEqual(whole);
      // A subtree the record does not hold: its top directory is printed (a child of a recorded one), not what is below it.
      await mkdir(join(root, 'd/new/deeper'), { recursive: true });
      await writeFile(join(root, 'd/new/deeper/x.jpg'), 'x');
      const split = sorted(await changedSince(root, ref, undefined, recorded))!;
      expect(split).toEqual(whole.concat('d/new').sort());
      expect(sorted(await changedSince(root, ref))).toEqual(whole.concat('d/new', 'd/new/deeper', 'd/new/deeper/x.jpg').sort());
      // Only what changed after the reference, the root included when its own ctime moved.
      await new Promise((r) => setTimeout(r, 20));
      await writeFile(join(dir, 'mark'), '');
      const now = (await lstat(join(dir, 'mark'))).ctimeMs / 1000 + 0.001; // after every change above (the same clock)
      await utimes(ref, now, now);
      await new Promise((r) => setTimeout(r, 20));
      await appendFile(join(root, 'a/b/c/1.jpg'), 'more');
      await chmod(join(root, 'f/2.jpg'), 0o600);
      expect(sorted(await changedSince(root, ref, undefined, recorded))).toEqual(['a/b/c/1.jpg', 'f/2.jpg']);
      await writeFile(join(root, 'new-top.txt'), 'n');
      expect(sorted(await changedSince(root, ref, undefined, recorded))).toEqual(['', 'a/b/c/1.jpg', 'f/2.jpg', 'new-top.txt']);
      // A recorded directory gone: find fails on it, and the recursive find answers instead.
      await rm(join(root, 'd/e'), { recursive: true });
      expect(sorted(await changedSince(root, ref, undefined, recorded))).toEqual(sorted(await changedSince(root, ref)));
      expect(sorted(await changedSince(root, ref, undefined, recorded))).toContain('d');
    } finally {
      Object.assign(SPLIT, saved);
    }
  });

  it.skipIf(!filesFrom)('split for the quiet window (livePlan): a directory made since the record is walked whole, so a write below it after a later reference is printed', async () => {
    const saved = { ...SPLIT };
    Object.assign(SPLIT, { minEntries: 0, parts: 3 });
    try {
      const root = join(dir, 'src');
      const { recorded } = await recordedTree(root);
      // Made after the record, before the window.
      await mkdir(join(root, 'd/new/deeper'), { recursive: true });
      await writeFile(join(root, 'd/new/deeper/x.jpg'), 'x');
      await new Promise((r) => setTimeout(r, 20));
      await writeFile(join(dir, 'mark'), '');
      const ref = join(dir, 'ref');
      await writeFile(ref, '');
      const start = (await lstat(join(dir, 'mark'))).ctimeMs / 1000 + 0.001;
      await utimes(ref, start, start);
      await new Promise((r) => setTimeout(r, 20));
      await appendFile(join(root, 'd/new/deeper/x.jpg'), ' written inside the window');
      const sorted = (x: Buffer[] | undefined) => x?.map((b) => b.toString()).sort();
      expect(livePlan(root, recorded)!.flatMap((g) => g.trees)).toContain('d/new');
      // The narrowed pass's split prints nothing here (d/new was made before this reference): right for a pass that lists d/new itself, not for a quiet window.
      expect(sorted(await changedSince(root, ref, undefined, recorded))).toEqual([]);
      expect(sorted(await changedInWindow(root, ref, undefined, recorded))).toEqual(['d/new/deeper/x.jpg']);
      expect(sorted(await changedInWindow(root, ref))).toEqual(['d/new/deeper/x.jpg']);
      // A recorded directory gone: the recursive find answers.
      await rm(join(root, 'd/e'), { recursive: true });
      expect(sorted(await changedInWindow(root, ref, undefined, recorded))).toEqual(sorted(await changedInWindow(root, ref)));
    } finally {
      Object.assign(SPLIT, saved);
    }
  });

  it.skipIf(!filesFrom)('the freeze\'s quiet proof split by the last export\'s record: quiet at once when nothing moved in the window, not while a directory made since takes writes', async () => {
    const saved = { ...SPLIT };
    Object.assign(SPLIT, { minEntries: 0, parts: 2 });
    try {
      const root = join(dir, 'src');
      const art = join(dir, 'art');
      for (let d = 0; d < 6; d++) { await mkdir(join(root, `img/${d}`), { recursive: true }); for (let i = 0; i < 5; i++) await writeFile(join(root, `img/${d}/${i}.jpg`), `${d}/${i}`); }
      await exportTree({ storeId: 's', root, artifactDir: art, normalize: 'none', concurrency: 2 });
      await mkdir(join(root, 'img/3/new/deeper'), { recursive: true });
      await writeFile(join(root, 'img/3/new/deeper/x.jpg'), 'x');
      // Past the window (300 ms) and the proof's look-back margin (freeze.ts CTIME_MARGIN_MS, 50 ms) with room to
      // spare: a sleep of exactly 350 ms left the last write a coarse-clock tick inside the look-back in 5 runs of 12 here.
      await new Promise((r) => setTimeout(r, 500));
      const o = { root, windowMs: 300, budgetMs: 10_000, recordDir: art };
      expect(await waitQuiet({ ...o, stampDir: join(dir, 'st1') })).toMatchObject({ proof: 'ctime', scans: 1 });
      await appendFile(join(root, 'img/3/new/deeper/x.jpg'), ' again');
      const written = (await lstat(join(root, 'img/3/new/deeper/x.jpg'))).ctimeMs;
      const r = await waitQuiet({ ...o, stampDir: join(dir, 'st2') });
      expect(r.proof).toBe('ctime');
      expect(r.scans).toBeGreaterThanOrEqual(2);
      expect(Date.parse(r.quietAt) - written).toBeGreaterThanOrEqual(300);
    } finally {
      Object.assign(SPLIT, saved);
    }
  });

  it.skipIf(!filesFrom)('split into whole subtrees (many small directories): what the recursive find prints', async () => {
    const saved = { ...SPLIT };
    Object.assign(SPLIT, { minEntries: 0, parts: 2 });
    try {
      const root = join(dir, 'src');
      const recorded: RecordedDir[] = [['', 1, 8]];
      for (let i = 0; i < 8; i++) {
        recorded.push([`h${i}`, 1, 4]);
        for (let j = 0; j < 4; j++) {
          await mkdir(join(root, `h${i}/s${j}`), { recursive: true });
          await writeFile(join(root, `h${i}/s${j}/f.jpg`), 'x');
          recorded.push([`h${i}/s${j}`, 1, 1]);
        }
      }
      const plan = splitPlan(recorded)!;
      expect(plan.flatMap((g) => g.lists)).toEqual(['']);
      expect(plan.flatMap((g) => g.trees).sort()).toEqual(Array.from({ length: 8 }, (_, i) => `h${i}`));
      const ref = join(dir, 'ref');
      await writeFile(ref, '');
      const sorted = (x: Buffer[] | undefined) => x?.map((b) => b.toString()).sort();
      const past = Date.now() / 1000 - 3600;
      await utimes(ref, past, past);
      const whole = sorted(await changedSince(root, ref))!;
      expect(whole).toHaveLength(1 + 8 + 32 + 32);
      expect(sorted(await changedSince(root, ref, undefined, recorded))).toEqual(whole);
      await writeFile(join(dir, 'mark'), '');
      const now = (await lstat(join(dir, 'mark'))).ctimeMs / 1000 + 0.001;
      await utimes(ref, now, now);
      await new Promise((r) => setTimeout(r, 20));
      await appendFile(join(root, 'h3/s2/f.jpg'), 'more');
      await mkdir(join(root, 'h5/s1/new/deep'), { recursive: true });
      expect(sorted(await changedSince(root, ref, undefined, recorded))).toEqual(sorted(await changedSince(root, ref)));
      expect(sorted(await changedSince(root, ref, undefined, recorded))).toEqual(['h3/s2/f.jpg', 'h5/s1', 'h5/s1/new', 'h5/s1/new/deep']);
    } finally {
      Object.assign(SPLIT, saved);
    }
  });

  it('a find without -files0-from (BSD, GNU < 4.9): the recursive find answers, and the split is not tried again', async () => {
    const saved = { ...SPLIT }, path = process.env.PATH;
    Object.assign(SPLIT, { minEntries: 0, parts: 2 });
    const bin = join(dir, 'bin'), calls = join(dir, 'calls');
    await mkdir(bin);
    const real = (await import('node:child_process')).execFileSync('sh', ['-c', 'command -v find'], { encoding: 'utf8' }).trim();
    await writeFile(join(bin, 'find'), `#!/bin/sh\necho "$1" >> '${calls}'\nif [ "$1" = -files0-from ]; then echo "find: unknown predicate \\\`-files0-from'" >&2; exit 1; fi\nexec '${real}' "$@"\n`, { mode: 0o755 });
    process.env.PATH = `${bin}:${path}`;
    try {
      const root = join(dir, 'src');
      for (const d of ['a', 'b']) { await mkdir(join(root, d), { recursive: true }); await writeFile(join(root, d, 'x'), d); }
      const recorded: RecordedDir[] = [['', 1, 2], ['a', 2, 1], ['b', 3, 1]];
      expect(splitPlan(recorded)).toBeDefined();
      const ref = join(dir, 'ref');
      await writeFile(ref, '');
      const past = Date.now() / 1000 - 3600;
      await utimes(ref, past, past);
      const all = ['', 'a', 'a/x', 'b', 'b/x'];
      expect((await changedSince(root, ref, undefined, recorded))!.map(String).sort()).toEqual(all);
      expect(SPLIT.filesFrom).toBe(false);
      await writeFile(calls, '');
      expect((await changedSince(root, ref, undefined, recorded))!.map(String).sort()).toEqual(all);
      expect((await readFile(calls, 'utf8')).trim().split('\n')).toEqual([root]); // one recursive find, no split tried
    } finally {
      process.env.PATH = path;
      Object.assign(SPLIT, saved);
    }
  });

  it('underAny: a strict ancestor in the set', () => {
    const set = new Set(['a/b', 'c']);
    expect(underAny('a/b/x', set)).toBe(true);
    expect(underAny('a/b', set)).toBe(false);
    expect(underAny('a/bc/x', set)).toBe(false);
    expect(underAny('c/d/e', set)).toBe(true);
    expect(underAny('x', new Set(['']))).toBe(true);
  });
});

/** The manifest's stat view, to compare with a whole walk of the tree. */
async function manifestView(m: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of readManifest(m)) out.push(`${e.path.toString('latin1')} ${e.type} ${e.size} ${e.mtimeMs} ${e.mode.toString(8)} ${e.link?.toString('latin1') ?? ''}`);
  return out;
}
function walkView(root: string): string[] {
  return [...scanTree(root, emptyScanReport())].map((e) => `${e.path.toString('latin1')} ${e.type} ${e.size} ${e.mtimeMs} ${e.mode.toString(8)} ${e.link?.toString('latin1') ?? ''}`);
}

// Each narrowed export as one recursive find sees it, and split over several (SPLIT forced on small trees).
for (const split of [false, true]) describe(`exportTree narrowed by the ctime scan${split ? ', the scan split over 3 finds' : ''}`, () => {
  const saved = { ...SPLIT };
  beforeEach(() => { if (split) Object.assign(SPLIT, { minEntries: 0, parts: 3 }); });
  afterEach(() => { Object.assign(SPLIT, saved); });
  const exp = (root: string, art: string): Promise<ExportResult> => exportTree({ storeId: 's', root, artifactDir: art, normalize: 'none', concurrency: 2 });

  it('catches a rewrite that kept size and mtime, a chmod, a new file in a new directory, a removal, renames of a file and of a directory', async () => {
    const root = join(dir, 'src');
    const art = join(dir, 'art');
    for (const d of ['img/2024/01', 'img/2024/02', 'docs', 'keep/deep/er']) await mkdir(join(root, d), { recursive: true });
    for (let i = 0; i < 20; i++) await writeFile(join(root, 'img/2024/01', `${i}.jpg`), `jan ${i}`);
    for (let i = 0; i < 20; i++) await writeFile(join(root, 'img/2024/02', `${i}.jpg`), `feb ${i}`);
    await writeFile(join(root, 'docs/a.txt'), 'AAAA');
    await writeFile(join(root, 'keep/deep/er/x.txt'), 'x');
    // Changes in the stamp's own kernel tick are taken as after it (re-read once): the tree is older.
    await new Promise((r) => setTimeout(r, 30));
    const first = await exp(root, art);
    expect(first).toMatchObject({ scan: 'walk', fallback: 'no previous manifest' });
    const unchanged = await exp(root, art);
    expect(unchanged).toMatchObject({ scan: 'ctime', changed: 0, scope: [] });
    expect(await manifestView(unchanged.manifest)).toEqual(await manifestView(first.manifest));

    // Past the stamp's own tick.
    await new Promise((r) => setTimeout(r, 30));
    const a = join(root, 'docs/a.txt');
    const st = await stat(a);
    await writeFile(a, 'BBBB');
    await utimes(a, st.atime, st.mtime); // same size, same mtime, same inode
    await chmod(join(root, 'img/2024/01/3.jpg'), 0o600);
    await mkdir(join(root, 'img/2024/03'));
    await writeFile(join(root, 'img/2024/03/new.jpg'), 'new');
    await rm(join(root, 'img/2024/02/4.jpg'));
    await rename(join(root, 'img/2024/02/5.jpg'), join(root, 'img/2024/02/five.jpg'));
    await rename(join(root, 'keep/deep'), join(root, 'docs/deep')); // its subtree's paths change, not their inodes
    const narrowed = await exp(root, art);
    expect(narrowed.scan).toBe('ctime');
    expect(narrowed.changed).toBeGreaterThan(0);
    expect(await manifestView(narrowed.manifest)).toEqual(walkView(root));
    expect(new Set(narrowed.scope)).toContain('img/2024/03');
    expect(narrowed.report.files).toBe(42);
    expect(JSON.parse(await readFile(join(art, 'scan.json'), 'utf8')).entries).toBe(walkView(root).length);

    // A directory replaced by another at the same path, and a whole subtree removed.
    await new Promise((r) => setTimeout(r, 30));
    await rm(join(root, 'img/2024/01'), { recursive: true });
    await mkdir(join(root, 'img/2024/01'));
    await writeFile(join(root, 'img/2024/01/only.jpg'), 'only');
    await rm(join(root, 'docs/deep'), { recursive: true });
    await appendFile(join(root, 'img/2024/03/new.jpg'), ' and more');
    const again = await exp(root, art);
    expect(again.scan).toBe('ctime');
    expect(await manifestView(again.manifest)).toEqual(walkView(root));
    expect(again.report.files).toBe(22);
  });

  it('without a recorded stamp (a resumed run after a kill, an older state) it walks, says why, and records one', async () => {
    const root = join(dir, 'src');
    const art = join(dir, 'art');
    await mkdir(join(root, 'a'), { recursive: true });
    await writeFile(join(root, 'a/1.txt'), 'one');
    await exp(root, art);
    await rm(join(art, CTIME_RECORD_FILE));
    await writeFile(join(root, 'a/2.txt'), 'two');
    const r = await exp(root, art);
    expect(r.scan).not.toBe('ctime');
    expect(r.fallback).toBe('no ctime stamp recorded by the last pass');
    expect(await manifestView(r.manifest)).toEqual(walkView(root));
    expect((await exp(root, art)).scan).toBe('ctime');
  });

  it('the source\'s fingerprint without a walk: the last export\'s while nothing changed since; after changes, the last one updated with the directories listed again, equal to a walk\'s', async () => {
    const root = join(dir, 'src');
    const art = join(dir, 'art');
    await mkdir(join(root, 'a'), { recursive: true });
    await writeFile(join(root, 'a/1.txt'), 'one');
    const o = { root, artifactDir: art, normalize: 'none' as const };
    expect(await provenFingerprint(o)).toBeUndefined(); // no export yet
    await new Promise((r) => setTimeout(r, 30));
    const r = await exp(root, art);
    const walked = (await treeFingerprint(root)).fingerprint;
    expect(r.fingerprint).toBe(walked);
    expect(await provenFingerprint(o)).toBe(walked);
    await new Promise((r) => setTimeout(r, 30));
    await chmod(join(root, 'a/1.txt'), 0o600);
    const walk = async () => (await treeFingerprint(root)).fingerprint;
    const afterChmod = await walk();
    expect(afterChmod).not.toBe(walked);
    expect(await provenFingerprint(o)).toBe(afterChmod); // a's listing again, not the whole tree
    // Every kind of change at once, since the same export: written, created, removed, a subtree made, a directory renamed, one removed.
    await mkdir(join(root, 'b/c'), { recursive: true });
    await writeFile(join(root, 'b/c/x.txt'), 'x');
    await mkdir(join(root, 'gone/deep'), { recursive: true });
    await writeFile(join(root, 'gone/deep/y.txt'), 'y');
    await exp(root, art);
    await new Promise((r) => setTimeout(r, 30));
    await appendFile(join(root, 'a/1.txt'), ' more');
    await writeFile(join(root, 'a/new.txt'), 'new');
    await mkdir(join(root, 'a/sub/deeper'), { recursive: true });
    await writeFile(join(root, 'a/sub/deeper/z.txt'), 'z');
    await rename(join(root, 'b/c'), join(root, 'b/c-renamed'));
    await rm(join(root, 'gone'), { recursive: true });
    expect(await provenFingerprint(o)).toBe(await walk());
    // The next export records the same fingerprint, and proves it unchanged after.
    const next = await exp(root, art);
    expect(next.fingerprint).toBe(await walk());
    expect(await provenFingerprint(o)).toBe(next.fingerprint);
    // A change the scan cannot narrow (a re-read directory holding a hard link): undefined, the caller walks.
    const { link } = await import('node:fs/promises');
    await new Promise((r) => setTimeout(r, 30));
    await link(join(root, 'a/new.txt'), join(root, 'a/new-again.txt'));
    expect(await provenFingerprint(o)).toBeUndefined();
  });

  it('a hard link in a directory listed again sends the pass to the whole walk, named', async () => {
    const root = join(dir, 'src');
    const art = join(dir, 'art');
    await mkdir(join(root, 'a'), { recursive: true });
    await writeFile(join(root, 'a/1.txt'), 'one');
    const { link } = await import('node:fs/promises');
    await link(join(root, 'a/1.txt'), join(root, 'a/1-again.txt'));
    await exp(root, art);
    await new Promise((r) => setTimeout(r, 30));
    await writeFile(join(root, 'a/2.txt'), 'two');
    const r = await exp(root, art);
    expect(r.scan).not.toBe('ctime');
    expect(r.fallback).toMatch(/^hard link a\/1/);
    expect(await manifestView(r.manifest)).toEqual(walkView(root));
  });
});

describe('a file rewritten in place, size, mtime and inode kept, through the engine (bind target)', () => {
  it('is listed by the narrowed export, stays listed through a later export, and the import sends it again; the final pass check finds nothing left', async () => {
    const { filesEngine } = await import('../../../../lib/engines/files/engine.ts');
    const { readRewritten } = await import('../../../../lib/engines/files/rewritten.ts');
    const { silentLogger } = await import('../../../../lib/core/logger.ts');
    const { noProgress } = await import('../../../../lib/core/progress.ts');
    const { userInfo } = await import('node:os');
    const { uid, gid } = userInfo();
    const root = join(dir, 'src'), dst = join(dir, 'dst');
    const p: EngineParams<FilesOptions> = {
      store: { id: 'up', engine: 'files', source: root, target: { service: 'web', hostPath: dst }, options: filesEngine.parseOptions({ owner: `${uid}:${gid}`, quietWindowMs: 0 }, 'up') },
      targetUrl: undefined, artifactDir: join(dir, 'art'), stateDir: join(dir, 'state'),
      signal: new AbortController().signal, log: silentLogger, progress: noProgress, redactor: { add() {}, redact: (s: string) => s },
    };
    await mkdir(join(root, 'a'), { recursive: true });
    await mkdir(join(root, 'b'), { recursive: true });
    await writeFile(join(root, 'a/1.txt'), 'one!');
    await writeFile(join(root, 'b/2.txt'), 'two');
    // A whole second: put back exactly (a Date from stat is rounded to the millisecond, which can move the manifest's floor).
    await utimes(join(root, 'a/1.txt'), 1_700_000_000, 1_700_000_000);
    await new Promise((r) => setTimeout(r, 30));
    await filesEngine.export(p);
    await filesEngine.import(p);
    const f = join(root, 'a/1.txt');
    await writeFile(f, 'ONE!');
    await utimes(f, 1_700_000_000, 1_700_000_000);
    const ex = await filesEngine.export(p);
    expect(ex.data.scan).toBe('ctime');
    expect((await readRewritten(p.artifactDir, ex.manifest)).map(String)).toEqual(['a/1.txt']);
    await writeFile(join(root, 'b/3.txt'), 'three'); // another pass before any import: the listing carries over
    const ex2 = await filesEngine.export(p);
    expect(ex2.data.scan).toBe('ctime');
    expect((await readRewritten(p.artifactDir, ex2.manifest)).map(String)).toEqual(['a/1.txt']);
    const s = await filesEngine.catchUp!(p, 60_000) as unknown as { finalPass: { files: number } };
    expect(s.finalPass.files).toBe(2);
    expect(await readFile(join(dst, 'a/1.txt'), 'utf8')).toBe('ONE!');
    expect(await readRewritten(p.artifactDir, ex2.manifest)).toEqual([]);
    expect((await filesEngine.verify(p)).ok).toBe(true);
  });
});
