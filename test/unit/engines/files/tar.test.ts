import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportTree } from '../../../../lib/engines/files/export.ts';
import { readManifest, type ManifestEntry } from '../../../../lib/engines/files/manifest.ts';
import { paxMs, readTar } from '../../../../lib/engines/files/tar-read.ts';
import { tarStream, type TarItem } from '../../../../lib/engines/files/tar-write.ts';
import { compareManifests } from '../../../../lib/engines/files/compare.ts';
import { joinRel } from '../../../../lib/engines/files/paths.ts';

let dir: string;
const long = `${'deep-directory-name-'.repeat(4)}/${'a-very-long-file-name-'.repeat(5)}.jpg`;
const latin1 = Buffer.from([0x66, 0xe9, 0x65, 0x2e, 0x74, 0x78, 0x74]); // "fée.txt" in Latin-1

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-files-tar-'));
  const src = join(dir, 'src');
  await mkdir(join(src, long, '..'), { recursive: true });
  await writeFile(join(src, long), 'long name');
  await writeFile(Buffer.from(`${src}/${latin1.toString('latin1')}`, 'latin1'), 'latin1 name');
  await writeFile(join(src, 'ms.txt'), 'millisecond mtime');
  await utimes(join(src, 'ms.txt'), 1700000000.123, 1700000000.123);
  await symlink(long, join(src, 'to-long'));
});
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

function run(cmd: string, args: string[], input?: AsyncIterable<Buffer>): { stdout: AsyncIterable<Buffer>; done: Promise<number | null> } {
  const c = spawn(cmd, args, { stdio: [input ? 'pipe' : 'ignore', 'pipe', 'inherit'] });
  const done = new Promise<number | null>((res) => c.on('close', res));
  if (input) void pipeline(Readable.from(input), c.stdin!);
  return { stdout: c.stdout as AsyncIterable<Buffer>, done };
}

describe('tar: written for GNU tar, read back from it', () => {
  it('GNU tar extracts what tarStream writes: long and non-UTF-8 names byte for byte, links, owner, millisecond mtime', async () => {
    const r = await exportTree({ storeId: 's', root: join(dir, 'src'), artifactDir: join(dir, 'art'), normalize: 'none', concurrency: 2 });
    const src = Buffer.from(join(dir, 'src'));
    async function* items(): AsyncGenerator<TarItem> {
      for await (const e of readManifest(r.manifest)) yield { entry: e, name: e.path, uid: 10001, gid: 10002, ...(e.type === 'file' ? { from: joinRel(src, e.path) } : {}) };
    }
    const out = join(dir, 'out');
    await mkdir(out);
    const sums = new Map<string, string | undefined>();
    const x = run('tar', ['-x', '-C', out, '--numeric-owner', '-p', '-f', '-'], tarStream(items(), 2, undefined, (it, sha) => { sums.set(it.name.toString('latin1'), sha); }) as AsyncIterable<Buffer>);
    for await (const _ of x.stdout) { /* nothing */ }
    expect(await x.done).toBe(0);
    expect(await readFile(join(out, long), 'utf8')).toBe('long name');
    expect(await readFile(Buffer.from(`${out}/${latin1.toString('latin1')}`, 'latin1'), 'utf8')).toBe('latin1 name');
    expect(await readlink(join(out, 'to-long'))).toBe(long);
    const st = await lstat(join(out, 'ms.txt'));
    expect([st.uid, st.gid, Math.floor(st.mtimeMs)]).toEqual([10001, 10002, 1700000000123]);
    // The hashes tarStream computed from the bytes it archived are the manifest's…
    const hashed: ManifestEntry[] = [];
    for await (const e of readManifest(r.manifest)) hashed.push(e.type === 'file' ? { ...e, sha256: sums.get(e.path.toString('latin1'))! } : e);
    expect(hashed.filter((e) => e.type === 'file' && !/^[0-9a-f]{64}$/.test(e.sha256 ?? ''))).toEqual([]);
    // …and readTar reads GNU tar's own archive of it back to the same manifest.
    const c = run('tar', ['-c', '--format=posix', '--sort=name', '--numeric-owner', '-C', out, '.']);
    const report = await compareManifests((async function* () { yield* hashed; })(), readTar(c.stdout), { owner: { uid: 10001, gid: 10002 } });
    expect(await c.done).toBe(0);
    expect(report.flatMap((e) => e.findings ?? [])).toEqual([]);
    expect(report.every((e) => e.ok)).toBe(true);
  });

  it('paxMs reads pax times without float rounding', () => {
    expect(paxMs('1700000000.1235')).toBe(1700000000123);
    expect(paxMs('1700000000')).toBe(1700000000000);
    expect(paxMs('1700000000.000500000')).toBe(1700000000000);
  });

  it('readTar names a truncated archive', async () => {
    const e: ManifestEntry = { path: Buffer.from('f'), type: 'file', size: 5000, mode: 0o644, mtimeMs: 0, uid: 0, gid: 0 };
    await writeFile(join(dir, 'f5000'), Buffer.alloc(5000, 1));
    const chunks: Buffer[] = [];
    for await (const c of tarStream([{ entry: e, name: e.path, from: Buffer.from(join(dir, 'f5000')), uid: 0, gid: 0 }] as unknown as AsyncIterable<TarItem>)) chunks.push(c);
    const cut = Buffer.concat(chunks).subarray(0, 2048);
    await expect((async () => { for await (const _ of readTar((async function* () { yield cut; })())) { /* read */ } })()).rejects.toThrow('tar stream ends inside a file');
  });

  it('readTar reads its source to the end after the end-of-archive blocks (tar\'s record padding in a later chunk): a helper\'s stdout left unread never closes', async () => {
    const archive = await new Promise<Buffer>((res, rej) => {
      const c = spawn('tar', ['-c', '--format=posix', '-C', join(dir, 'src'), 'ms.txt'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const parts: Buffer[] = [];
      c.stdout.on('data', (d: Buffer) => parts.push(d));
      c.on('close', (code) => (code === 0 ? res(Buffer.concat(parts)) : rej(new Error(`tar exit ${code}`))));
    });
    expect(archive.length).toBe(10240); // one record: header, data, end blocks, padding
    let drained = false;
    async function* source(): AsyncGenerator<Buffer> {
      yield archive.subarray(0, 5 * 512); // pax header, header, data, the end-of-archive blocks
      yield archive.subarray(5 * 512);    // the rest of the record, in a later chunk
      drained = true;
    }
    const names: string[] = [];
    for await (const e of readTar(source())) names.push(e.path.toString());
    expect(names).toEqual(['ms.txt']);
    expect(drained).toBe(true);
  });
});
