/**
 * The files engine on real files and a real Docker engine: Vedfolnir's `storage/` (generated images,
 * NFD name, links, sparse file, Finder junk) into a bind mount, VeoGen's `uploads/` and `outputs/` into
 * named volumes; a stand-in app container (uid 10001) reads and writes them at the mapped container
 * paths; a damaged target is named path by path; a SIGKILL mid-copy resumes to a verified end;
 * rollback --with-data brings back what the app wrote after the cutover; a too-small volume is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, open, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testImages } from '../support/images.ts';
import { testLabels } from '../support/labels.ts';
import { generateTree } from '../../fixtures/files/tree.ts';
import { filesEngine } from '../../lib/engines/files/index.ts';
import { readRangeRecord } from '../../lib/engines/files/copied.ts';
import { baseFileOf } from '../../lib/engines/files/manifest.ts';
import type { FilesOptions } from '../../lib/engines/files/options.ts';
import type { EngineParams, StoreTarget } from '../../lib/core/engine.ts';
import { silentLogger } from '../../lib/core/logger.ts';
import { noProgress } from '../../lib/core/progress.ts';
import { isFerryError } from '../../lib/core/errors.ts';
import { feedThroughFifo, resetVolumeStream, volumeStream } from '../../lib/engines/files/fifo.ts';
import { heldSessionsStarted, releaseHeldSessions } from '../../lib/engines/files/helper.ts';

const APP_USER = '10001:10001';
const labelArgs = () => Object.entries(testLabels()).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
let work: string;
const volumes: string[] = [];

async function createVolume(name: string, opts: string[] = []): Promise<string> {
  const full = `ferry-files-${process.pid}-${name}`;
  await execa('docker', ['volume', 'create', ...labelArgs(), ...opts, full]);
  volumes.push(full);
  return full;
}

function params(id: string, source: string, target: Omit<StoreTarget, 'service'>, options: Record<string, unknown> = {}): EngineParams<FilesOptions> {
  return {
    store: { id, engine: 'files', source, target: { service: 'app', ...target }, options: filesEngine.parseOptions({ owner: APP_USER, helperImage: testImages().redis, ...options }, id) },
    targetUrl: undefined, artifactDir: join(work, 'state', 'artifacts', id), stateDir: join(work, 'state', 'stores', id),
    signal: new AbortController().signal, log: silentLogger, progress: noProgress, redactor: { add() {}, redact: (s: string) => s },
  };
}

/** The stand-in for the app: runs as the design's non-root user with the stack's mounts. */
async function startApp(mounts: Array<{ source: string; target: string }>): Promise<StartedTestContainer> {
  return new GenericContainer(testImages().redis)
    .withLabels(testLabels())
    .withUser(APP_USER)
    .withBindMounts(mounts.map((m) => ({ ...m, mode: 'rw' as const })))
    .withCommand(['sleep', 'infinity'])
    .withWaitStrategy(Wait.forSuccessfulCommand('true')) // the image's health check pings a redis it does not run here
    .start();
}

async function inApp(app: StartedTestContainer, script: string): Promise<string> {
  const r = await app.exec(['sh', '-c', script]);
  if (r.exitCode !== 0) throw new Error(`app stand-in: ${script}: exit ${r.exitCode}: ${r.output}`);
  return r.output;
}

const sha256 = async (p: string) => createHash('sha256').update(await readFile(p)).digest('hex');

/** `fn`'s result and how many files-helper containers the Docker engine started while it ran (its event log; e2e files run one at a time). */
async function helperStarts<T>(fn: () => Promise<T>): Promise<{ value: T; starts: number }> {
  const since = (Date.now() / 1000 - 0.001).toFixed(3);
  const value = await fn();
  const until = (Date.now() / 1000 + 0.001).toFixed(3);
  const out = (await execa('docker', ['events', '--since', since, '--until', until, '--filter', 'type=container', '--filter', 'event=start', '--filter', 'label=ferry.helper=files', '--format', '{{.ID}}'])).stdout;
  return { value, starts: out.split('\n').filter(Boolean).length };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ferry-files-e2e-'));
  await chmod(work, 0o755);
});
afterAll(async () => {
  if (volumes.length) await execa('docker', ['volume', 'rm', '-f', ...volumes]).catch(() => undefined);
  await rm(work, { recursive: true, force: true });
});

describe('Vedfolnir storage/ into a bind mount', { timeout: 300_000 }, () => {
  let src: string, stack: string, app: StartedTestContainer;
  beforeAll(async () => {
    src = join(work, 'vedfolnir', 'storage');
    stack = join(work, 'stack', 'storage');
    await mkdir(src, { recursive: true });
    await mkdir(stack, { recursive: true });
    const g = await generateTree(src, 0.3, { largeBytes: 2 << 20 });
    expect(g.files).toBeGreaterThan(300);
  });
  afterAll(async () => { await app?.stop({ remove: true }); });

  it('exports, copies and verifies; the app reads its images at /app/storage as uid 10001', async () => {
    const p = params('storage', join(src, 'storage'), { hostPath: stack, containerPath: '/app/storage' });
    const facts = await filesEngine.facts(p);
    const findings = filesEngine.assess(facts, p.store);
    expect(findings.filter((f) => f.severity === 'blocker')).toEqual([]);
    expect(findings.map((f) => f.check)).toEqual(expect.arrayContaining(['files-nfd-name', 'files-not-data']));
    const ex = await filesEngine.export(p);
    expect(ex.data).toMatchObject({ excluded: 2, nfdNames: 1, hardlinks: 1, symlinks: 1 });
    // The target directory was empty: the export copied as it walked, and the import finds the copy complete.
    expect(ex.data.streamed).toMatchObject({ skipped: 0, removed: 0 });
    expect(await filesEngine.exported!(p)).toBe(true);
    const im = await filesEngine.import(p);
    expect(im.data).toMatchObject({ copied: 0, unchanged: true });
    const v = await filesEngine.verify(p);
    expect(v.entries.flatMap((e) => e.findings ?? [])).toEqual([]);
    expect(v.entries.map((e) => e.subject)).toEqual(['dir exports/', 'dir images/']);
    expect(v.ok).toBe(true);
    app = await startApp([{ source: stack, target: '/app/storage' }]);
    const out = await inApp(app, 'id -u; sha256sum /app/storage/images/2021/01/0000000.jpg; cat /app/storage/images/latest.jpg | sha256sum; ls /app/storage/images | grep -c menu; echo hi > /app/storage/images/written-by-app.txt');
    const want = await sha256(join(src, 'storage/images/2021/01/0000000.jpg'));
    expect(out.split('\n')[0]).toBe('10001');
    expect(out.match(new RegExp(want, 'g'))?.length).toBe(2);
  });

  it('rollback --with-data brings back what the app wrote after the cutover; the original tree is otherwise untouched', async () => {
    const p = params('storage', join(src, 'storage'), { hostPath: stack, containerPath: '/app/storage' });
    await inApp(app, 'echo changed >> /app/storage/images/2022/02/0000005.jpg; rm /app/storage/images/2023/02/0000006.jpg; mkdir -p /app/storage/images/new && echo fresh > /app/storage/images/new/upload.jpg');
    const before = await sha256(join(src, 'storage/images/2021/01/0000000.jpg'));
    const r = await filesEngine.reverse!(p);
    expect(r.data).toMatchObject({ created: 3, changed: 1, deletedCount: 1, deleted: ['images/2023/02/0000006.jpg'], deletionsApplied: false });
    expect(await readFile(join(src, 'storage/images/written-by-app.txt'), 'utf8')).toBe('hi\n');
    expect(await readFile(join(src, 'storage/images/new/upload.jpg'), 'utf8')).toBe('fresh\n');
    expect((await readFile(join(src, 'storage/images/2022/02/0000005.jpg'), 'utf8')).endsWith('changed\n')).toBe(true);
    expect((await lstat(join(src, 'storage/images/2023/02/0000006.jpg'))).isFile()).toBe(true); // deletions listed, not applied
    expect(await sha256(join(src, 'storage/images/2021/01/0000000.jpg'))).toBe(before);
    const again = await filesEngine.reverse!(p);
    expect(again.data).toMatchObject({ created: 0, changed: 0 });
  });
});

describe('VeoGen uploads/ and outputs/ into named volumes', { timeout: 300_000 }, () => {
  let uploads: string, outputs: string, app: StartedTestContainer;
  const srcU = () => join(work, 'veogen', 'uploads'), srcO = () => join(work, 'veogen', 'outputs');
  const pU = () => params('uploads', srcU(), { volume: uploads, containerPath: '/app/uploads' });
  const pO = () => params('outputs', srcO(), { volume: outputs, containerPath: '/app/outputs' });
  beforeAll(async () => {
    uploads = await createVolume('uploads');
    outputs = await createVolume('outputs');
    await mkdir(srcU(), { recursive: true });
    await mkdir(srcO(), { recursive: true });
    await generateTree(srcU(), 0.2, { largeBytes: 1 << 20 });
    await generateTree(srcO(), 0.05, { largeBytes: 4 << 20, specials: false });
  });
  afterAll(async () => { await app?.stop({ remove: true }); });

  it('copies both trees through the helper and verifies them hashed inside the volume; the app reads them', async () => {
    for (const p of [pU(), pO()]) {
      await filesEngine.export(p);
      await filesEngine.import(p);
      const v = await filesEngine.verify(p);
      expect(v.entries.flatMap((e) => e.findings ?? [])).toEqual([]);
      expect(v.ok).toBe(true);
      expect((await filesEngine.import(p)).data).toMatchObject({ bytes: 0 }); // a re-run sends no file
    }
    app = await startApp([{ source: uploads, target: '/app/uploads' }, { source: outputs, target: '/app/outputs' }]);
    const out = await inApp(app, 'sha256sum /app/uploads/storage/images/2021/01/0000000.jpg /app/outputs/storage/exports/archive-0.bin; stat -c "%u:%g %a %b" /app/uploads/storage/exports/sparse.img; readlink /app/uploads/storage/images/latest.jpg');
    expect(out).toContain(await sha256(join(srcU(), 'storage/images/2021/01/0000000.jpg')));
    expect(out).toContain(await sha256(join(srcO(), 'storage/exports/archive-0.bin')));
    const [owner, mode, blocks] = out.split('\n')[2]!.split(' ');
    expect([owner, mode]).toEqual(['10001:10001', '644']);
    expect(Number(blocks) * 512).toBeLessThan(1 << 20); // 32 MiB, sparse
    expect(out.split('\n')[3]).toBe('2021/01/0000000.jpg');
  });

  it('the next pass sends only what changed; a changed first name takes its hard link along', async () => {
    const { appendFile } = await import('node:fs/promises');
    await appendFile(join(srcU(), 'storage/images/2021/01/0000000.jpg'), 'edited');
    await filesEngine.export(pU());
    const r = await filesEngine.import(pU());
    expect(r.data).toMatchObject({ copied: 1, removed: 0 });
    const out = await inApp(app, 'stat -c %i /app/uploads/storage/images/2021/01/0000000.jpg /app/uploads/storage/images/first-hardlink.jpg; tail -c 6 /app/uploads/storage/images/first-hardlink.jpg');
    const [a, b, tail] = out.split('\n');
    expect(b).toBe(a);
    expect(tail).toBe('edited');
    expect((await filesEngine.verify(pU())).ok).toBe(true);
  });

  it('the final pass into a volume lists and sends only the directories that changed (new, rewritten, deleted, a new subtree)', async () => {
    const { appendFile, unlink } = await import('node:fs/promises');
    const { readScope } = await import('../../lib/engines/files/copied.ts');
    const img = join(srcO(), 'storage/images');
    const [dirA, dirB] = ['2022/02', '2023/03'];
    const inA = (await readdir(join(img, dirA))).sort(), inB = (await readdir(join(img, dirB))).sort();
    await writeFile(join(img, dirA, 'new.jpg'), 'fresh');
    await appendFile(join(img, dirA, inA[0]!), 'edited');
    await unlink(join(img, dirB, inB[0]!));
    await mkdir(join(srcO(), 'renders/2024/q1'), { recursive: true });
    await writeFile(join(srcO(), 'renders/2024/q1/clip.mp4'), 'video');
    await filesEngine.export(pO());
    const scope = await readScope(pO().stateDir);
    // The changed directories and their parents (whose records of them changed), nothing else of the tree.
    expect([...scope!.dirs].sort()).toEqual(['', 'renders', 'renders/2024', 'renders/2024/q1', 'storage/images/2022', `storage/images/${dirA}`, 'storage/images/2023', `storage/images/${dirB}`]);
    const r = await filesEngine.import(pO());
    expect(r.data).toMatchObject({ copied: 3, removed: 1, scopedDirs: 8 });
    const out = await inApp(app, `cat /app/outputs/storage/images/${dirA}/new.jpg /app/outputs/renders/2024/q1/clip.mp4; echo; tail -c 6 /app/outputs/storage/images/${dirA}/${inA[0]}; echo; ls /app/outputs/storage/images/${dirB} | grep -c . ; stat -c %u:%g /app/outputs/renders/2024/q1/clip.mp4`);
    expect(out.split('\n')).toEqual(['freshvideo', 'edited', String(inB.length - 1), '10001:10001', '']);
    // The check after the pass (scoped too) finds nothing left to send; the whole hashed comparison agrees.
    expect((await filesEngine.import(pO())).data).toMatchObject({ copied: 0, removed: 0 });
    const v = await filesEngine.verify(pO());
    expect(v.entries.flatMap((e) => e.findings ?? [])).toEqual([]);
    await rm(join(srcO(), 'renders'), { recursive: true }); // the rollback test below writes renders/ in the stack
    await filesEngine.export(pO());
    // Narrowed: the root listed again (its entry went) and the gone directory, whose subtree goes with it
    // (and any directory changed within the last stamp's tick, read once more).
    expect((await readScope(pO().stateDir))!.dirs).toEqual(expect.arrayContaining(['', 'renders']));
    const gone = (await filesEngine.import(pO())).data;
    expect(gone).toMatchObject({ removed: 1 });
    expect(gone.scopedDirs as number).toBeLessThan(10);
  });

  it('a damaged volume is named path by path, and the next pass repairs it', async () => {
    await inApp(app, 'echo garbage > /app/uploads/storage/images/2021/05/0000016.jpg; rm /app/uploads/storage/images/2022/02/0000005.jpg; chmod 600 /app/uploads/storage/images/2023/02/0000006.jpg; echo stray > /app/uploads/stray.txt');
    const v = await filesEngine.verify(pU());
    expect(v.ok).toBe(false);
    const findings = v.entries.flatMap((e) => e.findings ?? []);
    expect(findings).toEqual(expect.arrayContaining([
      expect.stringMatching(/^storage\/images\/2021\/05\/0000016\.jpg: size \d+ ≠ 8$/),
      'storage/images/2022/02/0000005.jpg: missing on the target (file)',
      'storage/images/2023/02/0000006.jpg: mode 644 ≠ 600',
      'stray.txt: on the target only (not on the source)',
    ]));
    expect(findings.every((f) => /^(storage\/images\/(2021\/05\/0000016|2022\/02\/0000005|2023\/02\/0000006)\.jpg|stray\.txt): /.test(f))).toBe(true);
    const r = await filesEngine.import(pU());
    expect(r.data).toMatchObject({ removed: 1 });
    expect((await filesEngine.verify(pU())).ok).toBe(true);
  });

  it('rollback --with-data: new and changed files back to the host, the deletion listed (applied when asked)', async () => {
    await inApp(app, 'mkdir -p /app/outputs/renders && echo video > /app/outputs/renders/clip.mp4 && echo more >> /app/outputs/storage/exports/archive-0.bin && rm /app/outputs/storage/images/2021/01/0000000.jpg');
    const listed = await filesEngine.reverse!(pO());
    expect(listed.data).toMatchObject({ created: 2, changed: 1, deletedCount: 1, deleted: ['storage/images/2021/01/0000000.jpg'], deletionsApplied: false });
    expect(await readFile(join(srcO(), 'renders/clip.mp4'), 'utf8')).toBe('video\n');
    expect((await readFile(join(srcO(), 'storage/exports/archive-0.bin'))).subarray(-5).toString()).toBe('more\n');
    expect((await lstat(join(srcO(), 'storage/images/2021/01/0000000.jpg'))).isFile()).toBe(true);
    const applied = await filesEngine.reverse!(params('outputs', srcO(), { volume: outputs }, { applyDeletions: true }));
    expect(applied.data).toMatchObject({ created: 0, changed: 0, deletionsApplied: true });
    await expect(lstat(join(srcO(), 'storage/images/2021/01/0000000.jpg'))).rejects.toThrow(/ENOENT/);
  });

  it('the stream is a FIFO where the engine runs on this kernel; FERRY_VOLUME_STREAM=stdin sends it on the helpers\' stdin, verified alike; a helper that never opens its FIFO is given up, named, its container removed', async () => {
    resetVolumeStream();
    expect(await volumeStream()).toBe('fifo'); // the test bed's engine: this kernel, this host
    const vol = await createVolume('by-stdin');
    const p = params('uploads-stdin', srcU(), { volume: vol, containerPath: '/app/uploads' });
    process.env.FERRY_VOLUME_STREAM = 'stdin';
    try {
      const facts = await filesEngine.facts(p);
      expect(facts.target.stream).toBe('stdin');
      expect(filesEngine.assess(facts, p.store).filter((f) => f.check === 'files-volume-stream').map((f) => f.severity)).toEqual(['info']);
      await filesEngine.export(p);
      const im = await helperStarts(() => filesEngine.import(p));
      expect(Number(im.value.data.copied)).toBeGreaterThan(100);
      expect(im.starts).toBeGreaterThan(1); // no session container: one per helper (the listing, the tar stream, …)
      const v = await filesEngine.verify(p);
      expect(v.entries.flatMap((e) => e.findings ?? [])).toEqual([]);
      expect(v.ok).toBe(true);
      expect((await filesEngine.import(p)).data).toMatchObject({ bytes: 0 });
    } finally {
      delete process.env.FERRY_VOLUME_STREAM;
    }
    // The backstop: a helper that does not open the FIFO (here it sleeps; on an engine in a VM it would wait on a pipe of its own).
    const started = Date.now();
    const err = await feedThroughFifo({
      h: { image: testImages().redis, volume: vol, labels: testLabels() }, dir: join(work, 'never-opened'), script: () => 'exec sleep 300',
      input: (async function* () { yield Buffer.alloc(4096, 1); })(), what: 'write a stream nobody reads', openTimeoutMs: 3000,
    }).then(() => undefined, (e: unknown) => e);
    expect(isFerryError(err) && err.code).toBe('E_FILES_HELPER');
    expect((err as Error).message).toContain(`on volume ${vol} did not open its stream`);
    expect(isFerryError(err) && err.hint).toContain('FERRY_VOLUME_STREAM=stdin');
    expect(Date.now() - started).toBeLessThan(120_000);
    expect((await execa('docker', ['ps', '-aq', '--filter', `volume=${vol}`])).stdout).toBe('');
  });

  it('following: the final pass\'s helper container starts after the pinned verify, before the freeze; the pass inside it starts none; it is kept past the pass until released', async () => {
    const vol = await createVolume('held');
    const p = params('uploads-held', srcU(), { volume: vol, containerPath: '/app/uploads' });
    const running = async () => (await execa('docker', ['ps', '-q', '--filter', 'label=ferry.helper=files', '--filter', `volume=${vol}`])).stdout.trim();
    await filesEngine.export(p);
    await filesEngine.import(p);
    await filesEngine.follow!(p);
    expect((await filesEngine.verifyPinned!(p)).ok).toBe(true);
    for (let i = 0; i < 300 && !await running(); i++) await new Promise((r) => setTimeout(r, 100)); // started in the background
    expect(await running()).not.toBe('');
    const added = join(srcU(), 'storage/images/held-new.jpg');
    await writeFile(added, 'written before the freeze');
    try {
      const pass = await helperStarts(() => filesEngine.catchUp!(p, 60_000) as unknown as Promise<{ finalPass: { files: number } }>);
      expect(pass.value.finalPass.files).toBe(1);
      expect(pass.starts).toBe(0);
      // Kept past the pass (its end would load the engine inside the freeze): released, it is gone.
      expect(await running()).not.toBe('');
      await releaseHeldSessions();
      expect(await running()).toBe('');
      const v = await filesEngine.verify(p);
      expect(v.entries.flatMap((e) => e.findings ?? [])).toEqual([]);
      expect(v.ok).toBe(true);
    } finally {
      await rm(added, { force: true });
    }
  });

  it('a held helper container released before its stack is removed (a rehearsal stopped before the final pass) leaves the volume removable at once', async () => {
    const vol = await createVolume('held-released');
    const p = params('outputs-held', srcO(), { volume: vol, containerPath: '/app/outputs' });
    await filesEngine.export(p);
    await filesEngine.import(p);
    await filesEngine.follow!(p);
    await filesEngine.verifyPinned!(p);
    await heldSessionsStarted();
    expect((await execa('docker', ['ps', '-q', '--filter', 'label=ferry.helper=files', '--filter', `volume=${vol}`])).stdout.trim()).not.toBe('');
    await releaseHeldSessions();
    await execa('docker', ['volume', 'rm', vol]); // throws "volume is in use" while any container holds it
    volumes.splice(volumes.indexOf(vol), 1);
  });

  it('a volume too small is refused before a byte moves', async () => {
    const tiny = await createVolume('tiny', ['--driver', 'local', '--opt', 'type=tmpfs', '--opt', 'device=tmpfs', '--opt', 'o=size=1m']);
    const p = params('uploads-tiny', srcU(), { volume: tiny });
    await filesEngine.export(p);
    const err = await filesEngine.import(p).catch((e: unknown) => e);
    expect(isFerryError(err) && err.code).toBe('E_FILES_NO_SPACE');
    expect((err as Error).message).toMatch(new RegExp(`^volume ${tiny} has 1\\.0 MiB free, the copy needs \\d+\\.\\d MiB more$`));
    const { stdout } = await execa('docker', ['run', '--rm', '-v', `${tiny}:/dst`, testImages().redis, 'sh', '-c', 'ls -A /dst | wc -l']);
    expect(stdout.trim()).toBe('0');
  });
});

describe('a first copy into a volume over several tars side by side', { timeout: 300_000 }, () => {
  it('directories first, the files dealt over the tars, then links and directories again: every mode, owner and mtime as one tar leaves them; a re-run sends nothing', async () => {
    const { LANES } = await import('../../lib/engines/files/copy-volume.ts');
    const src = join(work, 'lanes-src');
    await mkdir(src);
    await generateTree(src, 0.3, { largeBytes: 2 << 20 });
    // A read-only directory and one with an old mtime: the files written into them must not leave their marks.
    await mkdir(join(src, 'storage/locked/inner'), { recursive: true });
    await writeFile(join(src, 'storage/locked/inner/a.jpg'), randomBytes(5000));
    await writeFile(join(src, 'storage/locked/b.jpg'), randomBytes(3000));
    const { utimes } = await import('node:fs/promises');
    await utimes(join(src, 'storage/locked/inner'), new Date('2020-02-03T04:05:06.789Z'), new Date('2020-02-03T04:05:06.789Z'));
    await chmod(join(src, 'storage/locked'), 0o555);
    const vol = await createVolume('lanes');
    const p = params('lanes', src, { volume: vol }, { copyDuringExport: false });
    const saved = { ...LANES };
    Object.assign(LANES, { parts: 3, minEntries: 1 });
    try {
      await filesEngine.export(p);
      const r = await filesEngine.import(p);
      expect(r.data).toMatchObject({ tarStreams: 3, removed: 0 });
      expect(r.data.copied as number).toBeGreaterThan(300);
      const v = await filesEngine.verify(p);
      expect(v.entries.flatMap((e) => e.findings ?? [])).toEqual([]);
      expect(v.ok).toBe(true);
      expect((await filesEngine.import(p)).data).toMatchObject({ bytes: 0 });
    } finally {
      Object.assign(LANES, saved);
    }
    // Every directory's mode, owner and mtime (to the millisecond), the hard link one inode with its first name.
    const inVolume = (script: string) => execa('docker', ['run', '--rm', '--network', 'none', ...labelArgs(), '-v', `${vol}:/dst`, testImages().redis, 'sh', '-c', script]);
    const listed = (await inVolume("cd /dst && find . -mindepth 1 -type d -printf '%P\\t%m\\t%U:%G\\t%T@\\n'")).stdout.split('\n').filter(Boolean);
    const want: string[] = [];
    const walk = async (rel: string): Promise<void> => {
      for (const d of await readdir(join(src, rel), { withFileTypes: true })) {
        if (!d.isDirectory()) continue;
        const path = rel ? `${rel}/${d.name}` : d.name;
        const st = await lstat(join(src, path));
        want.push(`${path}\t${(st.mode & 0o7777).toString(8)}\t${APP_USER}\t${Math.floor(st.mtimeMs)}`);
        await walk(path);
      }
    };
    await walk('');
    // %T@ is seconds with a fraction: its milliseconds read off the digits (no float rounding).
    const got = listed.map((l) => { const [path, mode, owner, t] = l.split('\t'); const [sec, frac = ''] = t!.split('.'); return `${path}\t${mode}\t${owner}\t${Number(sec) * 1000 + Number(frac.padEnd(3, '0').slice(0, 3))}`; }).sort();
    expect(got).toEqual(want.sort());
    expect(got).toContain(`storage/locked\t555\t${APP_USER}\t${Math.floor((await lstat(join(src, 'storage/locked'))).mtimeMs)}`);
    expect(got).toContain(`storage/locked/inner\t755\t${APP_USER}\t${Date.parse('2020-02-03T04:05:06.789Z')}`);
    const [a, b] = (await inVolume('stat -c %i /dst/storage/images/2021/01/0000000.jpg /dst/storage/images/first-hardlink.jpg')).stdout.split('\n');
    expect(b).toBe(a);
    await chmod(join(src, 'storage/locked'), 0o755);
  });

  it('a tar of one lane that fails mid-stream ends the copy at once with the helper\'s error (its stderr, not EPIPE); the other lane stops, no container is left', async () => {
    const { feedThroughFifos } = await import('../../lib/engines/files/fifo.ts');
    const vol = await createVolume('lane-fails');
    const many = async function* () { for (let i = 0; i < 4096; i++) yield Buffer.alloc(64 << 10, i & 0xff); };
    const started = Date.now();
    const err = await feedThroughFifos({
      h: { image: testImages().redis, volume: vol, labels: testLabels() }, dir: join(work, 'lane-fails'), what: 'write two streams', openTimeoutMs: 100_000,
      phases: [[many(), many()]],
      // Lane 0 reads slowly, to the end of its stream; lane 1's reader stops after 200 kB and exits 3 (a tar that failed).
      script: (f) => `{ (while [ "$(dd bs=64k count=1 status=none | wc -c)" -gt 0 ]; do sleep 0.01; done) < ${f[0]![0]!} & p0=$!; { head -c 200000 > /dev/null; echo lane 1 gave up >&2; exit 3; } < ${f[0]![1]!} & p1=$!; r=0; wait $p0 || r=1; wait $p1 || r=1; [ $r = 0 ]; }`,
    }).then(() => undefined, (e: unknown) => e);
    expect(isFerryError(err) && err.code).toBe('E_FILES_HELPER');
    expect(isFerryError(err) && err.detail).toContain('lane 1 gave up');
    expect(Date.now() - started).toBeLessThan(30_000); // lane 0's 256 MB would take ~40 s at its pace
    expect((await execa('docker', ['ps', '-aq', '--filter', `volume=${vol}`])).stdout).toBe('');
  });
});

describe('owner and volume from the compose file', { timeout: 300_000 }, () => {
  it('a volume named as in the compose file lands in <project>_<name>, owned by the service\'s user: resolved in its image', async () => {
    const project = `ferry-files-${process.pid}`;
    const volume = `${project}_appdata`;
    await execa('docker', ['volume', 'create', ...labelArgs(), volume]);
    volumes.push(volume);
    const image = testImages().redis; // Debian's redis-server package made a `redis` user in it
    const want = (await execa('docker', ['run', '--rm', '--network', 'none', ...labelArgs(), '--entrypoint', 'sh', image, '-c', 'id -u redis; id -g redis'])).stdout.split('\n').map(Number);
    const yaml = `services:\n  app:\n    image: ${image}\n    user: redis\n    volumes:\n    - appdata:/app/data:rw\nvolumes:\n  appdata: {}\n`;
    const src = join(work, 'compose-owner');
    await mkdir(join(src, 'a/b'), { recursive: true });
    await writeFile(join(src, 'a/b/one.txt'), 'one');
    await writeFile(join(src, 'top.txt'), 'top');
    const base = params('compose-owner', src, { volume: 'appdata', containerPath: '/app/data' });
    const { owner: _, ...options } = base.store.options;
    const p: EngineParams<FilesOptions> = {
      ...base, store: { ...base.store, options: options as FilesOptions },
      service: { stop: async () => {}, start: async () => {}, composeView: async () => ({ project, yaml }) },
    };
    expect((await filesEngine.facts(p)).target.where).toBe(volume);
    await filesEngine.export(p);
    await filesEngine.import(p);
    const v = await filesEngine.verify(p);
    expect(v.entries.flatMap((e) => e.findings ?? [])).toEqual([]);
    const { stdout } = await execa('docker', ['run', '--rm', '--network', 'none', ...labelArgs(), '-v', `${volume}:/d:ro`, image, 'sh', '-c', 'stat -c "%u:%g %n" /d /d/a /d/a/b /d/a/b/one.txt /d/top.txt']);
    expect(stdout.split('\n').map((l) => l.split(' ')[0])).toEqual(Array(5).fill(`${want[0]}:${want[1]}`));
    // A user the image does not know is refused by name, with what to do.
    const bad = { ...p, service: { ...p.service!, composeView: async () => ({ project, yaml: yaml.replace('user: redis', 'user: nobody-here') }) } };
    const err = await filesEngine.import(bad).catch((e: unknown) => e);
    expect(isFerryError(err) && err.code).toBe('E_FILES_TARGET');
    expect((err as Error).message).toBe(`cannot resolve user "nobody-here" in image ${image}`);
    expect(isFerryError(err) && err.hint).toMatch(/options\.owner/);
  });
});

describe('SIGKILL mid-copy, then the same command again', { timeout: 300_000 }, () => {
  const node = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
  const engine = fileURLToPath(new URL('../../lib/engines/files/index.ts', import.meta.url));
  let src: string;
  beforeAll(async () => {
    src = join(work, 'kill-src');
    await mkdir(src);
    await generateTree(src, 1, { largeBytes: 4 << 20 });
  });

  /**
   * Import in a child process; resolves with its result, or with killed once it SIGKILLed itself at the progress
   * tick reaching `killAtBytes` (there, not a pipe's delay later in which the rest of the tree may be copied).
   */
  function importChild(p: EngineParams<FilesOptions>, killAtBytes?: number): Promise<{ killed: boolean; result?: Record<string, unknown> }> {
    const code = `import { filesEngine } from ${JSON.stringify(engine)};
      const store = ${JSON.stringify({ ...p.store })};
      const killAt = ${JSON.stringify(killAtBytes ?? null)};
      const r = await filesEngine.import({ store, targetUrl: undefined, artifactDir: ${JSON.stringify(p.artifactDir)}, stateDir: ${JSON.stringify(p.stateDir)},
        signal: new AbortController().signal, log: { debug() {}, info() {}, warn() {}, error() {}, child() { return this; } },
        progress: { update(u) { if (killAt !== null && u.done >= killAt) process.kill(process.pid, 'SIGKILL'); } }, redactor: { add() {}, redact: (s) => s } });
      console.log(JSON.stringify({ result: r.data }));`;
    return new Promise((resolve, reject) => {
      const child = spawn(node, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      child.on('error', reject);
      child.on('close', (code, signal) => {
        if (signal === 'SIGKILL') { resolve({ killed: true }); return; }
        if (code !== 0) { reject(new Error(`import child exited ${code}`)); return; }
        resolve({ killed: false, result: (JSON.parse(out.trim().split('\n').pop()!) as { result: Record<string, unknown> }).result });
      });
    });
  }

  it.each(['bind', 'volume'] as const)('%s: a killed copy resumes, sends less than the whole tree, and verifies', async (kind) => {
    const target = kind === 'bind' ? { hostPath: join(work, 'kill-dst') } : { volume: await createVolume('kill') };
    // The import's copy is the one killed here (the export's streamed copy: test/unit/engines/files/stream-copy.test.ts).
    const p = params(`kill-${kind}`, src, target, { copyDuringExport: false });
    const ex = await filesEngine.export(p);
    const total = ex.data.bytes as number;
    const first = await importChild(p, Math.floor(total * 0.5)); // bytes generated: the target is a few MiB behind
    expect(first.killed).toBe(true);
    if (kind === 'bind') expect((await readdir(join(work, 'kill-dst'))).length).toBeGreaterThan(0);
    const second = await importChild(p);
    expect(second.result).toBeDefined();
    expect(second.result!.bytes as number).toBeLessThan(total);
    expect(second.result!.bytes as number).toBeGreaterThan(0);
    const v = await filesEngine.verify(p);
    expect(v.entries.flatMap((e) => e.findings ?? [])).toEqual([]);
    expect(v.ok).toBe(true);
    if (kind === 'bind') await expect(lstat(join(work, 'kill-dst', '.ferry-staging'))).rejects.toThrow(/ENOENT/);
    await writeFile(join(work, `kill-${kind}.done`), '');
  });
});

describe('large files in ranges: SIGKILL inside them, then the same command again', { timeout: 300_000 }, () => {
  const node = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
  const engine = fileURLToPath(new URL('../../lib/engines/files/index.ts', import.meta.url));
  const MiB = 1 << 20;

  /** Import in a child process that SIGKILLs itself once `killAtBytes` are copied and recorded (exactly there, not a pipe's delay later). */
  function importChild(p: EngineParams<FilesOptions>, killAtBytes?: number): Promise<{ signal: string | null; result?: Record<string, unknown> }> {
    const code = `import { filesEngine } from ${JSON.stringify(engine)};
      const store = ${JSON.stringify({ ...p.store })};
      const killAt = ${JSON.stringify(killAtBytes ?? null)};
      const r = await filesEngine.import({ store, targetUrl: undefined, artifactDir: ${JSON.stringify(p.artifactDir)}, stateDir: ${JSON.stringify(p.stateDir)},
        signal: new AbortController().signal, log: { debug() {}, info() {}, warn() {}, error() {}, child() { return this; } },
        progress: { update(u) { if (killAt !== null && u.done >= killAt) process.kill(process.pid, 'SIGKILL'); } }, redactor: { add() {}, redact: (s) => s } });
      console.log(JSON.stringify({ result: r.data }));`;
    return new Promise((resolve, reject) => {
      const child = spawn(node, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      child.on('error', reject);
      child.on('close', (code, signal) => {
        if (signal === 'SIGKILL') { resolve({ signal }); return; }
        if (code !== 0) { reject(new Error(`import child exited ${code}`)); return; }
        resolve({ signal, result: (JSON.parse(out.trim().split('\n').pop()!) as { result: Record<string, unknown> }).result });
      });
    });
  }

  it('a 40 MiB file and a 40 MiB sparse one in 2 MiB ranges: killed mid-file, the resumed run copies only the ranges not recorded; byte-exact, sparse, verified', async () => {
    const src = join(work, 'ranges-src'), dst = join(work, 'ranges-dst');
    await mkdir(join(src, 'media'), { recursive: true });
    const big = randomBytes(40 * MiB);
    await writeFile(join(src, 'media/big.bin'), big, { mode: 0o640 });
    const fh = await open(join(src, 'media/holes.img'), 'w');
    try { for (const at of [3 * MiB + 100, 17 * MiB, 31 * MiB - 5]) await fh.write(randomBytes(64 << 10), 0, 64 << 10, at); await fh.truncate(40 * MiB); } finally { await fh.close(); }
    await writeFile(join(src, 'media/small.txt'), 'small');
    const p = params('ranges-bind', src, { hostPath: dst }, { largeFileMiB: 8, rangeMiB: 2, copyDuringExport: false });
    await filesEngine.export(p);

    const first = await importChild(p, 12 * MiB);
    expect(first.signal).toBe('SIGKILL');
    // What the killed run left: a record per large file in flight, its partial in the target's staging directory.
    const recDir = join(p.stateDir, 'ranges');
    const keys = (await readdir(recDir)).filter((f) => /^[0-9a-f]+\.json$/.test(f)).map((f) => f.slice(0, -'.json'.length));
    const records = await Promise.all(keys.map((k) => readRangeRecord(p.stateDir, k)));
    const recorded = records.reduce((n, r) => n + Object.keys(r!.done).length, 0);
    expect(recorded).toBeGreaterThanOrEqual(6); // 12 MiB reported = 6 ranges recorded before the kill
    expect(recorded).toBeLessThan(40);
    expect((await readdir(join(dst, '.ferry-staging', 'ranges'))).length).toBeGreaterThanOrEqual(records.length);
    await expect(lstat(join(dst, 'media/big.bin'))).rejects.toThrow(/ENOENT/); // never a half file under its name

    const second = await importChild(p);
    expect(second.result!.ranged).toEqual({ files: 2, ranges: 40, copied: 40 - recorded, kept: recorded });
    expect(second.result!.bytes as number).toBeLessThanOrEqual((40 - recorded) * 2 * MiB + 5);
    expect((await readFile(join(dst, 'media/big.bin'))).equals(big)).toBe(true);
    expect(await sha256(join(dst, 'media/holes.img'))).toBe(await sha256(join(src, 'media/holes.img')));
    const holes = await lstat(join(dst, 'media/holes.img'));
    expect([holes.size, holes.blocks * 512 <= 1 * MiB, holes.uid]).toEqual([40 * MiB, true, 10001]);
    const v = await filesEngine.verify(p);
    expect(v.entries.flatMap((e) => e.findings ?? [])).toEqual([]);
    expect(v.ok).toBe(true);
    await expect(lstat(join(dst, '.ferry-staging'))).rejects.toThrow(/ENOENT/);
    await expect(lstat(recDir)).rejects.toThrow(/ENOENT/);

    // A damaged range on the target is named by verify (the whole file's sha256).
    const dmg = await open(join(dst, 'media/big.bin'), 'r+');
    try { await dmg.write(Buffer.from('damage'), 0, 6, 21 * MiB); } finally { await dmg.close(); }
    const bad = await filesEngine.verify(p);
    expect(bad.ok).toBe(false);
    expect(JSON.stringify(bad.entries.flatMap((e) => e.findings ?? []))).toMatch(/media\/big\.bin/);

    // Clearing the target after a killed copy takes the partials and their records along.
    await writeFile(join(src, 'media/big.bin'), randomBytes(40 * MiB), { mode: 0o640 });
    await filesEngine.export(p);
    expect((await importChild(p, 4 * MiB)).signal).toBe('SIGKILL');
    expect((await readdir(join(dst, '.ferry-staging', 'ranges'))).length).toBeGreaterThan(0);
    await filesEngine.clearTarget!(p);
    expect(await readdir(dst)).toEqual([]);
    await expect(lstat(recDir)).rejects.toThrow(/ENOENT/);
  });

  it('volume: a file SIGKILLed mid-stream is resumed after its intact leading ranges (a damaged one and those after it sent again); verified inside the volume', async () => {
    const src = join(work, 'ranges-vsrc');
    await mkdir(join(src, 'media'), { recursive: true });
    await writeFile(join(src, 'media/big.bin'), randomBytes(40 * MiB), { mode: 0o640 });
    await writeFile(join(src, 'media/small.txt'), 'small');
    const vol = await createVolume('ranges');
    const p = params('ranges-volume', src, { volume: vol }, { largeFileMiB: 8, rangeMiB: 2 });
    await filesEngine.export(p);
    // Killed once big.bin is in the stream: its last read is still in ferry's buffer, so tar leaves it cut.
    expect((await importChild(p, 40 * MiB)).signal).toBe('SIGKILL');
    const inVolume = (script: string) => execa('docker', ['run', '--rm', '--network', 'none', ...labelArgs(), '-v', `${vol}:/dst`, testImages().redis, 'sh', '-c', script]);
    const cut = Number((await inVolume('stat -c %s /dst/media/big.bin')).stdout);
    expect(cut).toBeGreaterThanOrEqual(8 * MiB);
    expect(cut).toBeLessThan(40 * MiB);
    // Range 3 damaged on the volume: ranges 0-2 are kept, the rest is sent.
    await inVolume(`printf XXXX | dd of=/dst/media/big.bin bs=1 seek=${3 * 2 * MiB + 1000} conv=notrunc status=none`);
    const second = await importChild(p);
    expect(second.result!.ranged).toEqual({ files: 1, ranges: 20, copied: 17, kept: 3 });
    expect(second.result!.bytes).toBe(40 * MiB - 3 * 2 * MiB + 5);
    const v = await filesEngine.verify(p);
    expect(v.entries.flatMap((e) => e.findings ?? [])).toEqual([]);
    expect(v.ok).toBe(true);
    expect((await inVolume('stat -c "%s %u:%g %a" /dst/media/big.bin; sha256sum < /dst/media/big.bin | cut -c1-64')).stdout.split('\n'))
      .toEqual([`${40 * MiB} 10001:10001 640`, await sha256(join(src, 'media/big.bin'))]);
    // Whole but with another mtime (as a kill after its last byte leaves it): named by verify, then every range kept, nothing sent.
    await inVolume('touch -d @1600000000 /dst/media/big.bin');
    expect((await filesEngine.verify(p)).ok).toBe(false);
    const third = await importChild(p);
    expect(third.result).toMatchObject({ bytes: 0, ranged: { files: 1, ranges: 20, copied: 0, kept: 20 } });
    expect((await filesEngine.verify(p)).ok).toBe(true);
  });
});

describe('the delta and final passes scan only what changed since the last pass (ctime)', { timeout: 300_000 }, () => {
  /** A small tree: 3 directories of 10 files each. */
  async function tree(src: string): Promise<void> {
    for (const d of ['img/01', 'img/02', 'docs']) {
      await mkdir(join(src, d), { recursive: true });
      for (let i = 0; i < 10; i++) await writeFile(join(src, d, `${i}.jpg`), `${d} ${i} ${'x'.repeat(i * 100)}`);
    }
    await new Promise((r) => setTimeout(r, 30)); // older than the first pass's stamp by a kernel tick
  }

  it.each(['bind', 'volume'] as const)('%s: a rewrite keeping size and mtime, a chmod, a new file in a new directory, a removal and a rename are caught by the narrowed pass; without a stamp it walks and says so', async (kind) => {
    const { rename, stat, utimes } = await import('node:fs/promises');
    const src = join(work, `ctime-src-${kind}`);
    await tree(src);
    const dst = join(work, `ctime-dst-${kind}`);
    const p = params(`ctime-${kind}`, src, kind === 'bind' ? { hostPath: dst } : { volume: await createVolume(`ctime-${kind}`) });
    expect((await filesEngine.export(p)).data).toMatchObject({ scan: 'walk', fallback: 'no previous manifest' });
    await filesEngine.import(p);
    expect((await filesEngine.verify(p)).ok).toBe(true);
    // Nothing changed: the scan prints nothing, the import has nothing to do.
    expect((await filesEngine.export(p)).data).toMatchObject({ scan: 'ctime', changed: 0 });
    expect((await filesEngine.import(p)).data).toMatchObject({ copied: 0, unchanged: true });

    const a = join(src, 'docs/3.jpg');
    const st = await stat(a);
    const before = await readFile(a);
    await writeFile(a, Buffer.from(before.toString().toUpperCase()));            // same size
    await utimes(a, st.atime, st.mtime);                                          // and the same mtime again
    await chmod(join(src, 'img/01/1.jpg'), 0o600);
    await mkdir(join(src, 'img/03/new'), { recursive: true });
    await writeFile(join(src, 'img/03/new/fresh.jpg'), 'fresh');
    await rm(join(src, 'img/02/2.jpg'));
    await rename(join(src, 'img/02/5.jpg'), join(src, 'img/02/five.jpg'));
    const ex = await filesEngine.export(p);
    expect(ex.data).toMatchObject({ scan: 'ctime', files: 30 });
    expect(ex.data.changed as number).toBeGreaterThanOrEqual(5);
    expect(ex.data.fallback).toBeUndefined();
    const im = await filesEngine.import(p);
    // The rewrite, the new file, the renamed one (a volume re-sends the chmod's file too: tar carries metadata with the bytes); the removed one and the old name.
    expect(im.data).toMatchObject({ copied: kind === 'bind' ? 3 : 4, removed: 2 });
    const v = await filesEngine.verify(p);
    expect(v.entries.flatMap((e) => e.findings ?? [])).toEqual([]);
    expect(v.ok).toBe(true);
    if (kind === 'bind') {
      expect(await sha256(join(dst, 'docs/3.jpg'))).toBe(await sha256(a));
      expect((await lstat(join(dst, 'img/01/1.jpg'))).mode & 0o777).toBe(0o600);
      expect(await readFile(join(dst, 'img/03/new/fresh.jpg'), 'utf8')).toBe('fresh');
      await expect(lstat(join(dst, 'img/02/2.jpg'))).rejects.toThrow(/ENOENT/);
      await expect(lstat(join(dst, 'img/02/5.jpg'))).rejects.toThrow(/ENOENT/);
    }

    // A run without the recorded stamp (a state from before, a resumed run that lost it): the whole scan, named.
    await rm(join(p.artifactDir, 'ctime-scan.json'));
    await writeFile(join(src, 'img/01/0.jpg'), 'changed again');
    const fb = await filesEngine.export(p);
    expect(fb.data.scan).not.toBe('ctime');
    expect(fb.data.fallback).toBe('no ctime stamp recorded by the last pass');
    expect((await filesEngine.import(p)).data).toMatchObject({ copied: 1 });
    expect((await filesEngine.verify(p)).ok).toBe(true);
    // The walk recorded a stamp: the next pass narrows again.
    expect((await filesEngine.export(p)).data).toMatchObject({ scan: 'ctime' });
  });
});

describe('the final pass writes a delta over the manifest: verified, killed and run again, rolled back from the merged view', { timeout: 300_000 }, () => {
  const node = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
  const engine = fileURLToPath(new URL('../../lib/engines/files/index.ts', import.meta.url));

  /** catchUp (the final pass) in a child process that SIGKILLs itself once `killAtBytes` are copied. */
  function finalPassChild(p: EngineParams<FilesOptions>, killAtBytes: number): Promise<string | null> {
    const code = `import { filesEngine } from ${JSON.stringify(engine)};
      const killAt = ${killAtBytes};
      await filesEngine.catchUp({ store: ${JSON.stringify({ ...p.store })}, targetUrl: undefined, artifactDir: ${JSON.stringify(p.artifactDir)}, stateDir: ${JSON.stringify(p.stateDir)},
        signal: new AbortController().signal, log: { debug() {}, info() {}, warn() {}, error() {}, child() { return this; } },
        progress: { update(u) { if (u.unit === 'bytes' && u.done >= killAt) process.kill(process.pid, 'SIGKILL'); } }, redactor: { add() {}, redact: (s) => s } }, 60000);`;
    return (async () => {
      const file = join(work, `final-pass-${process.hrtime.bigint()}.mjs`);
      await writeFile(file, code);
      return new Promise<string | null>((resolve, reject) => {
        const child = spawn(node, [file], { stdio: ['ignore', 'ignore', 'inherit'] });
        child.on('error', reject);
        child.on('close', (_code, signal) => resolve(signal));
      });
    })();
  }

  it.each(['bind', 'volume'] as const)('%s', async (kind) => {
    const src = join(work, `delta-src-${kind}`), dst = join(work, `delta-dst-${kind}`);
    for (const d of ['img/01', 'img/02', 'img/03', 'docs']) {
      await mkdir(join(src, d), { recursive: true });
      for (let i = 0; i < 40; i++) await writeFile(join(src, d, `${i}.jpg`), `${d} ${i} ${'x'.repeat(i * 50)}`);
    }
    await new Promise((r) => setTimeout(r, 30));
    const vol = kind === 'volume' ? await createVolume('delta') : '';
    const p = params(`delta-${kind}`, src, kind === 'bind' ? { hostPath: dst } : { volume: vol });
    const inVolume = (script: string) => execa('docker', ['run', '--rm', '--network', 'none', ...labelArgs(), '-v', `${vol}:/dst`, testImages().redis, 'sh', '-c', script]);
    const manifest = join(p.artifactDir, 'manifest.ndjson');
    await filesEngine.export(p);
    // Into the empty volume the copy's helpers (listing, tar stream) run in one container kept for it.
    expect((await helperStarts(() => filesEngine.import(p))).starts).toBe(kind === 'volume' ? 1 : 0);
    await filesEngine.follow!(p);
    // The manifest file is the export step's journaled artifact: the copy's hashes went into a base beside it.
    const exported = await sha256(manifest);
    const base = baseFileOf(manifest);
    expect(base).not.toBe(manifest);
    const baseIno = (await lstat(base)).ino;

    // Inside the freeze: a new directory of 12 files of 256 KiB, a rewritten file, a removal.
    await mkdir(join(src, 'img/new'));
    for (let i = 0; i < 12; i++) await writeFile(join(src, 'img/new', `${i}.bin`), randomBytes(256 << 10));
    await writeFile(join(src, 'docs/7.jpg'), 'rewritten in the freeze');
    await rm(join(src, 'img/02/3.jpg'));
    // Killed mid-copy (1 MiB of 3 sent): the delta was written, the base is untouched.
    expect(await finalPassChild(p, 1 << 20)).toBe('SIGKILL');
    if (kind === 'volume') {
      // The pass's helper container (docker exec'd into, kept for the pass) ends with the process that held it.
      const helpers = async () => (await execa('docker', ['ps', '-q', '--filter', 'label=ferry.helper=files', '--filter', `volume=${vol}`])).stdout.trim();
      for (let i = 0; i < 600 && await helpers(); i++) await new Promise((r) => setTimeout(r, 100)); // a minute allowed: a busy engine
      expect(await helpers()).toBe('');
    }
    expect(baseFileOf(manifest)).toBe(base);
    expect((await lstat(base)).ino).toBe(baseIno);
    expect(await sha256(manifest)).toBe(exported);
    const delta = await readFile(`${manifest}.delta`, 'utf8');
    expect(delta.split('\n').filter(Boolean).length).toBe(18); // its header, the 14 changed files and the 3 directories whose records moved (of 166 entries)
    expect(delta).toContain('"p":"img/new/11.bin"');
    expect(delta).toContain('"p":"img/02/3.jpg","x":1}');

    // The same command again: the pass resumes, the target equals the frozen tree, hashed file by file.
    const s = await filesEngine.catchUp!(p, 60_000) as unknown as { finalPass: { files: number; removed: number } };
    // What the killed run renamed into place (bind: whole files only) or sent whole (volume: not the cut one) is not sent again.
    if (kind === 'volume') expect(s.finalPass.files).toBeGreaterThan(0);
    expect(s.finalPass.files).toBeLessThanOrEqual(13);
    expect(baseFileOf(manifest)).toBe(base);
    expect((await lstat(base)).ino).toBe(baseIno);
    expect(await sha256(manifest)).toBe(exported);
    const v = await filesEngine.verify(p);
    expect(v.entries.flatMap((e) => e.findings ?? [])).toEqual([]);
    expect(v.ok).toBe(true);
    const got = kind === 'bind' ? await sha256(join(dst, 'img/new/5.bin')) : (await inVolume('sha256sum < /dst/img/new/5.bin | cut -c1-64')).stdout;
    expect(got).toBe(await sha256(join(src, 'img/new/5.bin')));
    // Again with nothing changed (a quiet source inside the freeze): no file sent and no helper container started.
    await new Promise((r) => setTimeout(r, 50)); // past the stamp's kernel tick
    const quiet = await helperStarts(() => filesEngine.catchUp!(p, 60_000) as unknown as Promise<{ finalPass: { files: number; removed: number } }>);
    expect(quiet.value.finalPass).toMatchObject({ files: 0, removed: 0 });
    expect(quiet.starts).toBe(0);

    // After the cutover the app writes a file, rewrites one the final pass brought and deletes one of the bulk copy's:
    // rollback --with-data compares with the merged manifest (the delta's files are not new to it).
    const script = 'cd /dst && echo after > img/01/after.jpg && echo changed >> img/new/2.bin && rm docs/1.jpg';
    if (kind === 'bind') await execa('sh', ['-c', script.replace('/dst', dst)]);
    else await inVolume(script);
    const r = await filesEngine.reverse!(p);
    expect(r.data).toMatchObject({ created: 1, changed: 1, deletedCount: 1, deleted: ['docs/1.jpg'], deletionsApplied: false });
    expect(await readFile(join(src, 'img/01/after.jpg'), 'utf8')).toBe('after\n');
    expect((await readFile(join(src, 'img/new/2.bin'))).subarray(-8).toString()).toBe('changed\n');
  });
});
