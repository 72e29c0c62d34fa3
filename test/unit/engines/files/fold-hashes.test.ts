/**
 * Folding the copy's hash log into the manifest's base line by line (hashes.ts foldedManifestLines) writes
 * the same base, byte for byte, and the same count of files without a hash, as writing readHashedManifest's
 * entries again: over awkward names, lines the log holds as the manifest's plus a hash, lines it does not
 * (a sparse file, a target name, a log written from another export, a path spelled in base64), stale and missing hashes, paths only
 * the log has, and a torn last line.
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BASE_SUFFIX, baseFileOf, entryToLine, HASHES_FILE, writeManifest, type ManifestEntry } from '../../../../lib/engines/files/manifest.ts';
import { writeBase, writeBaseLines } from '../../../../lib/engines/files/manifest-delta.ts';
import { foldedManifestLines, readHashedManifest } from '../../../../lib/engines/files/hashes.ts';
import { comparePaths } from '../../../../lib/engines/files/paths.ts';

let dir = '';
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-fold-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

const hex = (n: number) => n.toString(16).padStart(64, '0');
const file = (path: string | Buffer, n: number, more: Partial<ManifestEntry> = {}): ManifestEntry =>
  ({ path: Buffer.isBuffer(path) ? path : Buffer.from(path), type: 'file', size: n, mode: 0o644, mtimeMs: 1_700_000_000_000 + n, uid: 1, gid: 1, ino: 1000 + n, ...more });
/** A hash log line as HashLog.add writes it: the manifest entry's fields and the hash. */
const logLine = (e: ManifestEntry, sha256: string) => entryToLine({ path: e.path, type: 'file', size: e.size, mode: e.mode, mtimeMs: e.mtimeMs, uid: e.uid, gid: e.gid, sha256, ...(e.ino !== undefined ? { ino: e.ino } : {}) });

describe('the copy\'s hashes folded into the manifest\'s base', () => {
  it('line by line writes what the entry by entry fold writes', async () => {
    const es: ManifestEntry[] = [];
    let n = 1;
    for (const d of ['a', 'a.b', 'q"uote', 'back\\slash', 'é', 'z']) {
      es.push({ path: Buffer.from(d), type: 'dir', size: 0, mode: 0o755, mtimeMs: 1_700_000_000_000, uid: 1, gid: 1 });
      for (let i = 0; i < 40; i++) es.push(file(`${d}/f${i}.jpg`, n++));
    }
    es.push(file(Buffer.from([0x6e, 0xff, 0x6e]), n++)); // not UTF-8: p64
    es.push(file('has-hash', n++, { sha256: hex(7) })); // hashed by the export already
    es.push(file('sparse.img', n++, { sparse: true })); // the log's line lacks `sp`: parsed
    es.push(file('named', n++, { targetPath: Buffer.from('named-nfc') })); // the log's line lacks `n`: parsed
    es.push(file('no-ino', n++, { ino: undefined }));
    es.push({ path: Buffer.from('link'), type: 'symlink', size: 0, mode: 0o777, mtimeMs: 1, uid: 1, gid: 1, link: Buffer.from('a/f0.jpg') });
    es.push({ path: Buffer.from('hard'), type: 'hardlink', size: 3, mode: 0o644, mtimeMs: 1, uid: 1, gid: 1, link: Buffer.from('a/f1.jpg') });
    es.push(file('stale', n++));
    es.push(file('missing', n++));
    es.push(file('moved-mode', n++));
    es.push(file('zz-last', n++));
    es.sort((x, y) => comparePaths(x.path, y.path));
    const log: Array<{ path: Buffer; line: string }> = [];
    for (const e of es) {
      if (e.type !== 'file' || e.sha256 || e.path.toString() === 'missing') continue;
      const h = hex(e.size * 31);
      if (e.path.toString() === 'stale') log.push({ path: e.path, line: logLine({ ...e, size: e.size + 1 }, h) });
      else if (e.path.toString() === 'moved-mode') log.push({ path: e.path, line: logLine({ ...e, mode: 0o600 }, h) }); // a log of another export: the hash still applies (path, size, mtime, inode)
      // The same path written another way (base64): matched by parsing.
      else if (e.path.toString() === 'a/f5.jpg') log.push({ path: e.path, line: logLine(e, h).replace('{"p":"a/f5.jpg"', `{"p64":"${e.path.toString('base64')}"`) });
      else log.push({ path: e.path, line: logLine(e, h) });
    }
    // Paths only the log has: before everything, between, after everything.
    for (const extra of ['0-gone', 'a/f0.jpg.old', 'zzz-gone']) log.push({ path: Buffer.from(extra), line: logLine(file(extra, 999), hex(999)) });
    log.sort((x, y) => comparePaths(x.path, y.path));
    const logText = log.map((l) => l.line).join('\n') + '\n' + logLine(file('zzzz-torn', 5), hex(5)).slice(0, 30);

    const a = join(dir, 'a'), b = join(dir, 'b');
    await mkdir(a);
    await writeManifest(join(a, 'manifest.ndjson'), (async function* () { yield* es; })());
    await writeFile(join(a, HASHES_FILE), logText);
    await cp(a, b, { recursive: true });

    await writeBase(join(a, 'manifest.ndjson'), readHashedManifest(join(a, 'manifest.ndjson'), a));
    const counted = { unhashed: 0 };
    await writeBaseLines(join(b, 'manifest.ndjson'), foldedManifestLines(join(b, 'manifest.ndjson'), b, counted), () => counted.unhashed);

    const want = await readFile(baseFileOf(join(a, 'manifest.ndjson')), 'utf8');
    const got = await readFile(baseFileOf(join(b, 'manifest.ndjson')), 'utf8');
    expect(got).toBe(want);
    expect(counted.unhashed).toBe(2); // stale, missing
    const rec = (d: string) => readFile(join(d, 'manifest.ndjson' + BASE_SUFFIX), 'utf8').then((t) => (JSON.parse(t) as { unhashed: number }).unhashed);
    expect(await rec(b)).toBe(await rec(a));
    // And the fold did fold: every file but those two has its hash, the export's own one kept.
    const lines = got.trim().split('\n').map((l) => JSON.parse(l) as { p?: string; t: string; h?: string });
    expect(lines.filter((l) => l.t === 'f' && !l.h).map((l) => l.p).sort()).toEqual(['missing', 'stale']);
    expect(lines.find((l) => l.p === 'has-hash')?.h).toBe(hex(7));
    expect(lines.find((l) => l.p === 'a/f5.jpg')?.h).toBeDefined();
    expect(lines.find((l) => l.p === 'sparse.img')?.h).toBe(hex(es.find((e) => e.path.toString() === 'sparse.img')!.size * 31));
  });

  it('without a hash log every file stays unhashed, every line as it was', async () => {
    const es = [file('a', 1), file('b', 2, { sha256: hex(2) }), file('c', 3)];
    await writeManifest(join(dir, 'manifest.ndjson'), (async function* () { yield* es; })());
    const before = await readFile(join(dir, 'manifest.ndjson'), 'utf8');
    const counted = { unhashed: 0 };
    const out: string[] = [];
    for await (const block of foldedManifestLines(join(dir, 'manifest.ndjson'), dir, counted)) out.push(block);
    expect(out.join('\n') + '\n').toBe(before);
    expect(counted.unhashed).toBe(2);
  });
});
