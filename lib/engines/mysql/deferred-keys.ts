/**
 * Secondary indexes and foreign keys after the data: InnoDB builds an index from sorted data much
 * faster than it maintains it row by row. A table is created without its plain `KEY`s and `FOREIGN KEY`
 * constraints; once its rows are in, one ALTER adds whichever of them the target still lacks (so a
 * resumed or repeated import converges). UNIQUE, FULLTEXT, SPATIAL and CHECK definitions stay in place.
 *
 * Indexes are added table by table in parallel, foreign keys afterwards on one connection, each table's
 * in its own ALTER: MariaDB 10.11.18 crashed (SIGSEGV in mysql_alter_table, reproduced on the first
 * try at scale 200) on `ALTER TABLE images ADD KEY …, ADD KEY …, ADD CONSTRAINT … FOREIGN KEY … REFERENCES
 * posts` while another connection altered the tables it references (posts ↔ users); with the foreign
 * keys added one table at a time after every index, repeated runs completed.
 *
 * The ALTERs run on load sessions (foreign_key_checks = 0): MySQL 8 and MariaDB then add a FOREIGN KEY in
 * place, with checks on only by copying the table; ADD KEY is in place (LOCK=NONE) on both, never INSTANT
 * (MySQL 8's INSTANT covers columns, not indexes). A killed ferry may leave its ALTER running on the server
 * (a server notices a gone client only when it next talks to it); a re-run that meets it still running, waiting
 * for the table's metadata lock, meets the names it added (1061 duplicate key name): those count as added
 * (`alter` reads what the table has once more) and only the rest is added.
 */
import type { Pool, PoolConnection } from 'mysql2/promise';
import { FerryError } from '../../core/errors.ts';
import { runWorkers } from '../../util/workers.ts';
import { isPrivilegeError, q, withConnection } from './connect.ts';
import { safeServerError } from './server-message.ts';

export interface DeferredKey {
  readonly kind: 'index' | 'foreign key';
  readonly name: string;
  /** `ADD KEY …` / `ADD CONSTRAINT … FOREIGN KEY …` */
  readonly clause: string;
}

const KEY_LINE = /^\s*KEY `((?:[^`]|``)+)` /;
const FK_LINE = /^\s*CONSTRAINT `((?:[^`]|``)+)` FOREIGN KEY /;

/** What a table is created without, to be added after its data: nothing, its foreign keys only, or its plain KEYs and foreign keys. */
export type DeferMode = 'none' | 'foreign keys' | 'all';

/**
 * Split SHOW CREATE TABLE output into the CREATE without deferred keys and the keys to add later; with
 * `mode` 'foreign keys' the plain KEYs stay in the CREATE (and are not listed), with 'none' nothing moves.
 */
export function splitDeferred(ddl: string, mode: DeferMode = 'all'): { create: string; deferred: DeferredKey[] } {
  if (mode === 'none') return { create: ddl, deferred: [] };
  const lines = ddl.split('\n');
  const close = lines.findIndex((l, i) => i > 0 && /^\)/.test(l));
  if (close < 0) return { create: ddl, deferred: [] };
  const body = lines.slice(1, close).map((l) => l.replace(/,$/, ''));
  const keep: string[] = [];
  const deferred: DeferredKey[] = [];
  for (const l of body) {
    const k = KEY_LINE.exec(l);
    const f = FK_LINE.exec(l);
    if (k && mode === 'all') deferred.push({ kind: 'index', name: k[1]!.replace(/``/g, '`'), clause: `ADD ${l.trim()}` });
    else if (f) deferred.push({ kind: 'foreign key', name: f[1]!.replace(/``/g, '`'), clause: `ADD ${l.trim()}` });
    else keep.push(l);
  }
  return { create: [lines[0]!, keep.join(',\n'), ...lines.slice(close)].join('\n'), deferred };
}

/** Add the deferred keys `table` lacks on the target, in one ALTER (foreign_key_checks is off). */
export async function addDeferredKeys(c: PoolConnection, database: string, table: string, keys: readonly DeferredKey[]): Promise<number> {
  if (!keys.length) return 0;
  const missing = (await missingKeys(c, [{ db: database, name: table, keys }]))[0]!;
  if (missing.keys.length) await alter(c, missing);
  return missing.keys.length;
}

/** One ALTER adding `t`'s keys; its failure names the table and the keys, with what to do. */
async function alter(c: PoolConnection, t: TableKeys, again = true): Promise<void> {
  try {
    await c.query(`ALTER TABLE ${q(t.db)}.${q(t.name)} ${t.keys.map((k) => k.clause).join(', ')}`);
  } catch (e) {
    // Another session added some while this one waited for the table (a killed run's ALTER the server went
    // on with: 1061 duplicate key name): what is there counts, the rest is added once more.
    const left = again ? (await missingKeys(c, [t]).catch(() => [t]))[0]! : t;
    if (left.keys.length < t.keys.length) { if (left.keys.length) await alter(c, left, false); return; }
    throw new FerryError('E_MYSQL_KEYS', `Adding ${t.keys.map((k) => `${k.kind} ${k.name}`).join(', ')} to ${t.db}.${t.name} on the target failed: ${safeServerError(e)}`, {
      hint: isPrivilegeError(e)
        ? `as an administrator grant the target account ALTER and REFERENCES on ${q(t.db)}.*, then run again: the import adds whatever keys a table lacks`
        : 'fix the cause, then run again: the import adds whatever keys a table lacks',
    });
  }
}

type TableKeys = { readonly db: string; readonly name: string; readonly keys: readonly DeferredKey[] };

/** Of each table's keys, those the target lacks (by name), read in two queries for all the tables. */
async function missingKeys(c: PoolConnection, tables: readonly TableKeys[]): Promise<TableKeys[]> {
  const some = tables.filter((t) => t.keys.length);
  if (!some.length) return tables.map((t) => ({ ...t, keys: [] }));
  const pairs = some.map(() => '(?, ?)').join(', ');
  const args = some.flatMap((t) => [t.db, t.name]);
  const [idx] = await c.query(`SELECT DISTINCT TABLE_SCHEMA AS d, TABLE_NAME AS t, INDEX_NAME AS n FROM information_schema.STATISTICS WHERE (TABLE_SCHEMA, TABLE_NAME) IN (${pairs})`, args);
  const [fks] = await c.query(`SELECT TABLE_SCHEMA AS d, TABLE_NAME AS t, CONSTRAINT_NAME AS n FROM information_schema.TABLE_CONSTRAINTS WHERE CONSTRAINT_TYPE = 'FOREIGN KEY' AND (TABLE_SCHEMA, TABLE_NAME) IN (${pairs})`, args);
  const id = (d: unknown, t: unknown, n: unknown) => JSON.stringify([String(d), String(t), String(n)]);
  const have = {
    index: new Set((idx as Array<{ d: string; t: string; n: string }>).map((r) => id(r.d, r.t, r.n))),
    'foreign key': new Set((fks as Array<{ d: string; t: string; n: string }>).map((r) => id(r.d, r.t, r.n))),
  };
  return tables.map((t) => ({ ...t, keys: t.keys.filter((k) => !have[k.kind].has(id(t.db, t.name, k.name))) }));
}

/**
 * Every table's deferred keys the target lacks: indexes on `parallelism` connections, then foreign keys
 * one table at a time (what is there already read once for all tables: a streamed copy has added most).
 */
export async function addAllDeferredKeys(pool: Pool, tables: ReadonlyArray<TableKeys>, parallelism: number): Promise<void> {
  const missing = await withConnection(pool, (c) => missingKeys(c, tables));
  const indexes = missing.map((t) => ({ ...t, keys: t.keys.filter((k) => k.kind === 'index') })).filter((t) => t.keys.length);
  // The first failure stops the other connection after its ALTER; thrown once both have returned.
  await runWorkers(Math.min(parallelism, indexes.length), (_, stopped) => withConnection(pool, async (c) => {
    for (let t = indexes.shift(); t && !stopped(); t = indexes.shift()) await alter(c, t);
  }));
  const fks = missing.map((t) => ({ ...t, keys: t.keys.filter((k) => k.kind === 'foreign key') })).filter((t) => t.keys.length);
  if (fks.length) {
    await withConnection(pool, async (c) => {
      for (const t of fks) await alter(c, t);
    });
  }
}
