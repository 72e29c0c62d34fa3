/**
 * rollback --with-data for a Redis store: every key of the stack's Redis copied back into the host's,
 * replacing the keys it holds (the host cannot be stopped by ferry, so never the physical path); then
 * the host's keys the stack no longer has (deleted after the cutover) are deleted, so the host mirrors
 * the stack. Resumable through its own state file, apart from the forward copy's; removed once done,
 * so a later rollback copies the stack as it is then.
 */
import { rm } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import { connectRedis, withRedis } from './connect.ts';
import { scanBatches } from './scan.ts';
import { execOrThrow } from './rewrite.ts';
import { serverInfo } from './info.ts';
import { choosePath, type RedisPathChoice } from './choose-path.ts';
import { copyLogical, type CopyResult } from './copy.ts';
import type { RedisEndpoint } from './endpoint.ts';

export interface ReverseOptions {
  /** The stack's Redis (the migration's target), read. */
  readonly from: RedisEndpoint;
  /** The host's Redis (the migration's source), written. */
  readonly to: RedisEndpoint;
  readonly databases: readonly number[];
  readonly path: RedisPathChoice;
  readonly stateFile: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: { keys: number; bytes: number; db: number }) => void;
}

export async function reverseRedis(o: ReverseOptions): Promise<CopyResult & { path: string; pruned: number }> {
  const [f, t] = await Promise.all([connectRedis(o.from, { name: 'ferry-reverse' }), connectRedis(o.to, { name: 'ferry-reverse' })]);
  let mode: 'dump' | 'rewrite';
  let hostDbs: number[] = [];
  try {
    const [fi, ti] = await Promise.all([serverInfo(f), serverInfo(t)]);
    const d = choosePath(o.path === 'physical' ? 'auto' : o.path, { sourceRdb: fi.rdbVersion, targetRdb: ti.rdbVersion, canPlaceFile: false, subsetOfDatabases: true, targetAof: ti.aofEnabled });
    mode = d.path === 'rewrite' ? 'rewrite' : 'dump';
    hostDbs = [...ti.keyspace.keys()];
  } finally { f.disconnect(); t.disconnect(); }
  const copy = await copyLogical({
    source: o.from, target: o.to, mode, databases: o.databases, replace: true, stateFile: o.stateFile,
    ...(o.signal ? { signal: o.signal } : {}), ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  });
  // The store's databases; for "every database", also those the stack has emptied since the cutover.
  const dbs = o.databases.length ? [...o.databases] : [...new Set([...Object.keys(copy.perDb).map(Number), ...hostDbs])];
  const pruned = await withRedis(o.from, (from) => withRedis(o.to, (to) => pruneMissing(from, to, dbs, o.signal), { name: 'ferry-reverse' }), { name: 'ferry-reverse' });
  await rm(o.stateFile, { force: true });
  return { ...copy, path: mode, pruned };
}

/** Delete from `to` the keys of `dbs` that `from` does not hold; returns how many. */
async function pruneMissing(from: Redis, to: Redis, dbs: readonly number[], signal?: AbortSignal): Promise<number> {
  let pruned = 0;
  for (const db of dbs) {
    await Promise.all([from.select(db), to.select(db)]);
    for await (const b of scanBatches(to)) {
      signal?.throwIfAborted();
      if (!b.keys.length) continue;
      const p = from.pipeline();
      for (const k of b.keys) p.exists(k);
      const gone = (await execOrThrow(p)).flatMap((n, i) => (n === 0 ? [b.keys[i]!] : []));
      if (gone.length) pruned += await to.del(...gone);
    }
  }
  return pruned;
}
