/**
 * The physical path: place a fetched RDB file as the target's `dump.rdb` while its Redis is stopped,
 * then start it and prove it loaded. Exact TTLs (absolute in the RDB); keys already expired are dropped
 * by the loader, never resurrected. Re-running places the same file again: idempotent.
 */
import { copyFile, rename, chmod, unlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FerryError } from '../../core/errors.ts';
import { fsyncDir } from '../../util/atomic-write.ts';
import type { ServiceControl } from '../../core/engine.ts';
import type { RedisEndpoint } from './endpoint.ts';
import { connectRedis, describeEndpoint } from './connect.ts';
import { serverInfo } from './info.ts';

export interface PlaceResult {
  readonly file: string;
  readonly keys: number;
}

/** The target's RDB file name (CONFIG GET dbfilename), read while it runs. */
export async function targetRdbName(target: RedisEndpoint): Promise<{ name: string; aof: boolean }> {
  const r = await connectRedis(target, { name: 'ferry-physical' });
  try {
    const cfg = (await r.config('GET', 'dbfilename').catch(() => ['dbfilename', 'dump.rdb'])) as string[];
    return { name: cfg[1] || 'dump.rdb', aof: (await serverInfo(r)).aofEnabled };
  } finally { r.disconnect(); }
}

/** Stop the target, put `rdbPath` in its data directory, start it, and count what it loaded. */
export async function placeRdb(target: RedisEndpoint, service: ServiceControl, rdbPath: string, expectKeys: number): Promise<PlaceResult> {
  const { name, aof } = await targetRdbName(target);
  if (aof) {
    throw new FerryError('E_REDIS_TARGET_AOF', `Target Redis at ${describeEndpoint(target)} has appendonly on: it would load its AOF, not the RDB`, {
      hint: 'start the target with appendonly no for the import (turn it on afterwards), or set the store\'s path option (redis.path in the preset) to "dump"',
    });
  }
  const file = join(service.dataDir, name);
  const tmp = join(service.dataDir, `.${name}.ferry-tmp`);
  await service.stop();
  try {
    await copyFile(rdbPath, tmp);
    await chmod(tmp, 0o644);
    await rename(tmp, file);
    await fsyncDir(service.dataDir);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    await service.start();
    throw new FerryError('E_REDIS_PLACE_RDB', `Cannot write ${file}: ${(e as Error).message}`, {
      hint: 'check that the target data directory exists and is writable by this user', cause: e,
    });
  }
  await service.start();
  const r = await connectRedis(target, { name: 'ferry-physical' });
  try {
    const info = await serverInfo(r);
    const keys = [...info.keyspace.values()].reduce((n, d) => n + d.keys, 0);
    if (expectKeys > 0 && keys === 0) {
      throw new FerryError('E_REDIS_RDB_NOT_LOADED', `Target Redis at ${describeEndpoint(target)} started empty after ${file} was placed`, {
        hint: 'check the target\'s dir/dbfilename settings and its log (docker compose logs redis)',
      });
    }
    return { file, keys };
  } finally { r.disconnect(); }
}

/** Undo: stop, remove the placed file, start empty. Safe to call twice. */
export async function removeRdb(service: ServiceControl, name = 'dump.rdb'): Promise<void> {
  const file = join(service.dataDir, name);
  if (!(await stat(file).catch(() => null))) return;
  await service.stop();
  await unlink(file).catch(() => undefined);
  await service.start();
}
