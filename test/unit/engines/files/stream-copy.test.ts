/**
 * The first copy streamed from the export's walk (export.ts `stream`, engine.ts streamTarget) on real
 * directories: into a host-directory target that holds nothing yet, the export copies as it walks and the
 * import finds the copy complete; a target holding anything, names normalised, or `copyDuringExport:
 * false` leave the copy to the import; a refusal met mid-walk fails the export and the next run (the same
 * command) completes through the import; a SIGKILL mid-stream resumes to a verified end.
 */
import { spawn } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isFerryError } from '../../../../lib/core/errors.ts';
import { filesEngine } from '../../../../lib/engines/files/engine.ts';
import { Handoff } from '../../../../lib/engines/files/handoff.ts';
import { bindParams } from './bind-params.ts';

let dir = '';
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-stream-copy-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

/** `dirs` × `files` files of ~`bytes` each under src/, a symlink and a hard link among them. */
async function tree(dirs: number, files: number, bytes: number): Promise<void> {
  for (let d = 0; d < dirs; d++) {
    await mkdir(join(dir, 'src', `d${d}`), { recursive: true });
    for (let i = 0; i < files; i++) { const unit = `${d}/${i} `; await writeFile(join(dir, 'src', `d${d}`, `f${i}.jpg`), unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes)); }
  }
  execFileSync('ln', ['-s', 'f0.jpg', join(dir, 'src', 'd0', 'link.jpg')]);
  execFileSync('ln', [join(dir, 'src', 'd0', 'f1.jpg'), join(dir, 'src', 'd0', 'hard.jpg')]);
}

describe('files: the first copy streamed from the export\'s walk', () => {
  it('into an empty host directory: the export copies as it walks, the import finds the copy complete, verify agrees', async () => {
    await tree(8, 150, 3000);
    const p = bindParams(dir);
    const ex = await filesEngine.export(p);
    expect(ex.data.streamed).toMatchObject({ entries: 8 + 8 * 150 + 2, copied: 8 * 150 + 2, bytes: 8 * 150 * 3000, removed: 0 });
    const im = await filesEngine.import(p);
    expect(im.data).toMatchObject({ copied: 0, unchanged: true });
    expect(await readFile(join(dir, 'dst/d3/f7.jpg'), 'utf8')).toBe(await readFile(join(dir, 'src/d3/f7.jpg'), 'utf8'));
    const [a, b] = [await lstat(join(dir, 'dst/d0/f1.jpg')), await lstat(join(dir, 'dst/d0/hard.jpg'))];
    expect(b.ino).toBe(a.ino);
    expect((await lstat(join(dir, 'dst/d0/link.jpg'))).isSymbolicLink()).toBe(true);
    // Directories carry the source's mtime (set after their children were written).
    expect(Math.floor((await lstat(join(dir, 'dst/d5'))).mtimeMs)).toBe(Math.floor((await lstat(join(dir, 'src/d5'))).mtimeMs));
    const v = await filesEngine.verify(p);
    expect(v.entries.flatMap((e) => e.findings ?? [])).toEqual([]);
    expect(v.ok).toBe(true);
    // The same command again: nothing moves.
    expect((await filesEngine.export(p)).data.streamed).toBeUndefined();
    expect((await filesEngine.import(p)).data).toMatchObject({ copied: 0, unchanged: true });
  });

  it('a target holding anything, or copyDuringExport false: the export only writes the manifest, the import copies (and removes the extra)', async () => {
    await tree(2, 20, 100);
    await mkdir(join(dir, 'dst'));
    await writeFile(join(dir, 'dst', 'stray.txt'), 'not the source\'s');
    const p = bindParams(dir);
    expect((await filesEngine.export(p)).data.streamed).toBeUndefined();
    expect(await readdir(join(dir, 'dst'))).toEqual(['stray.txt']);
    expect((await filesEngine.import(p)).data).toMatchObject({ copied: 40 + 2, removed: 1 });
    expect((await filesEngine.verify(p)).ok).toBe(true);

    const q = bindParams(join(dir, 'two'), { copyDuringExport: false });
    await mkdir(join(dir, 'two'));
    await rm(join(dir, 'dst'), { recursive: true });
    execFileSync('cp', ['-a', join(dir, 'src'), join(dir, 'two', 'src')]);
    expect((await filesEngine.export(q)).data.streamed).toBeUndefined();
    await expect(lstat(join(dir, 'two', 'dst'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await filesEngine.import(q)).data).toMatchObject({ copied: 40 + 2 });
    expect((await filesEngine.verify(q)).ok).toBe(true);
  });

  it('an entry refused mid-walk (a FIFO) fails the export by name; once it is gone, the same command completes and verifies', async () => {
    await tree(6, 100, 2000);
    execFileSync('mkfifo', [join(dir, 'src', 'd4', 'pipe')]);
    const p = bindParams(dir);
    const e = await filesEngine.export(p).then(() => undefined, (x: unknown) => x);
    expect(isFerryError(e) && e.code).toBe('E_FILES_NOT_DATA');
    expect(isFerryError(e) && e.message).toContain('d4/pipe');
    await expect(lstat(join(dir, 'artifacts', 'manifest.ndjson'))).rejects.toMatchObject({ code: 'ENOENT' });
    await rm(join(dir, 'src', 'd4', 'pipe'));
    const ex = await filesEngine.export(p);
    // What the failed export copied is on the target: this export leaves the copy to the import.
    expect(ex.data.streamed).toBeUndefined();
    const im = await filesEngine.import(p);
    expect(im.data.skipped as number).toBeGreaterThan(0);
    const v = await filesEngine.verify(p);
    expect(v.entries.flatMap((x) => x.findings ?? [])).toEqual([]);
    expect(v.ok).toBe(true);
  });

  it('SIGKILL mid-stream: the same command again (export, then import) sends the rest and verifies', async () => {
    await tree(10, 200, 8000);
    const p = bindParams(dir);
    const node = fileURLToPath(new URL('../../../../node_modules/.bin/node', import.meta.url));
    const engine = fileURLToPath(new URL('../../../../lib/engines/files/engine.ts', import.meta.url));
    const params = fileURLToPath(new URL('./bind-params.ts', import.meta.url));
    const total = 10 * 200 * 8000;
    // The export in a child that SIGKILLs itself at the progress tick reaching half the bytes.
    const code = `import { filesEngine } from ${JSON.stringify(engine)}; import { bindParams } from ${JSON.stringify(params)};
      const p = { ...bindParams(${JSON.stringify(dir)}), progress: { update(u) { if (u.unit === 'bytes' && u.done >= ${total / 2}) process.kill(process.pid, 'SIGKILL'); } } };
      await filesEngine.export(p);`;
    const signal = await new Promise<string | null>((resolve, reject) => {
      const child = spawn(node, ['--input-type=module', '-e', code], { stdio: ['ignore', 'ignore', 'inherit'] });
      child.on('error', reject);
      child.on('close', (_c, s) => resolve(s));
    });
    expect(signal).toBe('SIGKILL');
    expect((await readdir(join(dir, 'dst'))).length).toBeGreaterThan(0);
    const ex = await filesEngine.export(p);
    expect(ex.data.streamed).toBeUndefined();
    const im = await filesEngine.import(p);
    expect(im.data.bytes as number).toBeLessThan(total);
    expect(im.data.bytes as number).toBeGreaterThan(0);
    const v = await filesEngine.verify(p);
    expect(v.entries.flatMap((x) => x.findings ?? [])).toEqual([]);
    expect(v.ok).toBe(true);
    await expect(lstat(join(dir, 'dst', '.ferry-staging'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('Handoff', () => {
  it('the producer waits while `limit` items wait; the consumer gets them in order', async () => {
    const h = new Handoff<number>(4);
    let pushed = 0;
    const producer = (async () => { for (let i = 0; i < 20; i++) { await h.push(i); pushed++; } h.end(); })();
    await new Promise((r) => setTimeout(r, 20));
    expect(pushed).toBe(3); // the 4th push waits (4 waiting)
    expect(h.waiting).toBe(4);
    const got: number[] = [];
    for await (const x of h) got.push(x);
    await producer;
    expect(got).toEqual([...Array(20).keys()]);
  });

  it('detach: later pushes are dropped, the producer goes on; stop: its next push rejects; end with an error: the consumer throws it', async () => {
    const d = new Handoff<number>(2);
    const run = (async () => { for (let i = 0; i < 10; i++) await d.push(i); return 'done'; })();
    await new Promise((r) => setTimeout(r, 10));
    d.detach();
    expect(await run).toBe('done');
    expect(d.waiting).toBe(0);

    const s = new Handoff<number>(2);
    const boom = new Error('the copy failed');
    const stopped = (async () => { for (let i = 0; i < 10; i++) await s.push(i); })();
    await new Promise((r) => setTimeout(r, 10));
    s.stop(boom);
    await expect(stopped).rejects.toBe(boom);

    const e = new Handoff<number>(8);
    await e.push(1);
    e.end(new Error('the walk stopped'));
    const seen: number[] = [];
    await expect((async () => { for await (const x of e) seen.push(x); })()).rejects.toThrow('the walk stopped');
    expect(seen).toEqual([1]);
  });
});
