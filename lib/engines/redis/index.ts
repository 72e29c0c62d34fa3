/**
 * The Redis engine: every key of every database with its absolute expiry, by one of three paths
 * (physical RDB placement, DUMP/RESTORE ABSTTL, type-aware rewrite), chosen from what the two servers
 * support; an RDB fetched over replication as the rollback artifact; key-by-key and app-level verify.
 */
export { connectRedis, describeEndpoint } from './connect.ts';
export { serverInfo, rdbVersionFor } from './info.ts';
export { choosePath } from './choose-path.ts';
export type { RedisPath, RedisPathChoice, PathDecision } from './choose-path.ts';
export { fetchRdb, type RdbFile } from './rdb-fetch.ts';
export { copyLogical, type CopyResult } from './copy.ts';
export { placeRdb, removeRdb } from './physical.ts';
export { verifyCopy, type RedisVerifyReport } from './verify.ts';
export { checkApp, type AppCheckReport } from './app-checks.ts';

export { preflight, importRedis, type Preflight, type ImportOptions, type ImportResult } from './import.ts';
export { redisEngine, type RedisEngineFacts } from './engine.ts';
export type { RedisEndpoint } from './endpoint.ts';
export type { RedisOptions } from './options.ts';
