/**
 * What "quiet" means for a Redis store: `CLIENT PAUSE … WRITE` on the source (it lifts itself after
 * `pauseMs` if ferry is gone), and a sample of the dirty counter and replication offset that stays
 * equal while nothing writes. The pause is recorded (`<stateDir>/freeze.json`) before it is set.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { FreezeRecord } from '../../core/engine.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { withRedis } from './connect.ts';
import type { RedisEndpoint } from './endpoint.ts';
import { DEFAULT_REDIS_PAUSE_MS } from './options.ts';

export { DEFAULT_REDIS_PAUSE_MS, withRedis };

/** Pause writes for `ms`; returns the epoch ms the pause ends at. */
export async function pauseRedisWrites(r: Redis, ms = DEFAULT_REDIS_PAUSE_MS): Promise<number> {
  await r.call('CLIENT', 'PAUSE', String(ms), 'WRITE');
  return Date.now() + ms;
}

export async function unpauseRedis(r: Redis): Promise<void> {
  await r.call('CLIENT', 'UNPAUSE');
}

/** Dirty counter, last save time and replication offset (INFO is not a write). */
export async function sampleRedis(r: Redis): Promise<string> {
  const info = await r.info('persistence') + await r.info('replication');
  const pick = (k: string) => new RegExp(`^${k}:(.*)$`, 'm').exec(info)?.[1]?.trim() ?? '?';
  return `dirty=${pick('rdb_changes_since_last_save')} lastsave=${pick('rdb_last_save_time')} offset=${pick('master_repl_offset')}`;
}

export interface RedisFreezeRecord extends FreezeRecord {
  readonly engine: 'redis';
  readonly server: string;
  /** Epoch ms the pause ends at on its own. */
  readonly pausedUntil: number;
  readonly frozenAt: string;
}

const recordFile = (stateDir: string) => join(stateDir, 'freeze.json');

export async function readRedisFreeze(stateDir: string): Promise<RedisFreezeRecord | undefined> {
  return readFile(recordFile(stateDir), 'utf8').then((t) => JSON.parse(t) as RedisFreezeRecord, () => undefined);
}

/** Record, then pause writes; a re-run renews the pause. */
export async function freezeRedis(ep: RedisEndpoint, stateDir: string, pauseMs = DEFAULT_REDIS_PAUSE_MS): Promise<RedisFreezeRecord> {
  const before = await readRedisFreeze(stateDir);
  const intended: RedisFreezeRecord = {
    engine: 'redis', server: `${ep.host}:${ep.port}`, pausedUntil: Date.now() + pauseMs, frozenAt: before?.frozenAt ?? new Date().toISOString(),
  };
  await writeFileAtomic(recordFile(stateDir), JSON.stringify(intended) + '\n');
  const pausedUntil = await withRedis(ep, (r) => pauseRedisWrites(r, pauseMs));
  const record = { ...intended, pausedUntil };
  await writeFileAtomic(recordFile(stateDir), JSON.stringify(record) + '\n');
  return record;
}

/** Lift the pause the record says was set; nothing recorded, nothing done. */
export async function thawRedis(ep: RedisEndpoint, stateDir: string, given?: FreezeRecord): Promise<boolean> {
  const record = given ?? (await readRedisFreeze(stateDir));
  if (!record) return false;
  await withRedis(ep, unpauseRedis);
  await rm(recordFile(stateDir), { force: true });
  return true;
}
