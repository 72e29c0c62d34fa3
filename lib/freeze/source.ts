/**
 * The source side of the write freeze: MySQL `read_only` (and `super_read_only` where it exists),
 * Redis `CLIENT PAUSE … WRITE`, and the samples that prove the source quiet (binlog position and write
 * counters on MySQL, the dirty counter and replication offset on Redis).
 */
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import type { MysqlEndpoint, RedisEndpoint } from '../steps/context.ts';

/** Redis pauses expire on their own: long enough for a big import, short enough if ferry is gone. */
export const DEFAULT_REDIS_PAUSE_MS = 2 * 60 * 60 * 1000;

export async function withMysql<T>(ep: MysqlEndpoint, fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const c = await mysql.createConnection({ host: ep.host, port: ep.port, user: ep.user, password: ep.password, connectTimeout: 10_000 });
  try { return await fn(c); } finally { await c.end().catch(() => undefined); }
}

export async function withRedis<T>(ep: RedisEndpoint, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis({ host: ep.host, port: ep.port, username: ep.username, password: ep.password, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  r.on('error', () => undefined);
  await r.connect();
  try { return await fn(r); } finally { r.disconnect(); }
}

export async function mysqlReadOnly(c: mysql.Connection): Promise<boolean> {
  const [rows] = await c.query('SELECT @@global.read_only AS ro');
  return Number((rows as Array<{ ro: unknown }>)[0]?.ro) === 1;
}

/** read_only ON; on MySQL also super_read_only, so accounts with SUPER cannot write either. */
export async function setMysqlReadOnly(c: mysql.Connection, on: boolean): Promise<void> {
  if (on) {
    await c.query('SET GLOBAL read_only = ON');
    // MariaDB has no super_read_only (its READ ONLY ADMIN privilege bypasses read_only instead).
    await c.query('SET GLOBAL super_read_only = ON').catch(() => undefined);
  } else {
    await c.query('SET GLOBAL super_read_only = OFF').catch(() => undefined);
    await c.query('SET GLOBAL read_only = OFF');
  }
}

const WRITE_COUNTERS = ['Innodb_rows_inserted', 'Innodb_rows_updated', 'Innodb_rows_deleted', 'Com_insert', 'Com_insert_select',
  'Com_update', 'Com_update_multi', 'Com_delete', 'Com_delete_multi', 'Com_replace', 'Com_load', 'Com_create_table', 'Com_alter_table', 'Com_drop_table'];

/** `binlog file:pos | counter=value …`: equal samples mean nothing was written in between. */
export async function sampleMysql(c: mysql.Connection): Promise<string> {
  let binlog = 'binlog off';
  for (const sql of ['SHOW BINARY LOG STATUS', 'SHOW MASTER STATUS']) {
    try {
      const [rows] = await c.query(sql);
      const r = (rows as Array<Record<string, unknown>>)[0];
      binlog = r ? `${String(r.File)}:${String(r.Position)}` : 'binlog off';
      break;
    } catch { /* MySQL 8.4 dropped SHOW MASTER STATUS; MySQL < 8.2 and MariaDB lack SHOW BINARY LOG STATUS */ }
  }
  const [rows] = await c.query(`SHOW GLOBAL STATUS WHERE Variable_name IN (${WRITE_COUNTERS.map(() => '?').join(',')})`, WRITE_COUNTERS);
  const counters = (rows as Array<{ Variable_name: string; Value: string }>).map((r) => `${r.Variable_name}=${r.Value}`).sort().join(' ');
  return `${binlog} | ${counters}`;
}

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
