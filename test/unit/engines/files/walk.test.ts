import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, rm, symlink, writeFile, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateTree } from '../../../../fixtures/files/tree.ts';
import { exportTree, treeFingerprint } from '../../../../lib/engines/files/export.ts';
import { readManifest, type ManifestEntry } from '../../../../lib/engines/files/manifest.ts';
import { readHashedManifest } from '../../../../lib/engines/files/hashes.ts';
import { copyToBind } from '../../../../lib/engines/files/copy-bind.ts';
import { isFerryError } from '../../../../lib/core/errors.ts';
import { createHash } from 'node:crypto';

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-files-walk-')); await chmod(dir, 0o755); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

async function allOf(it: AsyncIterable<ManifestEntry>): Promise<ManifestEntry[]> {
  const out: ManifestEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

async function all(file: string): Promise<ManifestEntry[]> {
  const out: ManifestEntry[] = [];
  for await (const e of readManifest(file)) out.push(e);
  return out;
}

describe('exportTree: the manifest of the generated tree', () => {
  it('lists every entry once, in tree order, unhashed (the copy hashes what it reads), with links, a hard-link group and the sparse file; Finder junk counted out', async () => {
    const src = join(dir, 'gen');
    await mkdir(src);
    const gen = await generateTree(src, 0.05, { largeBytes: 1 << 20 });
    const r = await exportTree({ storeId: 'storage', root: src, artifactDir: join(dir, 'gen-artifacts'), normalize: 'none', concurrency: 4 });
    const entries = await all(r.manifest);
    const paths = entries.map((e) => e.path.toString());
    expect(paths).toEqual([...paths].sort((a, b) => Buffer.compare(Buffer.from(a.replaceAll('/', '\u0001')), Buffer.from(b.replaceAll('/', '\u0001')))));
    const byPath = new Map(entries.map((e) => [e.path.toString(), e]));
    const img = byPath.get('storage/images/2021/01/0000000.jpg')!;
    expect(img.sha256).toBeUndefined();
    expect(byPath.get(gen.specials.symlink!)).toMatchObject({ type: 'symlink' });
    expect(byPath.get(gen.specials.symlink!)!.link!.toString()).toBe('2021/01/0000000.jpg');
    expect(byPath.get(gen.specials.hardlink!)).toMatchObject({ type: 'hardlink' });
    expect(byPath.get(gen.specials.hardlink!)!.link!.toString()).toBe('storage/images/2021/01/0000000.jpg');
    expect(byPath.get(gen.specials.sparse!)).toMatchObject({ type: 'file', sparse: true, size: 32 << 20 });
    expect(byPath.get(gen.specials.nfd!)!.path.equals(Buffer.from('storage/images/cafe\u0301-menu.jpg'))).toBe(true);
    expect(byPath.has(gen.specials.junk!)).toBe(false);
    expect(byPath.has(gen.specials.appleDouble!)).toBe(false);
    expect(r.report.excluded.count).toBe(2);
    expect(r.report.nfd.items).toEqual([gen.specials.nfd]);
    expect(r.report.files).toBe(gen.files - 2); // the two Finder files left out
    expect(r.report.hardlinks).toBe(1);
  });

  it('carries the hashes the copy read of unchanged files into the next manifest; a changed file is hashed by the next copy', async () => {
    const src = join(dir, 'reuse');
    await mkdir(join(src, 'a'), { recursive: true });
    await writeFile(join(src, 'a/1.txt'), 'one');
    await writeFile(join(src, 'a/2.txt'), 'two');
    const art = join(dir, 'reuse-artifacts'), dst = join(dir, 'reuse-dst');
    const copy = (manifest: string) => copyToBind({ sourceRoot: src, manifest, targetRoot: dst, normalize: 'none', concurrency: 2, progressFile: join(dir, 'reuse-progress.json') });
    const sha = (s: string) => createHash('sha256').update(s).digest('hex');
    const hashes = async (m: string) => new Map((await allOf(readHashedManifest(m, art))).map((e) => [e.path.toString(), e.sha256]));
    const first = await exportTree({ storeId: 's', root: src, artifactDir: art, normalize: 'none', concurrency: 2 });
    expect([...(await all(first.manifest))].filter((e) => e.sha256)).toEqual([]);
    await copy(first.manifest);
    expect(await hashes(first.manifest)).toEqual(new Map([['a', undefined], ['a/1.txt', sha('one')], ['a/2.txt', sha('two')]]));
    await writeFile(join(src, 'a/2.txt'), 'TWO, longer');
    const r = await exportTree({ storeId: 's', root: src, artifactDir: art, normalize: 'none', concurrency: 2 });
    const m = new Map((await all(r.manifest)).map((e) => [e.path.toString(), e.sha256]));
    expect([m.get('a/1.txt'), m.get('a/2.txt')]).toEqual([sha('one'), undefined]);
    expect((await copy(r.manifest)).copied).toBe(1);
    expect((await hashes(r.manifest)).get('a/2.txt')).toBe(sha('TWO, longer'));
  });

  it('an unchanged tree keeps its manifest (GNU find\'s stream equal to the last export\'s); a chmod is a change', async () => {
    const src = join(dir, 'quick');
    await mkdir(join(src, 'a'), { recursive: true });
    await writeFile(join(src, 'a/1.txt'), 'one');
    const art = join(dir, 'quick-artifacts');
    // Past the kernel tick of the last write: a first export's scan (run beside its walk) is dropped when an
    // entry's ctime is not before the pass's stamp, and one in the stamp's own tick cannot be told apart.
    await sleep(50);
    const first = await exportTree({ storeId: 's', root: src, artifactDir: art, normalize: 'none', concurrency: 2 });
    const scan = JSON.parse(await readFile(join(art, 'scan.json'), 'utf8')) as { quick?: string };
    expect(scan.quick).toMatch(/^[0-9a-f]{64}$/);
    const ino = (await lstat(first.manifest)).ino;
    const again = await exportTree({ storeId: 's', root: src, artifactDir: art, normalize: 'none', concurrency: 2 });
    expect([again.entries, again.fingerprint, again.report.files, (await lstat(again.manifest)).ino]).toEqual([first.entries, first.fingerprint, 1, ino]);
    await chmod(join(src, 'a/1.txt'), 0o600);
    const changed = await exportTree({ storeId: 's', root: src, artifactDir: art, normalize: 'none', concurrency: 2 });
    expect(changed.fingerprint).not.toBe(first.fingerprint);
    expect((await all(changed.manifest)).find((e) => e.path.toString() === 'a/1.txt')!.mode).toBe(0o600);
  });

  it('writes NFC names into the manifest with normalize: "nfc", keeping the source name', async () => {
    const src = join(dir, 'nfc');
    await mkdir(src);
    await writeFile(join(src, 'cafe\u0301.txt'), 'x');
    const r = await exportTree({ storeId: 's', root: src, artifactDir: join(dir, 'nfc-artifacts'), normalize: 'nfc', concurrency: 1 });
    const [e] = await all(r.manifest);
    expect(e!.path.toString()).toBe('cafe\u0301.txt');
    expect(e!.targetPath!.toString()).toBe('caf\u00e9.txt');
  });

  it('lists case-fold collisions and names that are not UTF-8 before a byte moves', async () => {
    const src = join(dir, 'names');
    await mkdir(src);
    await writeFile(join(src, 'Photo.JPG'), 'a');
    await writeFile(join(src, 'photo.jpg'), 'b');
    await writeFile(Buffer.concat([Buffer.from(src + '/caf'), Buffer.from([0xe9])]), 'c');
    const { report } = await treeFingerprint(src);
    expect(report.caseCollisions.items).toEqual(['Photo.JPG and photo.jpg']);
    expect(report.notUtf8.items).toEqual(['caf\\xe9']);
  });
});

describe('exportTree: refusals name the entry', () => {
  let server: Server | undefined;
  afterAll(() => { server?.close(); });

  const refused = async (root: string): Promise<{ code: string; message: string; detail: string }> => {
    try {
      await exportTree({ storeId: 'uploads', root, artifactDir: join(root, '..', `${root.split('/').pop()}-art`), normalize: 'none', concurrency: 1 });
    } catch (e) {
      if (isFerryError(e)) return { code: e.code, message: e.message, detail: e.detail ?? '' };
      throw e;
    }
    throw new Error('expected a refusal');
  };

  it('a link leading out of the tree', async () => {
    const src = join(dir, 'escape');
    await mkdir(join(src, 'sub'), { recursive: true });
    await symlink('../../outside.txt', join(src, 'sub/link.txt'));
    const r = await refused(src);
    expect(r.code).toBe('E_FILES_LINK_ESCAPES');
    expect(r.message).toContain('symlink sub/link.txt → ../../outside.txt: the link leads out of the tree');
    expect(await readFile(join(dir, 'escape-art/manifest.ndjson')).catch(() => null)).toBeNull();
  });

  it('a FIFO and a socket', async () => {
    const src = join(dir, 'special');
    await mkdir(src);
    execFileSync('mkfifo', [join(src, 'queue.fifo')]);
    server = createServer();
    await new Promise<void>((res) => server!.listen(join(src, 'app.sock'), res));
    const r = await refused(src);
    expect(r.code).toBe('E_FILES_NOT_DATA');
    expect(r.detail).toContain('socket app.sock');
    expect(r.detail).toContain('FIFO queue.fifo');
  });

  it('an unreadable file and directory, with the missing permission (scanned as an unprivileged user)', async () => {
    const src = join(dir, 'perm');
    await mkdir(join(src, 'private'), { recursive: true });
    await writeFile(join(src, 'secret.jpg'), 'x');
    await chmod(join(src, 'secret.jpg'), 0o200);
    await chmod(join(src, 'private'), 0o700);
    await chmod(src, 0o755);
    const lib = fileURLToPath(new URL('../../../../lib/engines/files/export.ts', import.meta.url));
    const code = `import { exportTree } from ${JSON.stringify(lib)};
      try { await exportTree({ storeId: 'uploads', root: ${JSON.stringify(src)}, artifactDir: ${JSON.stringify(join(tmpdir(), `ferry-files-nobody-${process.pid}`))}, normalize: 'none', concurrency: 1 }); console.log('{}'); }
      catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, detail: e.detail })); }`;
    const node = fileURLToPath(new URL('../../../../node_modules/.bin/node', import.meta.url));
    const out = spawnSync(node, ['--input-type=module', '-e', code], { uid: 65534, gid: 65534, encoding: 'utf8', cwd: '/' });
    const r = JSON.parse(out.stdout.trim()) as { code: string; message: string; detail: string };
    expect(r.code).toBe('E_FILES_UNREADABLE');
    expect(r.detail).toContain('directory private: no read and search permission (r-x)');
    expect(r.detail).toContain('file secret.jpg: no read permission (r)');
    expect((await lstat(join(src, 'secret.jpg'))).mode & 0o777).toBe(0o200); // the source is never changed
  });
});
