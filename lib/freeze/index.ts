/**
 * The write freeze for the final pass: stop the app's writers, MySQL read_only, Redis CLIENT PAUSE
 * WRITE, then prove the source quiet. `liftFreeze` undoes exactly what freeze.json says was done and is
 * safe to call twice (or when nothing was frozen).
 */
import type { Logger } from '../core/logger.ts';
import { silentLogger } from '../core/logger.ts';
import type { SourceEndpoints } from './snapshot.ts';
import { runCommands } from './commands.ts';
import { clearFreezeState, readFreezeState, writeFreezeState, type FreezeState } from './state.ts';
import { mysqlReadOnly, pauseRedisWrites, sampleMysql, sampleRedis, setMysqlReadOnly, unpauseRedis, withMysql, withRedis } from './source.ts';
import { proveQuiet } from './quiet.ts';
import { takeSourceSnapshot } from './snapshot.ts';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../util/atomic-write.ts';
import type { SourceSnapshot } from './snapshot.ts';

export * from './state.ts';
export { proveQuiet, type QuietOptions } from './quiet.ts';
export { runCommand, runCommands } from './commands.ts';
export { takeSourceSnapshot, compareSnapshots, snapshotMysql, snapshotRedis, type SourceSnapshot } from './snapshot.ts';

/** The source's pre-migration snapshot, beside freeze.json. */
export const SNAPSHOT_FILE = 'source-snapshot.json';

export async function readSourceSnapshot(stateDir: string): Promise<SourceSnapshot | undefined> {
  try { return JSON.parse(await readFile(join(stateDir, SNAPSHOT_FILE), 'utf8')) as SourceSnapshot; } catch { return undefined; }
}
export { sampleMysql, sampleRedis, mysqlReadOnly, withMysql, withRedis, DEFAULT_REDIS_PAUSE_MS } from './source.ts';

export interface FreezeOptions {
  readonly ctx: SourceEndpoints;
  /** Where freeze.json lives (the run's state directory). */
  readonly stateDir: string;
  readonly stopWriters: readonly string[];
  readonly quietSeconds: number;
  readonly pauseMs?: number;
  readonly quietTimeoutMs?: number;
  readonly signal?: AbortSignal;
  readonly log?: Logger;
  /** Record the source's pre-migration snapshot (default true). */
  readonly snapshot?: boolean;
}

export async function freezeSource(o: FreezeOptions): Promise<FreezeState> {
  const log = o.log ?? silentLogger;
  const { mysql, redis } = o.ctx.source;
  let state: FreezeState = (await readFreezeState(o.stateDir)) ?? { writersStopped: false, mysqlFrozen: false, frozenAt: new Date().toISOString() };
  // Record intent before each change: a kill right after it still leaves something to lift.
  if (o.stopWriters.length) {
    state = { ...state, writersStopped: true };
    await writeFreezeState(o.stateDir, state);
    await runCommands(o.stopWriters, 'stopWriters', o.signal ? { signal: o.signal } : {});
    log.info(`writers stopped: ${o.stopWriters.join('; ')}`);
  }
  if (mysql) {
    await withMysql(mysql, async (c) => {
      const before = state.mysqlReadOnlyBefore ?? (await mysqlReadOnly(c));
      state = { ...state, mysqlReadOnlyBefore: before, mysqlFrozen: true };
      await writeFreezeState(o.stateDir, state);
      await setMysqlReadOnly(c, true);
    });
    log.info(`mysql ${mysql.host}:${mysql.port}: read_only ON`);
  }
  if (redis) {
    const until = Date.now() + (o.pauseMs ?? 0);
    state = { ...state, redisPausedUntil: until };
    await writeFreezeState(o.stateDir, state);
    const pausedUntil = await withRedis(redis, (r) => pauseRedisWrites(r, o.pauseMs));
    state = { ...state, redisPausedUntil: pausedUntil };
    log.info(`redis ${redis.host}:${redis.port}: writes paused until ${new Date(pausedUntil).toISOString()}`);
  }
  const quiet = await proveQuiet({
    seconds: o.quietSeconds,
    ...(o.quietTimeoutMs !== undefined ? { timeoutMs: o.quietTimeoutMs } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    sample: async () => ({
      ...(mysql ? { mysql: await withMysql(mysql, sampleMysql) } : {}),
      ...(redis ? { redis: await withRedis(redis, sampleRedis) } : {}),
    }),
  });
  log.info(`source quiet for ${o.quietSeconds}s`);
  if (o.snapshot !== false) {
    const snap = await takeSourceSnapshot(o.ctx);
    await writeFileAtomic(join(o.stateDir, SNAPSHOT_FILE), JSON.stringify(snap, null, 2) + '\n');
    log.info(`source snapshot: ${Object.keys(snap.mysql?.tables ?? {}).length} table(s), ${Object.keys(snap.redis ?? {}).length} redis db(s)`);
  }
  state = { ...state, quiet: { seconds: o.quietSeconds, ...quiet } };
  await writeFreezeState(o.stateDir, state);
  return state;
}

/** True when freeze.json says frozen and the source agrees (read_only still ON). */
export async function isFrozen(o: Pick<FreezeOptions, 'ctx' | 'stateDir'>): Promise<boolean> {
  const s = await readFreezeState(o.stateDir);
  if (!s?.quiet) return false;
  if (s.redisPausedUntil !== undefined && s.redisPausedUntil < Date.now() + 60_000) return false;
  const { mysql } = o.ctx.source;
  if (mysql && s.mysqlFrozen) return withMysql(mysql, mysqlReadOnly);
  return true;
}

export interface LiftOptions {
  readonly ctx: SourceEndpoints;
  readonly stateDir: string;
  /** Run `startWriters` (failure, rollback) — not after a cutover, when the writers live in the stack. */
  readonly restartWriters: boolean;
  readonly startWriters: readonly string[];
  readonly log?: Logger;
}

/** Lift what freeze.json records; returns what was lifted (empty when nothing was frozen). */
export async function liftFreeze(o: LiftOptions): Promise<string[]> {
  const log = o.log ?? silentLogger;
  const s = await readFreezeState(o.stateDir);
  if (!s) return [];
  const lifted: string[] = [];
  const { mysql, redis } = o.ctx.source;
  if (mysql && s.mysqlFrozen) {
    await withMysql(mysql, (c) => setMysqlReadOnly(c, s.mysqlReadOnlyBefore ?? false));
    lifted.push(`mysql read_only ${s.mysqlReadOnlyBefore ? 'ON (as before)' : 'OFF'}`);
  }
  if (redis && s.redisPausedUntil !== undefined) {
    await withRedis(redis, unpauseRedis);
    lifted.push('redis writes unpaused');
  }
  if (s.writersStopped && o.restartWriters && o.startWriters.length) {
    await runCommands(o.startWriters, 'startWriters');
    lifted.push(`writers started: ${o.startWriters.join('; ')}`);
  }
  await clearFreezeState(o.stateDir);
  for (const l of lifted) log.info(`freeze lifted: ${l}`);
  return lifted;
}
