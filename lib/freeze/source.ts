/**
 * The source side of the write freeze moved into the engines (issue 17): MySQL `read_only` and its
 * quiet sample in lib/engines/mysql/freeze.ts, Redis `CLIENT PAUSE … WRITE` and its sample in
 * lib/engines/redis/freeze.ts, each through its engine's one connect. Re-exported here until the
 * freeze orchestration iterates stores.
 */
export { withMysql, mysqlReadOnly, setMysqlReadOnly, sampleMysql } from '../engines/mysql/freeze.ts';
export { withRedis, pauseRedisWrites, unpauseRedis, sampleRedis, DEFAULT_REDIS_PAUSE_MS } from '../engines/redis/freeze.ts';
