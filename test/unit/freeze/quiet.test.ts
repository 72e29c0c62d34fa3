import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { proveQuiet, runCommand, compareSnapshots, type SourceSnapshot } from '../../../lib/freeze/index.ts';
import stopWriters, { startWriters, writersStopped } from '../../../lib/steps/stop-writers.ts';
import { silentLogger } from '../../../lib/core/logger.ts';
import { noProgress } from '../../../lib/core/progress.ts';
import type { Config } from '../../../lib/config/schema.ts';
import { isFerryError } from '../../../lib/core/errors.ts';

/** A fake clock: `sleep` advances it. */
function clock() {
  let t = 0;
  return { now: () => t, sleep: async (ms: number) => { t += ms; } };
}

describe('proveQuiet', () => {
  it('returns once the samples stay identical for the quiet period', async () => {
    const c = clock();
    const seq = ['a', 'b', 'c', 'c', 'c', 'c', 'c', 'c', 'c', 'c'];
    let i = 0;
    const got = await proveQuiet({ seconds: 2, intervalMs: 500, clock: c, sample: async () => ({ mysql: seq[Math.min(i++, seq.length - 1)]! }) });
    expect(got).toEqual({ mysql: 'c' });
    // changes at samples 1 and 2 (t=500, t=1000); quiet from t=1000 until t=3000
    expect(c.now()).toBe(3000);
  });

  it('gives up after its budget naming what kept changing', async () => {
    const c = clock();
    let n = 0;
    const err = await proveQuiet({ seconds: 3, timeoutMs: 10_000, intervalMs: 500, clock: c, sample: async () => ({ mysql: 'same', redis: String(n++) }) }).catch((e: unknown) => e);
    expect(isFerryError(err) && err.code).toBe('E_SOURCE_NOT_QUIET');
    expect((err as Error).message).toContain('for 10s');
    expect((err as Error).message).toContain('redis');
    expect((err as Error).message).not.toContain('mysql');
  });

  it('stops when aborted', async () => {
    const c = clock();
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(proveQuiet({ seconds: 5, clock: c, signal: ac.signal, sample: async () => ({ x: '1' }) })).rejects.toThrow('stop');
  });
});

describe('the writers: stop-writers and startWriters', () => {
  const config = (dir: string, stop: string[], start: string[]) => ({ stateDir: dir, freeze: { stopWriters: stop, startWriters: start, quietSeconds: 0 } }) as unknown as Config;
  const params = (c: Config) => ({ config: c, ctx: {} as never, signal: new AbortController().signal, log: silentLogger, progress: noProgress, previous: undefined, outputs: new Map(), stateDir: c.stateDir });

  it('starts nothing (and succeeds) when this run stopped nothing, twice', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-freeze-'));
    expect(await startWriters(config(dir, [], ['false']), dir)).toEqual([]);
    expect(await startWriters(config(dir, [], ['false']), dir)).toEqual([]);
  });

  it('records that it stopped the writers before running the command; startWriters runs the start commands once, then forgets', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-freeze-'));
    const stopped = join(dir, 'stopped');
    const started = join(dir, 'started');
    const c = config(dir, [`touch ${stopped}`], [`touch ${started}`]);
    expect((await stopWriters.run(params(c)))?.data).toEqual({ stopped: [`touch ${stopped}`] });
    await expect(readFile(stopped, 'utf8')).resolves.toBe('');
    expect(await writersStopped(dir)).toBe(true);
    expect(await startWriters(c, dir)).toEqual([`touch ${started}`]);
    await expect(readFile(started, 'utf8')).resolves.toBe('');
    expect(await writersStopped(dir)).toBe(false);
    expect(await startWriters(config(dir, [], ['false']), dir)).toEqual([]);
  });

  it('names a failing stop command and still leaves the intent to start the writers again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-freeze-'));
    const err = await stopWriters.run(params(config(dir, ['false'], []))).catch((e: unknown) => e);
    expect(isFerryError(err) && err.code).toBe('E_FREEZE_COMMAND');
    expect(await writersStopped(dir)).toBe(true);
  });

  it('runs writer commands without a shell (split on spaces) and returns their output as data', async () => {
    const r = await runCommand('echo a ; $HOME');
    expect(r).toEqual({ command: 'echo a ; $HOME', exitCode: 0, output: 'a ; $HOME' });
    expect((await runCommand('false')).exitCode).toBe(1);
  });
});

describe('compareSnapshots', () => {
  const snap = (over: Partial<SourceSnapshot> = {}): SourceSnapshot => ({
    takenAt: 't', mysql: { tables: { 'v.users': { rows: 2, checksum: '11' } }, objects: 'o' },
    redis: { 0: { keys: 5, volatile: 2, digest: 'ab'.repeat(32) } }, ...over,
  });

  it('finds nothing between equal snapshots, and ignores volatile key counts', () => {
    expect(compareSnapshots(snap(), snap({ redis: { 0: { keys: 4, volatile: 1, digest: 'ab'.repeat(32) } } }))).toEqual([]);
  });

  it('names changed tables, objects and redis dbs', () => {
    const d = compareSnapshots(snap(), snap({
      mysql: { tables: { 'v.users': { rows: 3, checksum: '12' }, 'v.new': { rows: 0, checksum: '0' } }, objects: 'p' },
      redis: { 0: { keys: 6, volatile: 2, digest: 'cd'.repeat(32) } },
    }));
    expect(d).toEqual([
      'mysql table v.users: 2 rows (checksum 11) before, 3 rows (checksum 12) now',
      'mysql table v.new did not exist before the migration',
      'mysql views, triggers, routines or events changed',
      'redis db 0: 3 persistent keys (digest abababababab) before, 4 (digest cdcdcdcdcdcd) now',
    ]);
  });
});
