/**
 * One playbook per state directory at a time: `<stateDir>/lock` holds pid, host and time. It is
 * created whole (written to a temp file, then hard-linked into place, which fails if it exists), so a
 * crash never leaves an empty lock. A lock whose pid is dead on this host was left by a killed run: it
 * is taken over at once (and reported through `onBreak`), so re-running the same command resumes. A
 * lock held by a live pid, or from another host (a shared state directory, whose pid cannot be checked
 * from here), is broken only when the caller says so (`breakStale`, the `--break-stale-lock` flag).
 */
import { link, mkdir, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FerryError } from '../core/errors.ts';
import { systemClock } from '../util/wait.ts';

export interface LockInfo {
  readonly pid: number;
  readonly host: string;
  readonly time: string;
  /** Tells two acquisitions by one process apart. */
  readonly nonce?: string;
  readonly playbook?: string;
}

export interface RunLock {
  readonly path: string;
  readonly info: LockInfo;
  /** Remove the lock if it is still ours. Safe to call twice. */
  release(): Promise<void>;
}

/** Why a lock was taken over: its pid is dead on this host, or the operator forced it. */
export type LockBreak = 'dead' | 'forced';

export interface RunLockOptions {
  /** Also take over a lock held by a live pid on this host or by another host (the operator knows no run is in progress). */
  readonly breakStale?: boolean;
  readonly playbook?: string;
  /** Told when a lock is taken over, and why. */
  readonly onBreak?: (stale: LockInfo, why: LockBreak) => void;
}

/** Tries at taking the lock (a contended takeover waits 25 ms between two). */
const MAX_ATTEMPTS = 40;

export function lockPath(stateDir: string): string {
  return join(stateDir, 'lock');
}

export async function acquireRunLock(stateDir: string, opts: RunLockOptions = {}): Promise<RunLock> {
  await mkdir(stateDir, { recursive: true });
  const path = lockPath(stateDir);
  const nonce = randomBytes(4).toString('hex');
  const info: LockInfo = { pid: process.pid, host: hostname(), time: new Date().toISOString(), nonce, ...(opts.playbook ? { playbook: opts.playbook } : {}) };
  const tmp = join(stateDir, `.lock.${process.pid}.${nonce}`);
  await writeFile(tmp, `${JSON.stringify(info)}\n`, { mode: 0o644 });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await link(tmp, path);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= MAX_ATTEMPTS) throw lockError(path, e);
      }
      const held = await readLock(path);
      if (held === undefined) continue; // released meanwhile
      const dead = isStale(held);
      if (!dead && !opts.breakStale) throw lockedError(path, held);
      if (!(await breakLock(path, tmp, held, () => opts.onBreak?.(held, dead ? 'dead' : 'forced')))) await systemClock.sleep(25);
    }
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  await sweepDeadTempFiles(stateDir);
  return {
    path,
    info,
    async release() {
      const held = await readLock(path);
      if (held && sameHolder(held, info)) await unlink(path).catch(() => undefined);
    },
  };
}

/**
 * Remove `held`'s lock, exclusively: only the run that creates `<lock>.break` (hard link, fails if it
 * exists) may remove it, and only if the lock is still `held`'s — two runs taking over one dead run's
 * lock at once never both end up holding it. A breaker left by a dead run is removed.
 */
async function breakLock(path: string, tmp: string, held: LockInfo, onBreak: () => void): Promise<boolean> {
  const breaker = `${path}.break`;
  try {
    await link(tmp, breaker);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw lockError(path, e);
    const other = await readLock(breaker);
    if (other && isStale(other)) await unlink(breaker).catch(() => undefined);
    return false; // someone else is breaking it: try the lock again
  }
  try {
    const still = await readLock(path);
    if (still && sameHolder(still, held)) {
      onBreak();
      await unlink(path).catch(() => undefined);
    }
  } finally {
    await unlink(breaker).catch(() => undefined);
  }
  return true;
}

function sameHolder(a: LockInfo, b: LockInfo): boolean {
  return a.pid === b.pid && a.host === b.host && a.time === b.time && a.nonce === b.nonce;
}

/** The lock's holder, or undefined when there is no lock. */
export async function readLock(path: string): Promise<LockInfo | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw lockError(path, e);
  }
  try {
    const v = JSON.parse(text) as LockInfo;
    if (typeof v.pid === 'number' && typeof v.host === 'string') return v;
  } catch { /* fall through */ }
  // Not ours to interpret: a lock we cannot read is treated as a stale one from an unknown pid.
  return { pid: -1, host: hostname(), time: 'unknown' };
}

/** Stale: left on this host by a process that no longer exists. */
export function isStale(info: LockInfo): boolean {
  if (info.host !== hostname()) return false;
  if (info.pid <= 0) return true;
  try {
    process.kill(info.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Remove the temp files a killed run left in `stateDir` (`.<name>.<pid>.<hex>.tmp` from atomic writes,
 * `.lock.<pid>.<hex>`), only those whose pid is dead: we hold the lock, so no live run of ours writes here.
 */
async function sweepDeadTempFiles(stateDir: string): Promise<void> {
  const names = await readdir(stateDir).catch(() => [] as string[]);
  for (const name of names) {
    const m = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/.exec(name) ?? /^\.lock\.(\d+)\.[0-9a-f]{8}$/.exec(name);
    if (m && Number(m[1]) !== process.pid && isStale({ pid: Number(m[1]), host: hostname(), time: '' })) {
      await unlink(join(stateDir, name)).catch(() => undefined);
    }
  }
}

function lockedError(path: string, held: LockInfo): FerryError {
  const by = `pid ${held.pid} on ${held.host} since ${held.time}${held.playbook ? ` (${held.playbook})` : ''}`;
  return new FerryError('E_LOCKED', `${path} is held by ${by}`, {
    hint: held.host === hostname()
      ? `another ferry run (pid ${held.pid}) is in progress on this state directory: wait for it to finish; if pid ${held.pid} is not ferry (reused after a reboot), re-run with --break-stale-lock`
      : `another host holds it: if no run is in progress on ${held.host}, re-run with --break-stale-lock`,
  });
}

function lockError(path: string, cause: unknown): FerryError {
  return new FerryError('E_LOCK_IO', `cannot create the run lock ${path}`, { hint: 'check that the state directory is writable', cause });
}
