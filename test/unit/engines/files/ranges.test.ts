import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import { appendFile, lstat, mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataPieces, HOLE_BLOCK, isLarge, pendingRanges, planRanges, rangeKey, recordedRanges, Slots } from '../../../../lib/engines/files/ranges.ts';
import { copyRanged } from '../../../../lib/engines/files/copy-ranged.ts';
import { forgetRanges, readRangeRecord, recordRange, startRanges, type RangeRecord } from '../../../../lib/engines/files/copied.ts';
import type { ManifestEntry } from '../../../../lib/engines/files/manifest.ts';
import { generateTree } from '../../../../fixtures/files/tree.ts';
import { exportTree } from '../../../../lib/engines/files/export.ts';
import { copyToBind, byTargetPath } from '../../../../lib/engines/files/copy-bind.ts';
import { compareManifests } from '../../../../lib/engines/files/compare.ts';
import { targetManifest } from '../../../../lib/engines/files/target.ts';
import { cksumFinish, cksumUpdate, cutRanges, leadingMatch, octalEscaped, sourceRangeSums } from '../../../../lib/engines/files/resume-volume.ts';
import { execFileSync } from 'node:child_process';

const MiB = 1 << 20;
const entry = (size: number, more: Partial<ManifestEntry> = {}): ManifestEntry => ({ path: Buffer.from('exports/big.bin'), type: 'file', size, mode: 0o640, mtimeMs: 1700000000000, uid: 0, gid: 0, ino: 77, ...more });
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
/** Deterministic non-zero bytes. */
function bytesFor(seed: number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; b[i] = (x & 0xff) | 1; }
  return b;
}

describe('range planning', () => {
  it('cuts a file into ranges of rangeBytes, the last one partial', () => {
    expect(planRanges(10 * MiB, 4 * MiB)).toEqual([
      { index: 0, start: 0, end: 4 * MiB }, { index: 1, start: 4 * MiB, end: 8 * MiB }, { index: 2, start: 8 * MiB, end: 10 * MiB },
    ]);
    expect(planRanges(8 * MiB, 4 * MiB).map((r) => r.end - r.start)).toEqual([4 * MiB, 4 * MiB]);
    expect(planRanges(8 * MiB + 1, 4 * MiB).map((r) => r.end - r.start)).toEqual([4 * MiB, 4 * MiB, 1]);
    expect(planRanges(0, 4 * MiB)).toEqual([]);
    expect(() => planRanges(10, 0)).toThrow(/positive integer/);
  });

  it('a regular file from the threshold on is large (and only when it spans more than one range)', () => {
    const o = { largeFileBytes: 64 * MiB, rangeBytes: 16 * MiB };
    expect(isLarge(entry(64 * MiB), o)).toBe(true);
    expect(isLarge(entry(64 * MiB - 1), o)).toBe(false);
    expect(isLarge(entry(100 * MiB, { type: 'hardlink' }), o)).toBe(false);
    expect(isLarge(entry(2 * MiB), { largeFileBytes: MiB, rangeBytes: 4 * MiB })).toBe(false);
  });

  it('a sparse file\'s all-zero 64 KiB pieces are not written; neighbouring data pieces are one write', () => {
    const buf = Buffer.alloc(6 * HOLE_BLOCK + 100);
    buf[5] = 1; // piece 0
    buf[HOLE_BLOCK + 9] = 1; // piece 1 (joins piece 0)
    buf[4 * HOLE_BLOCK] = 1; // piece 4
    buf[6 * HOLE_BLOCK + 99] = 1; // the short tail
    expect(dataPieces(buf, buf.length, true)).toEqual([[0, 2 * HOLE_BLOCK], [4 * HOLE_BLOCK, HOLE_BLOCK], [6 * HOLE_BLOCK, 100]]);
    expect(dataPieces(buf, buf.length, false)).toEqual([[0, buf.length]]);
    expect(dataPieces(Buffer.alloc(3 * HOLE_BLOCK), 3 * HOLE_BLOCK, true)).toEqual([]);
    // Only the first n bytes count.
    expect(dataPieces(buf, HOLE_BLOCK, true)).toEqual([[0, HOLE_BLOCK]]);
  });

  it('a record applies only to the same file (path, size, mtime, inode), range size and a full-length partial', () => {
    const e = entry(10 * MiB);
    const path = Buffer.from('exports/big.bin');
    const r: RangeRecord = { path: path.toString('base64'), size: 10 * MiB, mtimeMs: e.mtimeMs, ino: 77, rangeBytes: 4 * MiB, done: { 0: 123, 2: 456, 9: 1, x: 2 } };
    expect([...recordedRanges(r, e, path, 4 * MiB, 10 * MiB)]).toEqual([[0, 123], [2, 456]]);
    expect(recordedRanges(r, e, path, 4 * MiB, 4 * MiB).size).toBe(0); // a partial cut short
    expect(recordedRanges(r, e, path, 4 * MiB, undefined).size).toBe(0); // no partial
    expect(recordedRanges(r, e, path, 2 * MiB, 10 * MiB).size).toBe(0); // another range size
    expect(recordedRanges(r, { ...e, mtimeMs: e.mtimeMs + 1 }, path, 4 * MiB, 10 * MiB).size).toBe(0); // the source changed
    expect(recordedRanges(r, { ...e, ino: 78 }, path, 4 * MiB, 10 * MiB).size).toBe(0); // another file under the name
    expect(recordedRanges(r, e, Buffer.from('other'), 4 * MiB, 10 * MiB).size).toBe(0);
    expect(recordedRanges(undefined, e, path, 4 * MiB, 10 * MiB).size).toBe(0);
    // Resume: what is left to copy.
    expect(pendingRanges(planRanges(10 * MiB, 4 * MiB), new Set([0, 2])).map((x) => x.index)).toEqual([1]);
  });

  it('slots bound what is in flight, first come first served', async () => {
    const slots = new Slots(3);
    let now = 0, most = 0;
    const order: number[] = [];
    await Promise.all(Array.from({ length: 10 }, (_, i) => slots.run(async () => {
      now++; most = Math.max(most, now); order.push(i);
      await new Promise((r) => setTimeout(r, 2 + (i % 3)));
      now--;
    })));
    expect(most).toBe(3);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

describe('copyRanged on real files', () => {
  let dir: string, staging: string, state: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-ranges-'));
    staging = join(dir, 'staging'); state = join(dir, 'state');
    await mkdir(staging); await mkdir(state);
  });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  it('copies byte for byte in ranges, hashing the whole file in order', async () => {
    const data = bytesFor(1, 10 * MiB + 12345);
    const src = join(dir, 'a.bin');
    await writeFile(src, data);
    const e = entry(data.length, { ino: (await lstat(src)).ino, path: Buffer.from('a.bin') });
    const seen: number[] = [];
    const r = await copyRanged({ src, staging, stateDir: state, entry: e, targetPath: e.path, rangeBytes: 2 * MiB, slots: new Slots(4), onRange: (n) => seen.push(n) });
    expect(r).toMatchObject({ sha256: sha(data), bytes: data.length, ranges: 6, copied: 6, kept: 0 });
    expect((await readFile(r!.file)).equals(data)).toBe(true);
    expect(seen.sort((a, b) => a - b)).toEqual([12345, 2 * MiB, 2 * MiB, 2 * MiB, 2 * MiB, 2 * MiB]);
    // Every range is recorded (the caller forgets the record once the file is in place).
    expect(Object.keys((await readRangeRecord(state, rangeKey(e.path)))!.done).sort()).toEqual(['0', '1', '2', '3', '4', '5']);
  });

  it('a sparse file stays sparse', async () => {
    const src = join(dir, 'sparse.img');
    const fh = await open(src, 'w');
    try { await fh.write(bytesFor(7, 4096), 0, 4096, 5 * MiB + 100); await fh.write(bytesFor(8, 70000), 0, 70000, 11 * MiB); await fh.truncate(16 * MiB); } finally { await fh.close(); }
    const data = await readFile(src);
    const e = entry(data.length, { path: Buffer.from('sparse.img'), sparse: true, ino: (await lstat(src)).ino });
    const r = await copyRanged({ src, staging, stateDir: state, entry: e, targetPath: e.path, rangeBytes: 4 * MiB, slots: new Slots(4) });
    expect(r).toMatchObject({ sha256: sha(data), ranges: 4, copied: 4 });
    expect((await readFile(r!.file)).equals(data)).toBe(true);
    const st = await lstat(r!.file);
    expect(st.size).toBe(16 * MiB);
    expect(st.blocks * 512).toBeLessThan(1 * MiB);
  });

  it('a killed copy resumes from its record: only the ranges not recorded, or recorded but not intact on the partial, are copied again', async () => {
    const data = bytesFor(3, 12 * MiB + 7);
    const src = join(dir, 'resume.bin');
    await writeFile(src, data);
    const e = entry(data.length, { path: Buffer.from('resume.bin'), ino: (await lstat(src)).ino });
    const base = { src, staging, stateDir: state, entry: e, targetPath: e.path, rangeBytes: MiB };
    // One slot: ranges in order; stopped (like a kill) once 5 are recorded.
    const ac = new AbortController();
    let n = 0;
    await expect(copyRanged({ ...base, slots: new Slots(1), signal: ac.signal, onRange: () => { if (++n === 5) ac.abort(); } })).rejects.toThrow(/abort/i);
    const rec = (await readRangeRecord(state, rangeKey(e.path)))!;
    expect(Object.keys(rec.done).map(Number).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4]);
    // Range 2 was lost on the partial (as a crash can lose what was not on disk yet): its crc32 no longer matches.
    const partial = join(staging, 'ranges', rangeKey(e.path));
    const fh = await open(partial, 'r+');
    try { await fh.write(Buffer.alloc(4096), 0, 4096, 2 * MiB + 10); } finally { await fh.close(); }
    const r = await copyRanged({ ...base, slots: new Slots(4) });
    expect(r).toMatchObject({ ranges: 13, kept: 4, copied: 9, bytes: data.length - 4 * MiB, sha256: sha(data) });
    expect((await readFile(r!.file)).equals(data)).toBe(true);
    // A source changed since the record (another mtime): nothing kept.
    const again = await copyRanged({ ...base, entry: { ...e, mtimeMs: e.mtimeMs + 1000 }, slots: new Slots(4) });
    expect(again).toMatchObject({ kept: 0, copied: 13, sha256: sha(data) });
  });

  it('the record: its identity once, a line per range; a torn last line is ignored; a restart rewrites the log', async () => {
    const id = { path: Buffer.from('x').toString('base64'), size: 10 * MiB, mtimeMs: 1, rangeBytes: MiB };
    await startRanges(state, 'k', { ...id, done: { 3: 7 } });
    await recordRange(state, 'k', 0, 42);
    await appendFile(join(state, 'ranges', 'k.done'), '5'); // killed in the middle of a line
    expect(await readRangeRecord(state, 'k')).toEqual({ ...id, done: { 3: 7, 0: 42 } });
    await startRanges(state, 'k', { ...id, done: { 0: 42 } });
    await recordRange(state, 'k', 1, 9);
    expect((await readRangeRecord(state, 'k'))!.done).toEqual({ 0: 42, 1: 9 });
    await forgetRanges(state, 'k');
    expect(await readRangeRecord(state, 'k')).toBeUndefined();
  });

  it('a source whose size is not the manifest\'s is left to the whole-file copy', async () => {
    const src = join(dir, 'grown.bin');
    await writeFile(src, bytesFor(9, 3 * MiB));
    expect(await copyRanged({ src, staging, stateDir: state, entry: entry(2 * MiB, { path: Buffer.from('grown.bin') }), targetPath: Buffer.from('grown.bin'), rangeBytes: MiB, slots: new Slots(2) })).toBeUndefined();
  });
});

describe('copyToBind with large files in ranges', () => {
  let dir: string, src: string, dst: string, art: string;
  const owner = { uid: 10001, gid: 10001 };
  const ranges = { largeFileBytes: 4 * MiB, rangeBytes: MiB };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-ranges-bind-'));
    src = join(dir, 'storage'); dst = join(dir, 'target'); art = join(dir, 'art');
    await mkdir(src);
    await generateTree(src, 0.05, { largeBytes: 40 * MiB });
  });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  it('a copy stopped inside a large file resumes with the ranges its record kept; the tree verifies, the sparse file sparse', async () => {
    const ex = await exportTree({ storeId: 'storage', root: src, artifactDir: art, normalize: 'none', concurrency: 4 });
    const progressFile = join(dir, 'state', 'copy-progress.json');
    const base = { sourceRoot: src, manifest: ex.manifest, targetRoot: dst, owner, normalize: 'none' as const, concurrency: 4, progressFile, ranges };
    const ac = new AbortController();
    await expect(copyToBind({ ...base, signal: ac.signal, onProgress: (d) => { if (d.bytes >= 3 * MiB) ac.abort(); } })).rejects.toThrow(/abort/i);
    // Both large files were in flight (the window holds 4 entries): each has its record.
    const recordedOf = async (p: string) => Object.keys((await readRangeRecord(join(dir, 'state'), rangeKey(Buffer.from(p))))?.done ?? {}).length;
    const big = await recordedOf('storage/exports/archive-0.bin'), holes = await recordedOf('storage/exports/sparse.img');
    // Each range is recorded before it is reported, and a file's 2 ranges in flight stop at their next block: neither file could finish.
    expect(big + holes).toBeGreaterThanOrEqual(3);
    expect(big).toBeLessThan(40);
    expect(holes).toBeLessThan(32);
    const r = await copyToBind(base);
    // archive-0.bin: 40 ranges, sparse.img (32 MiB): 32; what the records held is kept, the rest copied.
    expect(r.ranged).toEqual({ files: 2, ranges: 72, copied: 72 - big - holes, kept: big + holes });
    const report = await compareManifests(byTargetPath(ex.manifest, 'none', art), targetManifest({ kind: 'bind', root: dst }), { owner });
    expect(report.flatMap((e) => e.findings ?? [])).toEqual([]);
    const st = await lstat(join(dst, 'storage/exports/archive-0.bin'));
    expect([st.uid, st.mode & 0o777, Math.floor(st.mtimeMs)]).toEqual([10001, 0o640, (await lstat(join(src, 'storage/exports/archive-0.bin'))).mtimeMs]);
    expect((await readFile(join(dst, 'storage/exports/archive-0.bin'))).equals(await readFile(join(src, 'storage/exports/archive-0.bin')))).toBe(true);
    const sp = await lstat(join(dst, 'storage/exports/sparse.img'));
    expect([sp.size, sp.blocks * 512 < MiB]).toEqual([32 * MiB, true]);
    // Nothing left behind: no staging, no range records.
    await expect(lstat(join(dst, '.ferry-staging'))).rejects.toThrow(/ENOENT/);
    await expect(lstat(join(dir, 'state', 'ranges'))).rejects.toThrow(/ENOENT/);
    // A re-run copies nothing.
    expect(await copyToBind(base)).toMatchObject({ copied: 0, bytes: 0 });
  });
});

describe('volume: resuming a cut large file', () => {
  it('computes POSIX cksum\'s CRC (the helper\'s `cksum` line), per range of a source file', async () => {
    const t = (b: Buffer) => `${cksumFinish(cksumUpdate(0, b), b.length)} ${b.length}`;
    expect(t(Buffer.from('hello\n'))).toBe('3015617425 6');
    expect(t(Buffer.alloc(0))).toBe('4294967295 0');
    const dir = await mkdtemp(join(tmpdir(), 'ferry-cksum-'));
    try {
      const data = bytesFor(5, 3 * MiB + 333);
      await writeFile(join(dir, 'f'), data);
      const want = [0, 1, 2].map((i) => execFileSync('cksum', { input: data.subarray(i * MiB, (i + 1) * MiB) }).toString().trim());
      expect(await sourceRangeSums(Buffer.from(join(dir, 'f')), MiB, 3, undefined)).toEqual(want);
      // Odd lengths (the slice-by-8 tail) agree too.
      expect(t(data.subarray(5, 5 + 1001))).toBe(execFileSync('cksum', { input: data.subarray(5, 5 + 1001) }).toString().trim());
    } finally { await rm(dir, { recursive: true, force: true }); }
  });

  it('a large file not up to date on the volume, no longer than the source: its complete ranges are checked, the leading matches kept', () => {
    const o = { largeFileBytes: 8 * MiB, rangeBytes: 2 * MiB };
    const e = entry(40 * MiB);
    expect(cutRanges(e, { type: 'file', size: 23 * MiB + 5 }, o)).toBe(11);
    expect(cutRanges(e, { type: 'file', size: MiB }, o)).toBe(0); // not one complete range
    expect(cutRanges(e, { type: 'file', size: 40 * MiB }, o)).toBe(20); // full size, another mtime: every range checked
    expect(cutRanges(entry(41 * MiB), { type: 'file', size: 41 * MiB }, o)).toBe(20); // (the last partial range is sent)
    expect(cutRanges(e, { type: 'file', size: 41 * MiB }, o)).toBe(0); // longer than the source: sent whole
    expect(cutRanges(e, { type: 'dir', size: 4096 }, o)).toBe(0);
    expect(cutRanges(e, undefined, o)).toBe(0);
    expect(cutRanges(entry(6 * MiB), { type: 'file', size: 4 * MiB }, o)).toBe(0); // not large
    expect(leadingMatch(['a', 'b', 'c', 'd'], ['a', 'b', 'x', 'd'])).toBe(2);
    expect(leadingMatch(['a'], [])).toBe(0);
  });

  it('names travel as printf octal escapes, any byte', () => {
    const name = Buffer.from([0x61, 0x20, 0x25, 0x5c, 0x0a, 0xff]);
    expect(octalEscaped(name)).toBe('\\141\\040\\045\\134\\012\\377');
    expect(execFileSync('sh', ['-c', `f=$(printf "${octalEscaped(name)}x") && printf %s "\${f%x}"`]).equals(name)).toBe(true);
  });
});
