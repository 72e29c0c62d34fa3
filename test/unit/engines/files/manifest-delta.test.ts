/**
 * The manifest as a base and a delta (manifest-delta.ts): every reader sees the base merged with its
 * delta; the final pass's binary-search reads (a directory's children, a removed subtree) agree with a
 * plain filter of that view; a delta of another base is ignored; the engine's final pass writes a delta
 * (the base untouched), its fingerprint is what a walk of the tree sums, and a large change compacts;
 * the manifest file the export step journaled stays byte for byte as the export wrote it throughout (the
 * copy's hashes, a compaction and a final pass's whole walk go to a base beside it).
 */
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DELTA_SUFFIX, entryToLine, readManifest, writeManifest, type ManifestEntry } from '../../../../lib/engines/files/manifest.ts';
import { baseFileOf, baseUnhashed, BASE_SUFFIX, DELTA_MIN, ManifestView, SortedLines, writeBase, writeDelta } from '../../../../lib/engines/files/manifest-delta.ts';
import { comparePaths } from '../../../../lib/engines/files/paths.ts';
import { filesEngine } from '../../../../lib/engines/files/engine.ts';
import { MANIFEST_FILE, SCAN_FILE, treeFingerprint } from '../../../../lib/engines/files/export.ts';
import type { EngineParams } from '../../../../lib/core/engine.ts';
import type { FilesOptions } from '../../../../lib/engines/files/options.ts';
import { bindParams } from './bind-params.ts';

let dir = '';
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-delta-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

const entry = (path: Buffer, type: ManifestEntry['type'], n: number): ManifestEntry => ({ path, type, size: type === 'file' ? n : 0, mode: 0o644, mtimeMs: 1_700_000_000_000 + n, uid: 1, gid: 1, ...(type === 'file' ? { sha256: n.toString(16).padStart(64, '0') } : {}) });

/** A tree with awkward names (sorting around '/', '.', escapes, a non-UTF-8 name) in tree order. */
function tree(): ManifestEntry[] {
  const out: ManifestEntry[] = [];
  let n = 0;
  const names = ['a', 'a.b', 'a-b', 'b', 'q"uote', 'back\\slash', 'é', 'z'];
  for (const d of names) {
    out.push(entry(Buffer.from(d), 'dir', n++));
    for (const s of names.slice(0, 4)) {
      out.push(entry(Buffer.from(`${d}/${s}`), 'dir', n++));
      for (let i = 0; i < 12; i++) out.push(entry(Buffer.from(`${d}/${s}/f${i}.jpg`), 'file', n++));
    }
    for (let i = 0; i < 5; i++) out.push(entry(Buffer.from(`${d}/top${i}`), 'file', n++));
  }
  out.push(entry(Buffer.from([0x6e, 0xff, 0x6e]), 'file', n++)); // not UTF-8: base64 in the manifest
  out.push(entry(Buffer.from('top.txt'), 'file', n++));
  return out.sort((x, y) => comparePaths(x.path, y.path));
}

async function all(file: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of readManifest(file, 4096)) out.push(entryToLine(e));
  return out;
}
const key = (e: ManifestEntry) => e.path.toString('latin1');

describe('a manifest with a delta', () => {
  it('a directory\'s children skip a subdirectory\'s subtree by its type, whatever its name holds (quotes, a name spelling the type field)', async () => {
    const m = join(dir, 'manifest.ndjson');
    const es = [entry(Buffer.from('d'), 'dir', 1), entry(Buffer.from('d/a","t":"d'), 'file', 2), entry(Buffer.from('d/b","t":"f'), 'dir', 3), entry(Buffer.from('d/b","t":"f/in'), 'file', 4), entry(Buffer.from('d/c'), 'file', 5)];
    await writeBase(m, (async function* () { yield* es; })());
    const v = new ManifestView(m);
    try {
      expect(v.childLines(Buffer.from('d')).map((c) => c.path.toString())).toEqual(['d/a","t":"d', 'd/b","t":"f', 'd/c']);
      expect(v.lineAt(Buffer.from('d/b","t":"f'))).toBe(entryToLine(es[2]!));
      expect(v.lineAt(Buffer.from('d/none'))).toBeUndefined();
    } finally { v.close(); }
  });

  it('reads merged for every reader, and the binary-search reads agree with the merged view', async () => {
    const m = join(dir, 'manifest.ndjson');
    const base = tree();
    await writeBase(m, (async function* () { yield* base; })());
    expect(baseUnhashed(m)).toBe(0);
    // Changes: a replaced file, removals (a file, a subtree), new entries before, between and after.
    const view = new Map(base.map((e) => [key(e), e]));
    const delta = new Map<string, { path: Buffer; line: string | undefined }>();
    const set = (e: ManifestEntry) => { view.set(key(e), e); delta.set(key(e), { path: e.path, line: entryToLine(e) }); };
    const drop = (p: string) => { view.delete(p); delta.set(p, { path: Buffer.from(p, 'latin1'), line: undefined }); };
    set({ ...base.find((e) => key(e) === 'b/a.b/f3.jpg')!, size: 999, sha256: 'f'.repeat(64) });
    drop('a/a/f0.jpg');
    for (const e of base) if (key(e).startsWith('z/a-b/') || key(e) === 'z/a-b') drop(key(e));
    set(entry(Buffer.from('0first'), 'file', 5000));
    set(entry(Buffer.from('a/a/f0.jpg.new'), 'file', 5001));
    set(entry(Buffer.from('é/new'), 'dir', 5002));
    set(entry(Buffer.from('é/new/x'), 'file', 5003));
    set(entry(Buffer.from('zz'), 'file', 5004));
    await writeDelta(m, [...delta.values()].sort((x, y) => comparePaths(x.path, y.path)));
    const want = [...view.values()].sort((x, y) => comparePaths(x.path, y.path));
    expect(await all(m)).toEqual(want.map(entryToLine));

    const v = new ManifestView(m);
    try {
      const dirs = [Buffer.alloc(0), ...want.filter((e) => e.type === 'dir').map((e) => e.path), Buffer.from('z/a-b')];
      for (const d of dirs) {
        const under = (p: Buffer) => d.length === 0 || (p.length > d.length && p[d.length] === 0x2f && p.subarray(0, d.length).equals(d));
        const kids = want.filter((e) => under(e.path) && !e.path.subarray(d.length ? d.length + 1 : 0).includes(0x2f));
        expect(v.children(d).map(entryToLine), `children of ${d.toString('latin1')}`).toEqual(kids.map(entryToLine));
        // The lines as held (the scope's part of the manifest is cut from them, not parsed).
        expect(v.childLines(d).map((c) => c.line), `child lines of ${d.toString('latin1')}`).toEqual(kids.map(entryToLine));
        expect(v.subtree(d).map(entryToLine), `subtree of ${d.toString('latin1')}`).toEqual(want.filter((e) => under(e.path)).map(entryToLine));
      }
    } finally { v.close(); }

    // Every line found by binary search, at any line's path and between them.
    const s = new SortedLines(m);
    try {
      const text = await readFile(m, 'utf8');
      const starts = [0];
      for (let i = text.indexOf('\n'); i >= 0 && i + 1 < text.length; i = text.indexOf('\n', i + 1)) starts.push(Buffer.byteLength(text.slice(0, i + 1)));
      base.forEach((e, i) => expect(s.lowerBound(e.path)).toBe(starts[i]));
      expect(s.lowerBound(Buffer.from([0xff]))).toBe(s.size);
      expect(s.lowerBound(Buffer.from(''))).toBe(0);
    } finally { s.close(); }

    // A base written anew (another inode) ignores the delta left beside it.
    await writeManifest(m, (async function* () { yield* base; })());
    expect(await all(m)).toEqual(base.map(entryToLine));
    expect(baseUnhashed(m)).toBeUndefined(); // its record names the base before
  });
});

const params = (): EngineParams<FilesOptions> => bindParams(dir);

/** `dirs` directories of `files` files under `root` (`<d>/<i><ext>`), each holding `content(d, i)`. */
async function writeTree(root: string, dirs: number, files: number, ext: string, content: (d: number, i: number) => string): Promise<void> {
  for (let d = 0; d < dirs; d++) {
    await mkdir(join(root, String(d)), { recursive: true });
    for (let i = 0; i < files; i++) await writeFile(join(root, `${d}/${i}${ext}`), content(d, i));
  }
}

/** The tree under `dir`/src exported, copied and followed; the export step's manifest file and its sha256 then. */
async function copiedAndFollowed(): Promise<{ p: EngineParams<FilesOptions>; m: string; exported: string }> {
  const p = params();
  const m = join(p.artifactDir, MANIFEST_FILE);
  await filesEngine.export(p);
  const exported = await sha(m);
  await filesEngine.import(p);
  await filesEngine.follow!(p);
  return { p, m, exported };
}

describe('the final pass writes a delta', () => {
  it('leaves the base as it is, sums the fingerprint a walk sums, verifies, and compacts a large change', async () => {
    const src = join(dir, 'src');
    await writeTree(join(src, 'img'), 5, 20, '.jpg', (d, i) => `image ${d}/${i}`.repeat(20));
    const { p, m, exported } = await copiedAndFollowed();
    expect(baseUnhashed(m)).toBe(0); // the bulk copy folded its hashes into the base
    // ...written beside the manifest file, which stays as the export wrote it (the export step's journaled artifact).
    expect(baseFileOf(m)).not.toBe(m);
    expect(await sha(m)).toBe(exported);
    const base = baseFileOf(m);
    const baseIno = (await lstat(base)).ino;
    const fingerprint = async () => (JSON.parse(await readFile(join(p.artifactDir, SCAN_FILE), 'utf8')) as { fingerprint: string }).fingerprint;

    for (let pass = 0; pass < 3; pass++) {
      await writeFile(join(src, `img/1/new-${pass}.jpg`), `fresh ${pass}`);
      await writeFile(join(src, `img/2/${pass}.jpg`), `rewritten ${pass}`);
      await unlink(join(src, `img/3/${pass}.jpg`));
      await mkdir(join(src, `img/new-${pass}/deep`), { recursive: true });
      await writeFile(join(src, `img/new-${pass}/deep/x.jpg`), 'x');
      const ex = await filesEngine.export(p);
      expect(ex.data).toMatchObject({ scan: 'ctime' });
      expect(baseFileOf(m)).toBe(base);
      expect((await lstat(base)).ino).toBe(baseIno);
      expect((await lstat(m + DELTA_SUFFIX)).size).toBeLessThan(8192);
      expect(await fingerprint()).toBe((await treeFingerprint(src)).fingerprint);
      expect(ex.data.files).toBe((await treeFingerprint(src)).report.files);
      const im = await filesEngine.import(p);
      expect(im.data).toMatchObject({ copied: 3, removed: 1 });
      expect(baseFileOf(m)).toBe(base); // no fold after a scoped pass over a hashed base
      expect((await lstat(base)).ino).toBe(baseIno);
      expect((await filesEngine.verify(p)).ok).toBe(true);
    }
    expect(await sha(m)).toBe(exported);
    // A pass whose delta would outgrow its share: the manifest is written anew, the delta folded in.
    await mkdir(join(src, 'img/many'));
    for (let i = 0; i < DELTA_MIN + 10; i++) await writeFile(join(src, `img/many/${i}`), '');
    await filesEngine.export(p);
    const compacted = baseFileOf(m);
    expect(compacted).not.toBe(base);
    expect(compacted).not.toBe(m);
    await expect(lstat(base)).rejects.toMatchObject({ code: 'ENOENT' }); // the base before is gone
    await expect(lstat(m + DELTA_SUFFIX)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(lstat(m + BASE_SUFFIX)).resolves.toBeDefined();
    expect(await sha(m)).toBe(exported);
    expect(await fingerprint()).toBe((await treeFingerprint(src)).fingerprint);
    await filesEngine.import(p);
    expect((await filesEngine.verify(p)).ok).toBe(true);
    expect(await sha(m)).toBe(exported);
    // One base beside the manifest is left (the import folded the new files' hashes into another).
    expect((await readdir(p.artifactDir)).filter((n) => n.startsWith(`${MANIFEST_FILE}.base-`))).toEqual([baseFileOf(m).slice(p.artifactDir.length + 1)]);
    expect(baseUnhashed(m)).toBe(0);
  });
});

describe('the final pass (catch-up) leaves the export step\'s manifest file as it is', () => {
  it('a narrowed pass and a whole walk write the base beside it; the view is the tree; a kill before the base\'s record keeps the base before', async () => {
    const src = join(dir, 'src');
    await writeTree(join(src, 'up'), 3, 10, '.bin', (d, i) => `file ${d}/${i}`.repeat(30));
    const { p, m, exported } = await copiedAndFollowed();
    const pass = async () => (await filesEngine.catchUp!(p, 120_000) as unknown as { finalPass: { files: number; removed: number } }).finalPass;

    // A narrowed pass (the ctime scan): a delta over the hashed base.
    await writeFile(join(src, 'up/0/new.bin'), 'new');
    await unlink(join(src, 'up/1/0.bin'));
    expect(await pass()).toMatchObject({ files: 1, removed: 1 });
    expect(await sha(m)).toBe(exported);
    expect((await filesEngine.verify(p)).ok).toBe(true);

    // A whole walk (no ctime record, no quick scan to narrow with): written beside, not over the manifest.
    await rm(join(p.artifactDir, 'ctime-scan.json'));
    const scan = JSON.parse(await readFile(join(p.artifactDir, SCAN_FILE), 'utf8')) as Record<string, unknown>;
    delete scan.quick; delete scan.quickDirs;
    await writeFile(join(p.artifactDir, SCAN_FILE), JSON.stringify(scan));
    await writeFile(join(src, 'up/2/3.bin'), 'rewritten, another size');
    await mkdir(join(src, 'up/new'));
    await writeFile(join(src, 'up/new/a.bin'), 'a');
    const before = baseFileOf(m);
    expect(await pass()).toMatchObject({ files: 2, removed: 0 });
    expect(await sha(m)).toBe(exported);
    expect(baseFileOf(m)).not.toBe(before);
    expect(baseFileOf(m)).not.toBe(m);
    const view: string[] = [];
    for await (const e of readManifest(m)) if (e.type === 'file') view.push(e.path.toString());
    expect(view.sort()).toEqual((await treeFiles(src)).sort());
    expect((await filesEngine.verify(p)).ok).toBe(true);
    expect(await pass()).toMatchObject({ files: 0, removed: 0 }); // nothing left to send

    // A base written beside but not yet recorded (a kill between the two) is not read; the next one removes it.
    const now = baseFileOf(m);
    const stray = `${m}.base-killed`;
    await writeFile(stray, 'not a manifest\n');
    expect(baseFileOf(m)).toBe(now);
    await writeBase(m, readManifest(m));
    expect(baseFileOf(m)).not.toBe(now);
    await expect(lstat(stray)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(lstat(now)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await sha(m)).toBe(exported);
    expect((await filesEngine.verify(p)).ok).toBe(true);

    // A new export by the export step (a whole walk) writes the manifest file itself; the base beside no longer applies.
    const beside = baseFileOf(m);
    await rm(join(p.artifactDir, SCAN_FILE));
    await filesEngine.export(p);
    expect(await sha(m)).not.toBe(exported);
    expect(baseFileOf(m)).toBe(m);
    await expect(lstat(beside)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

async function sha(f: string): Promise<string> {
  return createHash('sha256').update(await readFile(f)).digest('hex');
}

async function treeFiles(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(root, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...await treeFiles(root, r)); else out.push(r);
  }
  return out;
}
