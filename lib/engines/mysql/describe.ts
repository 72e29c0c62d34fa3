/**
 * A schema as comparable facts, `key → value`: columns (type, nullability, default, generation,
 * character set), indexes, foreign keys and object bodies. DEFINERs live in separate
 * information_schema columns, so bodies compare modulo the DEFINER rewrite by construction.
 */
import type { Pool, PoolConnection } from 'mysql2/promise';
import { str } from './catalog.ts';

export type SchemaFacts = Record<string, string>;

const QUERIES: ReadonlyArray<{ sql: string; key: (r: Row) => string; value: (r: Row) => string }> = [
  {
    sql: `SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, GENERATION_EXPRESSION,
            CHARACTER_SET_NAME, COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ?`,
    key: (r) => `column ${r.TABLE_NAME}.${r.COLUMN_NAME}`,
    value: (r) => [`#${r.ORDINAL_POSITION}`, r.COLUMN_TYPE, r.IS_NULLABLE === 'YES' ? 'NULL' : 'NOT NULL', `default=${r.COLUMN_DEFAULT ?? '∅'}`,
      r.EXTRA, r.GENERATION_EXPRESSION ? `as(${r.GENERATION_EXPRESSION})` : '', r.CHARACTER_SET_NAME ?? '', r.COLLATION_NAME ?? ''].filter(Boolean).join(' '),
  },
  {
    sql: `SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, GROUP_CONCAT(k.COLUMN_NAME ORDER BY k.ORDINAL_POSITION) AS COLS, k.REFERENCED_TABLE_NAME,
            GROUP_CONCAT(k.REFERENCED_COLUMN_NAME ORDER BY k.ORDINAL_POSITION) AS REFS, rc.UPDATE_RULE, rc.DELETE_RULE
            FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.REFERENTIAL_CONSTRAINTS rc
              ON rc.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND rc.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND rc.TABLE_NAME = k.TABLE_NAME
           WHERE k.TABLE_SCHEMA = ? AND k.REFERENCED_TABLE_NAME IS NOT NULL
           GROUP BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.REFERENCED_TABLE_NAME, rc.UPDATE_RULE, rc.DELETE_RULE`,
    key: (r) => `foreign key ${r.TABLE_NAME}.${r.CONSTRAINT_NAME}`,
    value: (r) => `(${r.COLS}) → ${r.REFERENCED_TABLE_NAME}(${r.REFS}) ON UPDATE ${r.UPDATE_RULE} ON DELETE ${r.DELETE_RULE}`,
  },
  {
    sql: 'SELECT ROUTINE_TYPE, ROUTINE_NAME, ROUTINE_DEFINITION, DTD_IDENTIFIER FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?',
    key: (r) => `${r.ROUTINE_TYPE.toLowerCase()} ${r.ROUTINE_NAME}`,
    value: (r) => `${r.DTD_IDENTIFIER ?? ''} ${r.ROUTINE_DEFINITION}`,
  },
  {
    sql: 'SELECT TRIGGER_NAME, ACTION_TIMING, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, ACTION_STATEMENT FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?',
    key: (r) => `trigger ${r.TRIGGER_NAME}`,
    value: (r) => `${r.ACTION_TIMING} ${r.EVENT_MANIPULATION} ON ${r.EVENT_OBJECT_TABLE}: ${r.ACTION_STATEMENT}`,
  },
  {
    sql: 'SELECT TABLE_NAME, VIEW_DEFINITION, CHECK_OPTION, SECURITY_TYPE FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?',
    key: (r) => `view ${r.TABLE_NAME}`,
    value: (r) => `${r.SECURITY_TYPE} ${r.CHECK_OPTION}: ${r.VIEW_DEFINITION}`,
  },
  {
    sql: 'SELECT EVENT_NAME, EVENT_DEFINITION, INTERVAL_VALUE, INTERVAL_FIELD, STATUS FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?',
    key: (r) => `event ${r.EVENT_NAME}`,
    value: (r) => `every ${r.INTERVAL_VALUE ?? ''} ${r.INTERVAL_FIELD ?? ''} ${r.STATUS}: ${r.EVENT_DEFINITION}`,
  },
];

type Row = Record<string, string | null> & { ROUTINE_TYPE: string };

export async function describeSchema(db: Pool | PoolConnection, database: string): Promise<SchemaFacts> {
  const facts: SchemaFacts = await indexFacts(db, database);
  for (const qy of QUERIES) {
    const [rows] = await db.query(qy.sql, [database]);
    for (const raw of rows as Array<Record<string, unknown>>) {
      const r = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v == null ? null : str(v)])) as Row;
      facts[qy.key(r)] = qy.value(r);
    }
  }
  return facts;
}

/**
 * Each index: `UNIQUE (col,col(prefix))` as before, then what a plain index does not have: a column's
 * DESC (MySQL 8, MariaDB 10.8+), MySQL 8's functional part (its EXPRESSION), a type other than BTREE
 * (FULLTEXT, SPATIAL, HASH), INVISIBLE (MySQL 8 IS_VISIBLE = NO; MariaDB 10.6+ IGNORED = YES) and a comment.
 * `SELECT *`: the visibility column is named differently on each server and absent on older ones.
 */
async function indexFacts(db: Pool | PoolConnection, database: string): Promise<SchemaFacts> {
  const [rows] = await db.query('SELECT * FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX', [database]);
  const parts = new Map<string, { head: string; cols: string[]; tail: string }>();
  for (const raw of rows as Array<Record<string, unknown>>) {
    const r = (k: string) => (raw[k] == null ? null : str(raw[k]));
    const key = `index ${r('TABLE_NAME')}.${r('INDEX_NAME')}`;
    const type = r('INDEX_TYPE') ?? 'BTREE';
    const hidden = r('IS_VISIBLE') === 'NO' || r('IGNORED') === 'YES';
    const comment = r('INDEX_COMMENT') ?? '';
    const entry = parts.get(key) ?? { head: r('NON_UNIQUE') === '0' ? 'UNIQUE ' : '', cols: [],
      tail: `${type === 'BTREE' ? '' : ` ${type}`}${hidden ? ' INVISIBLE' : ''}${comment ? ` COMMENT ${JSON.stringify(comment)}` : ''}` };
    entry.cols.push(`${r('COLUMN_NAME') ?? `(${r('EXPRESSION') ?? '?'})`}${r('SUB_PART') ? `(${r('SUB_PART')})` : ''}${r('COLLATION') === 'D' ? ' DESC' : ''}`);
    parts.set(key, entry);
  }
  return Object.fromEntries([...parts].map(([k, e]) => [k, `${e.head}(${e.cols.join(',')})${e.tail}`]));
}

/** One line per fact that differs, is missing or is extra on the target. */
export function diffSchema(database: string, source: SchemaFacts, target: SchemaFacts): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(source)) {
    if (!(k in target)) out.push(`${database}: ${k} is missing on the target`);
    else if (target[k] !== v) out.push(`${database}: ${k} differs: source ${clip(v)} / target ${clip(target[k]!)}`);
  }
  for (const k of Object.keys(target)) if (!(k in source)) out.push(`${database}: ${k} exists only on the target`);
  return out;
}

const clip = (s: string) => (s.length > 160 ? `${s.slice(0, 157)}…` : s);
