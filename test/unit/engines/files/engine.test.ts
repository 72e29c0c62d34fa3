import { describe, expect, it } from 'vitest';
import { filesEngine, type FilesFacts } from '../../../../lib/engines/files/engine.ts';
import { emptyScanReport } from '../../../../lib/engines/files/walk.ts';
import { parseFind, type VolumeStat } from '../../../../lib/engines/files/copy-volume.ts';
import { isFerryError } from '../../../../lib/core/errors.ts';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bindParams } from './bind-params.ts';

const store = (options: Record<string, unknown> = {}) => ({
  id: 'uploads', engine: 'files' as const, source: '/srv/app/uploads', target: { service: 'web', volume: 'app_uploads' }, options: filesEngine.parseOptions(options, 'uploads'),
});

describe('filesEngine.assess: what the scan means before a byte moves', () => {
  const facts = (over: (r: ReturnType<typeof emptyScanReport>) => void, freeBytes?: number): FilesFacts => {
    const scan = emptyScanReport();
    over(scan);
    return { source: '/srv/app/uploads', scan, fingerprint: 'x', target: { kind: 'bind', where: '/stack/uploads', ...(freeBytes !== undefined ? { freeBytes } : {}) } };
  };
  it('blocks on refused entries and a target without room; warns of case collisions and names not in UTF-8', () => {
    const f = facts((s) => {
      s.bytes = 10 << 20;
      s.refused.count = 1; s.refused.items.push('FIFO queue.fifo: not data (a FIFO cannot be copied)');
      s.caseCollisions.count = 1; s.caseCollisions.items.push('A.jpg and a.jpg');
      s.notUtf8.count = 1; s.notUtf8.items.push('caf\\xe9.txt');
      s.nfd.count = 1; s.nfd.items.push('cafe\u0301.jpg');
      s.excluded.count = 3; s.excluded.bytes = 12;
    }, 1 << 20);
    const found = filesEngine.assess(f, store()).map((x) => `${x.severity} ${x.check}`);
    expect(found).toEqual(['blocker files-refused', 'blocker files-target-space', 'warning files-case-collision', 'warning files-not-utf8', 'info files-nfd-name', 'info files-not-data']);
    expect(filesEngine.assess(f, store({ normalize: 'nfc' })).find((x) => x.check === 'files-nfd-name')!.severity).toBe('rewrite');
  });
  it('names the option and the expected form of a bad owner', () => {
    try { filesEngine.parseOptions({ owner: 'www-data' }, 'uploads'); throw new Error('expected a refusal'); } catch (e) {
      expect(isFerryError(e) && e.message).toBe('stores[uploads].options.owner: got "www-data"; expected `uid:gid` in numbers, e.g. `10001:10001`');
    }
  });
});

describe('filesEngine.facts: the target\'s room is read before the target exists', () => {
  it('measures a bind target not made yet where it will be made, so preflight can refuse a tree too big for it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-facts-'));
    try {
      await mkdir(join(dir, 'src'));
      await writeFile(join(dir, 'src', 'a.jpg'), 'x'.repeat(4096));
      const p = bindParams(dir);
      const f = await filesEngine.facts(p);
      expect(f.target).toMatchObject({ kind: 'bind', where: join(dir, 'dst') });
      expect(f.target.freeBytes).toBeGreaterThan(0);
      // What preflight then says of it, with the tree made bigger than the room it read.
      const blocked = filesEngine.assess({ ...f, scan: { ...f.scan, bytes: f.target.freeBytes! + 1 } }, p.store);
      expect(blocked.map((x) => x.check)).toContain('files-target-space');
    } finally { await rm(dir, { recursive: true, force: true }); }
  });
});

describe('parseFind: the volume listing the helper prints', () => {
  it('reads every field, names with spaces and bytes that are not UTF-8, up to the separator record', () => {
    const rec = (...f: Array<string | Buffer>) => Buffer.concat(f.flatMap((x) => [Buffer.from(x as never), Buffer.alloc(1)]));
    const out = Buffer.concat([
      rec('f', '5000', '1700000000.0005000000', '644', '10001', '10001', '12', '2', '0.25', '', 'a dir/big.img'),
      rec('l', '3', '1700000001.2500000000', '777', '0', '0', '13', '1', '1', '../x', Buffer.from([0x66, 0xe9])),
      rec('X'),
      Buffer.from('rest'),
    ]);
    const got: Array<[string, VolumeStat]> = [];
    const end = parseFind(out, 0, (p, s) => got.push([p.toString('latin1'), s]));
    expect(out.subarray(end).toString()).toBe('rest');
    expect(got[0]).toEqual(['a dir/big.img', expect.objectContaining({ type: 'f', size: 5000, mtimeMs: 1700000000000, mode: 0o644, uid: 10001, ino: 12, nlink: 2, sparse: true })]);
    expect(got[1]![0]).toBe('f\u00e9');
    expect(got[1]![1]).toMatchObject({ type: 'l', mtimeMs: 1700000001250, mode: 0o777 });
    expect(got[1]![1].link.toString()).toBe('../x');
  });
});
