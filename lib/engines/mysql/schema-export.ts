/**
 * The schema of one database as statements to replay: tables with their exact DDL, then (after the
 * data) triggers, routines, views and events, each with the sql_mode it was created under.
 */
import type { Pool, PoolConnection } from 'mysql2/promise';
import { FerryError } from '../../core/errors.ts';
import { q } from './connect.ts';
import { str } from './catalog.ts';
import { applyDefiner, type DefinerPolicy, type DefinerRewrite } from './definer.ts';

export type ObjectKind = 'table' | 'view' | 'trigger' | 'function' | 'procedure' | 'event';

export interface SchemaObject {
  readonly kind: ObjectKind;
  readonly name: string;
  /** The CREATE statement, DEFINER already rewritten or stripped. */
  readonly ddl: string;
  /** The sql_mode the object was created under (tables: null, replayed permissively). */
  readonly sqlMode: string | null;
  /** Events: the time zone their schedule is written in. */
  readonly timeZone?: string;
  /** A routine whose DEFINER was stripped: set to SQL SECURITY INVOKER once created. */
  readonly invoker?: boolean;
}

export interface DatabaseSchema {
  readonly database: string;
  readonly createDatabase: string;
  /** In replay order: tables, then triggers, functions, procedures, views, events. */
  readonly objects: readonly SchemaObject[];
  readonly definerRewrites: readonly DefinerRewrite[];
}

type Db = Pool | PoolConnection;

const rowsOf = async (db: Db, sql: string, values?: unknown[]) => (await db.query(sql, values))[0] as Array<Record<string, unknown>>;

/** Read the schema of `database` with DEFINERs handled by `policy`. */
export async function exportSchema(db: Db, database: string, policy: DefinerPolicy): Promise<DatabaseSchema> {
  const D = q(database);
  const rewrites: DefinerRewrite[] = [];
  const objects: SchemaObject[] = [];
  const add = (kind: ObjectKind, name: string, ddl: string, sqlMode: string | null, timeZone?: string) => {
    const r = kind === 'table' ? { ddl } : applyDefiner(ddl, `${kind} ${database}.${name}`, policy);
    if (r.rewrite) rewrites.push(r.rewrite);
    const invoker = r.rewrite?.invoker === true && (kind === 'function' || kind === 'procedure');
    objects.push({ kind, name, ddl: r.ddl, sqlMode, ...(timeZone ? { timeZone } : {}), ...(invoker ? { invoker } : {}) });
  };
  const db0 = await rowsOf(db, `SHOW CREATE DATABASE ${D}`);
  const createDatabase = str(db0[0]?.['Create Database']).replace(/^CREATE DATABASE /, 'CREATE DATABASE IF NOT EXISTS ').replace(/IF NOT EXISTS IF NOT EXISTS/, 'IF NOT EXISTS');
  const tables = await rowsOf(db, 'SELECT TABLE_NAME AS n, TABLE_TYPE AS t, ENGINE AS e FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME', [database]);
  for (const t of tables.filter((r) => str(r.t) === 'BASE TABLE')) {
    const engine = str(t.e);
    if (engine && !/^(InnoDB|MyISAM|Aria|MEMORY|ARCHIVE|CSV)$/i.test(engine)) {
      throw new FerryError('E_MYSQL_UNSUPPORTED', `Table ${database}.${str(t.n)} uses storage engine ${engine}, which ferry cannot carry`, {
        hint: `convert it first (ALTER TABLE ${D}.${q(str(t.n))} ENGINE=InnoDB) or leave ${database} out of mysql.databases`,
      });
    }
    const r = await rowsOf(db, `SHOW CREATE TABLE ${D}.${q(str(t.n))}`);
    add('table', str(t.n), str(r[0]?.['Create Table']).replace(/^CREATE TABLE /, 'CREATE TABLE IF NOT EXISTS '), null);
  }
  for (const t of await rowsOf(db, 'SELECT TRIGGER_NAME AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY EVENT_OBJECT_TABLE, ACTION_ORDER', [database])) {
    const r = (await rowsOf(db, `SHOW CREATE TRIGGER ${D}.${q(str(t.n))}`))[0]!;
    add('trigger', str(t.n), str(r['SQL Original Statement']), str(r.sql_mode));
  }
  for (const t of await rowsOf(db, 'SELECT ROUTINE_NAME AS n, ROUTINE_TYPE AS t FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? ORDER BY ROUTINE_TYPE, ROUTINE_NAME', [database])) {
    const kind = str(t.t) === 'FUNCTION' ? 'function' : 'procedure';
    const r = (await rowsOf(db, `SHOW CREATE ${kind.toUpperCase()} ${D}.${q(str(t.n))}`))[0]!;
    const ddl = str(r[kind === 'function' ? 'Create Function' : 'Create Procedure']);
    if (!ddl) throw missingPrivilege(database, `${kind} ${str(t.n)}`);
    add(kind, str(t.n), ddl, str(r.sql_mode));
  }
  for (const t of tables.filter((r) => str(r.t) === 'VIEW')) {
    const r = (await rowsOf(db, `SHOW CREATE VIEW ${D}.${q(str(t.n))}`))[0]!;
    add('view', str(t.n), str(r['Create View']), null);
  }
  for (const t of await rowsOf(db, 'SELECT EVENT_NAME AS n FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? ORDER BY EVENT_NAME', [database])) {
    const r = (await rowsOf(db, `SHOW CREATE EVENT ${D}.${q(str(t.n))}`))[0]!;
    add('event', str(t.n), str(r['Create Event']), str(r.sql_mode), str(r.time_zone));
  }
  return { database, createDatabase, objects, definerRewrites: rewrites };
}

function missingPrivilege(database: string, object: string): FerryError {
  return new FerryError('E_MYSQL_PRIVILEGE', `The export account cannot read the body of ${object} in ${database}`, {
    hint: `GRANT SELECT ON mysql.proc TO the account (MariaDB) or GRANT SHOW_ROUTINE ON *.* (MySQL 8.0.20+)`,
  });
}
