import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { proveQuiet, readFreezeState, writeFreezeState, clearFreezeState, liftFreeze, runCommand, compareSnapshots, type SourceSnapshot } from '../../../lib/freeze/index.ts';
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

describe('freeze state and lift', () => {
  it('lifts nothing (and succeeds) when nothing is frozen, twice', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-freeze-'));
    expect(await liftFreeze({ ctx: { source: {} }, stateDir: dir, restartWriters: true, startWriters: ['false'] })).toEqual([]);
    expect(await liftFreeze({ ctx: { source: {} }, stateDir: dir, restartWriters: true, startWriters: ['false'] })).toEqual([]);
  });

  it('restarts the writers only when asked, then forgets the freeze', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-freeze-'));
    const marker = join(dir, 'started');
    await writeFreezeState(dir, { writersStopped: true, mysqlFrozen: false, frozenAt: 'now' });
    const lifted = await liftFreeze({ ctx: { source: {} }, stateDir: dir, restartWriters: true, startWriters: [`touch ${marker}`] });
    expect(lifted).toEqual([`writers started: touch ${marker}`]);
    await expect(readFile(marker, 'utf8')).resolves.toBe('');
    expect(await readFreezeState(dir)).toBeUndefined();
    await writeFreezeState(dir, { writersStopped: true, mysqlFrozen: false, frozenAt: 'now' });
    expect(await liftFreeze({ ctx: { source: {} }, stateDir: dir, restartWriters: false, startWriters: ['false'] })).toEqual([]);
    await clearFreezeState(dir);
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
