/**
 * What "quiet" means for a MySQL store: `read_only` (and `super_read_only` on MySQL 8) on the source,
 * and a sample of the binlog position and write counters that stays equal while nothing writes.
 * The freeze records the settings it found before changing them (`<stateDir>/freeze.json`), so a
 * killed run still thaws to exactly what was there.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { PoolConnection } from 'mysql2/promise';
import type { FreezeRecord } from '../../core/engine.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { withMysql, type MysqlTarget } from './connect.ts';

export { withMysql };

export async function mysqlReadOnly(c: PoolConnection): Promise<boolean> {
  const [rows] = await c.query('SELECT @@global.read_only AS ro');
  return Number((rows as Array<{ ro: unknown }>)[0]?.ro) === 1;
}

/** `super_read_only`, or null where it does not exist (MariaDB: its READ ONLY ADMIN privilege bypasses read_only instead). */
export async function mysqlSuperReadOnly(c: PoolConnection): Promise<boolean | null> {
  try {
    const [rows] = await c.query('SELECT @@global.super_read_only AS sro');
    return Number((rows as Array<{ sro: unknown }>)[0]?.sro) === 1;
  } catch { return null; }
}

/** read_only ON; on MySQL also super_read_only, so accounts with SUPER cannot write either. */
export async function setMysqlReadOnly(c: PoolConnection, on: boolean): Promise<void> {
  if (on) {
    await c.query('SET GLOBAL read_only = ON');
    await c.query('SET GLOBAL super_read_only = ON').catch(() => undefined);
  } else {
    await c.query('SET GLOBAL super_read_only = OFF').catch(() => undefined);
    await c.query('SET GLOBAL read_only = OFF');
  }
}

const WRITE_COUNTERS = ['Innodb_rows_inserted', 'Innodb_rows_updated', 'Innodb_rows_deleted', 'Com_insert', 'Com_insert_select',
  'Com_update', 'Com_update_multi', 'Com_delete', 'Com_delete_multi', 'Com_replace', 'Com_load', 'Com_create_table', 'Com_alter_table', 'Com_drop_table'];

/** `binlog file:pos | counter=value …`: equal samples mean nothing was written in between. */
export async function sampleMysql(c: PoolConnection): Promise<string> {
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

/** What a MySQL freeze found and did (written before the change). */
export interface MysqlFreezeRecord extends FreezeRecord {
  readonly engine: 'mysql';
  readonly server: string;
  readonly readOnlyBefore: boolean;
  /** null where the server has no super_read_only (MariaDB). */
  readonly superReadOnlyBefore: boolean | null;
  readonly frozenAt: string;
}

const recordFile = (stateDir: string) => join(stateDir, 'freeze.json');

export async function readMysqlFreeze(stateDir: string): Promise<MysqlFreezeRecord | undefined> {
  return readFile(recordFile(stateDir), 'utf8').then((t) => JSON.parse(t) as MysqlFreezeRecord, () => undefined);
}

/** Record the settings as found (or keep an earlier record: a re-run must not take "frozen" for "before"), then set read_only. */
export async function freezeMysql(ep: MysqlTarget, stateDir: string): Promise<MysqlFreezeRecord> {
  return withMysql(ep, async (c) => {
    const record = (await readMysqlFreeze(stateDir)) ?? {
      engine: 'mysql', server: `${ep.host}:${ep.port}`, readOnlyBefore: await mysqlReadOnly(c),
      superReadOnlyBefore: await mysqlSuperReadOnly(c), frozenAt: new Date().toISOString(),
    } satisfies MysqlFreezeRecord;
    await writeFileAtomic(recordFile(stateDir), JSON.stringify(record) + '\n');
    await setMysqlReadOnly(c, true);
    return record;
  });
}

/** Put read_only and super_read_only back as the record found them; nothing recorded, nothing done. */
export async function thawMysql(ep: MysqlTarget, stateDir: string, given?: FreezeRecord): Promise<boolean> {
  const record = (given as MysqlFreezeRecord | undefined) ?? (await readMysqlFreeze(stateDir));
  if (!record) return false;
  await withMysql(ep, async (c) => {
    // Turning read_only OFF turns super_read_only OFF too, and super_read_only ON turns read_only ON: this order restores any pair.
    await c.query('SET GLOBAL super_read_only = OFF').catch(() => undefined);
    await c.query(`SET GLOBAL read_only = ${record.readOnlyBefore ? 'ON' : 'OFF'}`);
    if (record.superReadOnlyBefore) await c.query('SET GLOBAL super_read_only = ON');
  });
  await rm(recordFile(stateDir), { force: true });
  return true;
}
