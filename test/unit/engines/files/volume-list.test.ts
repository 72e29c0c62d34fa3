import { describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExternalSort } from '../../../../lib/engines/files/external-sort.ts';
import { VolumeListing } from '../../../../lib/engines/files/volume-list.ts';
import { comparePaths } from '../../../../lib/engines/files/paths.ts';
import type { ManifestEntry } from '../../../../lib/engines/files/manifest.ts';

const entry = (p: string | Buffer, extra: Partial<ManifestEntry> = {}): ManifestEntry => ({ path: Buffer.from(p as never), type: 'file', size: 1, mode: 0o644, mtimeMs: 1, uid: 0, gid: 0, ...extra });
const collect = async <T>(it: AsyncIterable<T>) => { const out: T[] = []; for await (const x of it) out.push(x); return out; };

describe('ExternalSort: tree order in bounded runs', () => {
  it('spills runs to disk, merges them into tree order byte for byte, and removes its files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-sort-test-'));
    try {
      const names = ['b', 'a.b', 'a/x', 'a', 'a/x/y', Buffer.from([0x66, 0xe9]), 'z', 'a-b', 'A', 'a/a'];
      const sorter = new ExternalSort({ runSize: 3, tmpDir: dir });
      for (const n of names) await sorter.add(entry(n, { sha256: 'h'.repeat(64) }));
      expect((await readdir(dir)).length).toBe(1); // the spill directory: runs are on disk
      const got = await collect(sorter.sorted());
      const want = names.map((n) => Buffer.from(n as never)).sort(comparePaths);
      expect(got.map((e) => e.path)).toEqual(want);
      expect(got.map((e) => e.path.toString('latin1'))).toEqual(['A', 'a', 'a/a', 'a/x', 'a/x/y', 'a-b', 'a.b', 'b', 'f\u00e9', 'z']);
      expect(got.every((e) => e.sha256 === 'h'.repeat(64))).toBe(true);
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps every entry once when adds are not awaited (a parser adding a chunk\'s records at once)', async () => {
    const sorter = new ExternalSort({ runSize: 3 });
    const names = Array.from({ length: 20 }, (_, i) => `n${String(19 - i).padStart(2, '0')}`);
    for (const n of names) void sorter.add(entry(n));
    expect((await collect(sorter.sorted())).map((e) => e.path.toString())).toEqual([...names].sort());
  });

  it('sorts by another key (target names) when asked', async () => {
    const sorter = new ExternalSort({ runSize: 2, key: (e) => e.targetPath ?? e.path });
    for (const [p, t] of [['x', 'c'], ['y', 'a'], ['z', 'b']] as const) await sorter.add(entry(p, { targetPath: Buffer.from(t) }));
    expect((await collect(sorter.sorted())).map((e) => e.path.toString())).toEqual(['y', 'z', 'x']);
  });
});

describe('VolumeListing: the helper\'s find and sha256sum output, streamed', () => {
  const rec = (...f: Array<string | Buffer>) => Buffer.concat(f.flatMap((x) => [Buffer.from(x as never), Buffer.alloc(1)]));
  const stat = (type: string, path: string, o: { size?: number; ino?: number; nlink?: number; link?: string } = {}) =>
    rec(type, String(o.size ?? 0), '1700000000.0005000000', type === 'l' ? '777' : '644', '10001', '10001', String(o.ino ?? 1), String(o.nlink ?? 1), '1', o.link ?? '', path);
  const sum = (h: string, path: string) => Buffer.from(`${h.repeat(64)}  ./${path}\0`);

  it('parses records cut anywhere, joins hashes by path, names hard links by their first name in tree order', async () => {
    const out = Buffer.concat([
      Buffer.from('123456\n'), // df's free bytes
      stat('f', 'z/second-name', { size: 3, ino: 7, nlink: 2 }), stat('d', 'z'), stat('f', 'a b/c', { size: 5 }), stat('d', 'a b'),
      stat('l', 'a b/link', { link: '../z' }), stat('f', 'a/first', { size: 3, ino: 7, nlink: 2 }), stat('d', 'a'),
      rec('X'),
      sum('1', 'z/second-name'), sum('2', 'a b/c'), sum('1', 'a/first'),
    ]);
    for (const size of [1, 7, 64, out.length]) {
      let avail = NaN;
      const listing = new VolumeListing(undefined, (line) => { avail = Number(line.toString()); });
      await listing.consume((async function* () { for (let i = 0; i < out.length; i += size) yield out.subarray(i, i + size); })());
      const got = await collect(listing.entries());
      expect(avail).toBe(123456);
      expect(got.map((e) => [e.path.toString(), e.type])).toEqual([
        ['a', 'dir'], ['a/first', 'file'], ['a b', 'dir'], ['a b/c', 'file'], ['a b/link', 'symlink'], ['z', 'dir'], ['z/second-name', 'hardlink'],
      ]);
      expect(got[1]).toMatchObject({ size: 3, sha256: '1'.repeat(64), mtimeMs: 1700000000000, mode: 0o644, uid: 10001 });
      expect(got[3]!.sha256).toBe('2'.repeat(64));
      expect(got[4]!.link!.toString()).toBe('../z');
      expect(got[6]!.link!.toString()).toBe('a/first');
      expect(got[6]!.sha256).toBeUndefined();
    }
  });
});
