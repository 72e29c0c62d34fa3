import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { acquireRunLock, lockPath } from '../../../lib/journal/index.ts';
import { runPlaybook } from '../../../lib/runner/index.ts';
import { Redactor } from '../../../lib/util/redact.ts';

/** A pid that certainly ran and exited on this host. */
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!;

describe('run lock', () => {
  it('holds pid, host and time, refuses a second holder, and is released once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-lock-'));
    const lock = await acquireRunLock(dir, { playbook: 'migrate' });
    expect(JSON.parse(readFileSync(lockPath(dir), 'utf8'))).toMatchObject({ pid: process.pid, host: hostname(), playbook: 'migrate' });
    await expect(acquireRunLock(dir)).rejects.toMatchObject({ code: 'E_LOCKED', message: expect.stringContaining(`pid ${process.pid}`) });
    await lock.release();
    await lock.release();
    expect(existsSync(lockPath(dir))).toBe(false);
    await (await acquireRunLock(dir)).release();
  });

  it('takes over a lock whose pid is dead on this host, without any flag, and says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-lock-'));
    const pid = deadPid();
    writeFileSync(lockPath(dir), JSON.stringify({ pid, host: hostname(), time: '2026-01-01T00:00:00Z' }));
    const broken: string[] = [];
    const lock = await acquireRunLock(dir, { onBreak: (l, why) => broken.push(`${l.pid}:${why}`) });
    expect(broken).toEqual([`${pid}:dead`]);
    expect(JSON.parse(readFileSync(lockPath(dir), 'utf8')).pid).toBe(process.pid);
    await lock.release();
  });

  it('lets exactly one of many runs taking over the same dead lock at once hold it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-lock-'));
    const pid = deadPid();
    writeFileSync(lockPath(dir), JSON.stringify({ pid, host: hostname(), time: '2026-01-01T00:00:00Z' }));
    const broken: string[] = [];
    const tries = await Promise.allSettled(Array.from({ length: 8 }, () => acquireRunLock(dir, { onBreak: (l, why) => broken.push(`${l.pid}:${why}`) })));
    const held = tries.filter((t) => t.status === 'fulfilled');
    expect(held).toHaveLength(1);
    expect(tries.filter((t) => t.status === 'rejected').map((t) => (t as PromiseRejectedResult).reason.code)).toEqual(Array(7).fill('E_LOCKED'));
    expect(broken).toEqual([`${pid}:dead`]);
    expect(existsSync(`${lockPath(dir)}.break`)).toBe(false);
    await (held[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireRunLock>>>).value.release();
    expect(existsSync(lockPath(dir))).toBe(false);
  });

  it('refuses a lock held by a live pid on this host, naming the pid and the flag; the flag forces it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-lock-'));
    const live = process.ppid; // certainly running, and not us
    writeFileSync(lockPath(dir), JSON.stringify({ pid: live, host: hostname(), time: '2026-01-01T00:00:00Z', playbook: 'migrate' }));
    const err = await acquireRunLock(dir).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_LOCKED', message: expect.stringContaining(`pid ${live} on ${hostname()}`), hint: expect.stringContaining('--break-stale-lock') });
    expect(JSON.parse(readFileSync(lockPath(dir), 'utf8')).pid).toBe(live);
    const broken: string[] = [];
    const lock = await acquireRunLock(dir, { breakStale: true, onBreak: (l, why) => broken.push(`${l.pid}:${why}`) });
    expect(broken).toEqual([`${live}:forced`]);
    await lock.release();
  });

  it('the runner logs the takeover of a dead run\'s lock as a warning and runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-lock-'));
    const pid = deadPid();
    writeFileSync(lockPath(dir), JSON.stringify({ pid, host: hostname(), time: '2026-01-01T00:00:00Z' }));
    const logs: string[] = [];
    const r = await runPlaybook({ playbook: { id: 'p', title: 'P', steps: [] }, config: {}, ctx: {}, stateDir: dir, redactor: new Redactor(),
      onEvent: (e) => { if (e.type === 'log') logs.push(`${e.level}: ${e.message}`); } });
    expect(r.status).toBe('ok');
    expect(logs).toEqual([`warn: took over the run lock left by pid ${pid} on ${hostname()} (2026-01-01T00:00:00Z), which no longer runs: resuming from the journal`]);
    expect(existsSync(lockPath(dir))).toBe(false);
  });

  it('makes a second concurrent run fail with E_LOCKED and leave the holder alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-lock-'));
    const held = await acquireRunLock(dir);
    const r = await runPlaybook({ playbook: { id: 'p', title: 'P', steps: [] }, config: {}, ctx: {}, stateDir: dir, redactor: new Redactor() });
    expect(r.status).toBe('failed');
    expect(r.error).toMatchObject({ code: 'E_LOCKED' });
    expect(existsSync(lockPath(dir))).toBe(true);
    await held.release();
  });

  it('sweeps the temp files a killed run left, and only those of dead pids', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-lock-'));
    const dead = deadPid();
    for (const name of [`.journal.p.json.${dead}.0badc0de.tmp`, `.lock.${dead}.0badc0de`, `.journal.p.json.${process.ppid}.0badc0de.tmp`, 'journal.p.json']) writeFileSync(join(dir, name), '');
    const lock = await acquireRunLock(dir);
    expect(readdirSync(dir).sort()).toEqual([`.journal.p.json.${process.ppid}.0badc0de.tmp`, 'journal.p.json', 'lock']);
    await lock.release();
  });

  it('treats another host\'s lock as held unless the operator breaks it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-lock-'));
    writeFileSync(lockPath(dir), JSON.stringify({ pid: 1, host: 'other-mac.local', time: '2026-01-01T00:00:00Z' }));
    await expect(acquireRunLock(dir)).rejects.toMatchObject({ code: 'E_LOCKED', message: expect.stringContaining('other-mac.local'), hint: expect.stringContaining('--break-stale-lock') });
    const lock = await acquireRunLock(dir, { breakStale: true });
    expect(JSON.parse(readFileSync(lockPath(dir), 'utf8')).host).toBe(hostname());
    await lock.release();
  });
});
