/**
 * rollback --with-data for a Redis store: every key of the stack's Redis copied back into the host's,
 * replacing the keys it holds (the host cannot be stopped by ferry, so never the physical path).
 * Resumable through its own state file, apart from the forward copy's.
 */
import { connectRedis } from './connect.ts';
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

export async function reverseRedis(o: ReverseOptions): Promise<CopyResult & { path: string }> {
  const [f, t] = await Promise.all([connectRedis(o.from, { name: 'ferry-reverse' }), connectRedis(o.to, { name: 'ferry-reverse' })]);
  let mode: 'dump' | 'rewrite';
  try {
    const [fi, ti] = await Promise.all([serverInfo(f), serverInfo(t)]);
    const d = choosePath(o.path === 'physical' ? 'auto' : o.path, { sourceRdb: fi.rdbVersion, targetRdb: ti.rdbVersion, canPlaceFile: false, subsetOfDatabases: true, targetAof: ti.aofEnabled });
    mode = d.path === 'rewrite' ? 'rewrite' : 'dump';
  } finally { f.disconnect(); t.disconnect(); }
  const copy = await copyLogical({
    source: o.from, target: o.to, mode, databases: o.databases, replace: true, stateFile: o.stateFile,
    ...(o.signal ? { signal: o.signal } : {}), ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  });
  return { ...copy, path: mode };
}
