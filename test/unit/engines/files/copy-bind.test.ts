import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { appendFile, chmod, lstat, mkdir, mkdtemp, readFile, rename, rm, truncate, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateTree } from '../../../../fixtures/files/tree.ts';
import { exportTree } from '../../../../lib/engines/files/export.ts';
import { copyToBind, byTargetPath } from '../../../../lib/engines/files/copy-bind.ts';
import { compareManifests } from '../../../../lib/engines/files/compare.ts';
import { targetManifest } from '../../../../lib/engines/files/target.ts';
import { waitQuiet } from '../../../../lib/engines/files/freeze.ts';
import { isFerryError } from '../../../../lib/core/errors.ts';

let dir: string, src: string, dst: string, art: string;
const owner = { uid: 10001, gid: 10001 };
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-files-bind-'));
  src = join(dir, 'storage'); dst = join(dir, 'target'); art = join(dir, 'art');
  await mkdir(src);
  await generateTree(src, 0.2, { largeBytes: 3 << 20 });
});
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

const pass = async () => {
  const r = await exportTree({ storeId: 'storage', root: src, artifactDir: art, normalize: 'none', concurrency: 4 });
  return copyToBind({ sourceRoot: src, manifest: r.manifest, targetRoot: dst, owner, normalize: 'none', concurrency: 4, progressFile: join(dir, 'progress.json') });
};
const verify = async () => compareManifests(byTargetPath(join(art, 'manifest.ndjson'), 'none', art), targetManifest({ kind: 'bind', root: dst }), { owner });

describe('copyToBind: direct writes into a bind-mounted directory', () => {
  it('copies the tree: owner of the app, modes and mtimes kept, links as links, the sparse file sparse, Finder junk left out', async () => {
    const r = await pass();
    expect(r.copied).toBeGreaterThan(200);
    const report = await verify();
    expect(report.flatMap((e) => e.findings ?? [])).toEqual([]);
    expect(report.map((e) => e.subject)).toEqual(['dir storage/']);
    expect(report[0]!.counts).toMatchObject({ files: 203, links: 2 });
    const img = await lstat(join(dst, 'storage/images/2021/01/0000000.jpg'));
    const hard = await lstat(join(dst, 'storage/images/first-hardlink.jpg'));
    expect([img.uid, img.gid, img.mode & 0o777, img.mtimeMs >= 1700000000000 && img.mtimeMs < 1700000000001]).toEqual([10001, 10001, 0o644, true]);
    expect(hard.ino).toBe(img.ino);
    expect((await lstat(join(dst, 'storage/images/latest.jpg'))).isSymbolicLink()).toBe(true);
    const sparse = await lstat(join(dst, 'storage/exports/sparse.img'));
    expect(sparse.size).toBe(32 << 20);
    expect(sparse.blocks * 512).toBeLessThan(1 << 20);
    expect((await lstat(join(dst, 'storage/exports/archive-0.bin'))).mode & 0o777).toBe(0o640);
    await expect(lstat(join(dst, 'storage/images/.DS_Store'))).rejects.toThrow();
    await expect(lstat(join(dst, '.ferry-staging'))).rejects.toThrow();
  });

  it('a re-run copies nothing; the next pass copies only what changed and removes what the source deleted', async () => {
    expect((await pass())).toMatchObject({ copied: 0, bytes: 0, removed: [] });
    await appendFile(join(src, 'storage/images/2022/02/0000005.jpg'), 'edited');
    await writeFile(join(src, 'storage/images/new.jpg'), 'new');
    await unlink(join(src, 'storage/images/2021/02/0000004.jpg'));
    // Same size and content, another mtime: confirmed by hash, only the mtime is fixed.
    await utimes(join(src, 'storage/images/2023/02/0000006.jpg'), 1710000000, 1710000000);
    const r = await pass();
    expect(r).toMatchObject({ copied: 2, fixed: 1, removed: ['storage/images/2021/02/0000004.jpg'] });
    expect(await readFile(join(dst, 'storage/images/new.jpg'), 'utf8')).toBe('new');
    expect((await verify()).every((e) => e.ok)).toBe(true);
  });

  it('verify names every damaged path on the target', async () => {
    await writeFile(join(dst, 'storage/images/2021/05/0000016.jpg'), 'garbage!');
    await truncate(join(dst, 'storage/exports/archive-0.bin'), 10);
    await chmod(join(dst, 'storage/images/new.jpg'), 0o600);
    await unlink(join(dst, 'storage/images/latest.jpg'));
    await writeFile(join(dst, 'storage/stray.txt'), 'not from the source');
    const [entry] = await verify();
    expect(entry!.ok).toBe(false);
    expect(entry!.findings).toEqual([
      'storage/exports/archive-0.bin: size 3145728 ≠ 10',
      expect.stringMatching(/^storage\/exports\/archive-0\.bin: mtime /),
      expect.stringMatching(/^storage\/images\/2021\/05\/0000016\.jpg: size \d+ ≠ 8$/),
      expect.stringMatching(/^storage\/images\/2021\/05\/0000016\.jpg: mtime /),
      'storage/images/latest.jpg: missing on the target (symlink)',
      'storage/images/new.jpg: mode 644 ≠ 600',
      'storage/stray.txt: on the target only (not on the source)',
    ]);
    await pass(); // the next pass repairs it
    expect((await verify()).every((e) => e.ok)).toBe(true);
  });

  it('a changed first name of a hard-link group takes its other names along (new inode on the target)', async () => {
    await appendFile(join(src, 'storage/images/2021/01/0000000.jpg'), 'edited through one name');
    await pass();
    const a = await lstat(join(dst, 'storage/images/2021/01/0000000.jpg'));
    const b = await lstat(join(dst, 'storage/images/first-hardlink.jpg'));
    expect(b.ino).toBe(a.ino);
    expect((await readFile(join(dst, 'storage/images/first-hardlink.jpg'), 'utf8')).endsWith('edited through one name')).toBe(true);
    expect((await verify()).every((e) => e.ok)).toBe(true);
  });

  it('refuses a target without room before copying anything', async () => {
    const tiny = join(dir, 'tiny');
    await mkdir(tiny);
    const { execFileSync } = await import('node:child_process');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', tiny]);
    try {
      await copyToBind({ sourceRoot: src, manifest: join(art, 'manifest.ndjson'), targetRoot: tiny, owner, normalize: 'none', concurrency: 2, progressFile: join(dir, 'p2.json') });
      throw new Error('expected a refusal');
    } catch (e) {
      expect(isFerryError(e) && e.code).toBe('E_FILES_NO_SPACE');
      expect((e as Error).message).toMatch(/^target .*tiny has 1\.0 MiB free, the copy needs \d+\.\d MiB more$/);
    } finally {
      const { readdir } = await import('node:fs/promises');
      expect(await readdir(tiny)).toEqual([]);
      execFileSync('umount', [tiny]);
    }
  });
});

describe('normalize: "nfc"', () => {
  it('writes NFC names on the target, hard links included, and verifies against the manifest\'s target names', async () => {
    const nsrc = join(dir, 'nfc-src'), ndst = join(dir, 'nfc-dst'), nart = join(dir, 'nfc-art');
    await mkdir(join(nsrc, 'Cafe\u0301'), { recursive: true });
    await writeFile(join(nsrc, 'Cafe\u0301', 'menu.jpg'), 'menu');
    const { link } = await import('node:fs/promises');
    await link(join(nsrc, 'Cafe\u0301', 'menu.jpg'), join(nsrc, 'Cafe\u0301', 'zz-same.jpg'));
    const r = await exportTree({ storeId: 's', root: nsrc, artifactDir: nart, normalize: 'nfc', concurrency: 2 });
    await copyToBind({ sourceRoot: nsrc, manifest: r.manifest, targetRoot: ndst, owner, normalize: 'nfc', concurrency: 2, progressFile: join(dir, 'p3.json') });
    const a = await lstat(join(ndst, 'Caf\u00e9', 'menu.jpg'));
    expect((await lstat(join(ndst, 'Caf\u00e9', 'zz-same.jpg'))).ino).toBe(a.ino);
    const report = await compareManifests(byTargetPath(r.manifest, 'nfc', nart), targetManifest({ kind: 'bind', root: ndst }), { owner, normalize: 'nfc' });
    expect(report.flatMap((e) => e.findings ?? [])).toEqual([]);
  });
});

describe('waitQuiet: a tree is quiet when a scan shows no change for the window', () => {
  it('waits out a write, then reports quiet', async () => {
    let n = 0;
    const r = await waitQuiet({ root: src, windowMs: 10, budgetMs: 10_000, clock: { now: () => 0, sleep: async () => { if (n++ === 0) await writeFile(join(src, 'storage/images/late.jpg'), 'late'); } } });
    expect(r.scans).toBe(3);
  });
  it('gives up after its budget, saying how to get quiet', async () => {
    let t = 0;
    const err = await waitQuiet({ root: src, windowMs: 10, budgetMs: 30, clock: { now: () => t, sleep: async () => { t += 10; await writeFile(join(src, 'storage/images/busy.jpg'), String(t)); } } }).catch((e: unknown) => e);
    expect(isFerryError(err) && err.code).toBe('E_FILES_NOT_QUIET');
    expect((err as Error).message).toContain('kept changing: no quiet window of 10 ms within 30 ms');
  });
});

describe('waitQuiet by ctime: one scan proves a window that has already passed', () => {
  const tree = async (name: string) => {
    const root = join(dir, name);
    await mkdir(join(root, 'a/b'), { recursive: true });
    for (let i = 0; i < 20; i++) await writeFile(join(root, 'a/b', `${i}.jpg`), `img ${i}`);
    return root;
  };
  it('a tree unchanged for longer than the window: quiet at once, from one ctime scan and no other walk', async () => {
    const root = await tree('ctime-still');
    await new Promise((r) => setTimeout(r, 300));
    const r = await waitQuiet({ root, windowMs: 200, budgetMs: 10_000, stampDir: join(dir, 'ctime-state-1') });
    expect(r).toMatchObject({ proof: 'ctime', scans: 1 });
    expect(r.fingerprint).toBeUndefined(); // prove-quiet records the source's fingerprint (sourceState)
    const byScans = await waitQuiet({ root, windowMs: 10, budgetMs: 10_000 });
    expect(byScans.proof).toBe('scans');
    expect(byScans.fingerprint).toMatch(/[0-9a-f]{64}$/);
  });
  it('a change inside the window (a file written, one removed, one renamed): quiet only once a whole window has passed since the newest change', async () => {
    const root = await tree('ctime-moving');
    await writeFile(join(root, 'a/b/new.jpg'), 'fresh');
    await unlink(join(root, 'a/b/3.jpg'));
    await rename(join(root, 'a/b/4.jpg'), join(root, 'a/b/4-renamed.jpg'));
    const last = Math.max(...(await Promise.all(['a/b', 'a/b/new.jpg', 'a/b/4-renamed.jpg'].map(async (x) => (await lstat(join(root, x))).ctimeMs))));
    const r = await waitQuiet({ root, windowMs: 400, budgetMs: 10_000, stampDir: join(dir, 'ctime-state-2') });
    expect(r.proof).toBe('ctime');
    expect(r.scans).toBeGreaterThanOrEqual(2);
    expect(Date.parse(r.quietAt) - last).toBeGreaterThanOrEqual(400);
  });
  it('a state directory inside the tree (its reference file would be a change of its own): the two-scan proof', async () => {
    const root = await tree('ctime-own-state');
    await new Promise((r) => setTimeout(r, 50));
    const r = await waitQuiet({ root, windowMs: 50, budgetMs: 10_000, stampDir: join(root, '.ferry-state') });
    expect(r.proof).toBe('scans');
  });
  it('a writer that never stops: refused after the budget, saying how to get quiet', async () => {
    const root = await tree('ctime-busy');
    let n = 0;
    const writer = setInterval(() => { void writeFile(join(root, 'a/b/busy.jpg'), String(n++)); }, 40);
    try {
      const err = await waitQuiet({ root, windowMs: 300, budgetMs: 1_000, stampDir: join(dir, 'ctime-state-3') }).catch((e: unknown) => e);
      expect(isFerryError(err) && err.code).toBe('E_FILES_NOT_QUIET');
      expect((err as Error).message).toContain('kept changing: no quiet window of 300 ms within 1000 ms');
    } finally { clearInterval(writer); }
  });
});

describe('a copy stopped midway, then run again', () => {
  it('keeps what it copied, sends only the rest, and ends with every file hashed from a read of its own', async () => {
    const ksrc = join(dir, 'kill-src'), kdst = join(dir, 'kill-dst'), kart = join(dir, 'kill-art');
    await mkdir(ksrc);
    await generateTree(ksrc, 0.2, { largeBytes: 1 << 20, specials: false });
    const r = await exportTree({ storeId: 'k', root: ksrc, artifactDir: kart, normalize: 'none', concurrency: 2 });
    const stop = new AbortController();
    const first = await copyToBind({
      sourceRoot: ksrc, manifest: r.manifest, targetRoot: kdst, owner, normalize: 'none', concurrency: 2, progressFile: join(dir, 'pk.json'), signal: stop.signal,
      onProgress: (d) => { if (d.files >= 60) stop.abort(); },
    }).catch((e: unknown) => e);
    expect((first as Error).name).toBe('AbortError');
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(kart)).toContain('hashes.ndjson.part'); // the stopped run's hash log, kept for the next
    const second = await copyToBind({ sourceRoot: ksrc, manifest: r.manifest, targetRoot: kdst, owner, normalize: 'none', concurrency: 2, progressFile: join(dir, 'pk.json') });
    expect(second.copied).toBeGreaterThan(0);
    expect(second.copied).toBeLessThan(r.report.files - 50);
    expect((await readdir(kart)).sort()).toEqual(['ctime-scan.json', 'ctime-stamp', 'hashes.ndjson', 'manifest.ndjson', 'manifest.ndjson.base.json', 'scan.json']);
    const { readHashedManifest } = await import('../../../../lib/engines/files/hashes.ts');
    let files = 0;
    for await (const e of readHashedManifest(r.manifest, kart)) if (e.type === 'file') { files++; expect(e.sha256).toMatch(/^[0-9a-f]{64}$/); }
    expect(files).toBe(r.report.files);
    const report = await compareManifests(byTargetPath(r.manifest, 'none', kart), targetManifest({ kind: 'bind', root: kdst }), { owner });
    expect(report.flatMap((e) => e.findings ?? [])).toEqual([]);
  });
});
