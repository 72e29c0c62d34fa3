/**
 * A schema as comparable facts, `key → value`: columns (type, nullability, default, generation,
 * character set), indexes, foreign keys, CHECK constraints, table options (engine, explicit create
 * options such as ROW_FORMAT, comment, default collation, partitioning) and object bodies. DEFINERs live
 * in separate information_schema columns, so bodies compare modulo the DEFINER rewrite by construction.
 * CHECK constraints and table options were added later: an export recorded before them carries no
 * `RECORDED` fact, and then they are compared only where both sides have them (diffSchema).
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

/** An information_schema value as text, '' for NULL. */
const v = (x: unknown): string => (x == null ? '' : str(x));

/** Marks facts that hold CHECK constraints and table options; its value names the kinds. */
export const RECORDED = 'recorded facts';
const LATER_KINDS = ['check ', 'table ', 'partitions '];

export async function describeSchema(db: Pool | PoolConnection, database: string): Promise<SchemaFacts> {
  const facts: SchemaFacts = { ...(await indexFacts(db, database)), ...(await tableOptionFacts(db, database)), ...(await checkFacts(db, database)) };
  facts[RECORDED] = 'checks, table options';
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

/**
 * Table options, from information_schema.TABLES: ENGINE, the options the DDL gave explicitly (CREATE_OPTIONS:
 * row_format=…, key_block_size=…, stats_persistent=…; not ROW_FORMAT, whose default differs between servers
 * and versions), the default collation (it names the charset) and the comment. Partitioning from PARTITIONS.
 */
async function tableOptionFacts(db: Pool | PoolConnection, database: string): Promise<SchemaFacts> {
  const out: SchemaFacts = {};
  const [tables] = await db.query(`SELECT TABLE_NAME AS n, ENGINE AS e, CREATE_OPTIONS AS o, TABLE_COLLATION AS c, TABLE_COMMENT AS m
    FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'`, [database]);
  for (const r of tables as Array<Record<string, unknown>>) {
    // 'partitioned' is named by the partitions fact; the rest sorted (each server lists them in its own order).
    const opts = v(r.o).split(/\s+/).filter((x) => x && x !== 'partitioned').sort().join(' ');
    out[`table ${v(r.n)}`] = [`ENGINE=${v(r.e)}`, opts, `COLLATE=${v(r.c)}`, `COMMENT ${JSON.stringify(v(r.m))}`].filter(Boolean).join(' ');
  }
  const [parts] = await db.query(`SELECT TABLE_NAME AS n, PARTITION_METHOD AS pm, PARTITION_EXPRESSION AS pe, SUBPARTITION_METHOD AS sm,
      SUBPARTITION_EXPRESSION AS se, PARTITION_NAME AS p, SUBPARTITION_NAME AS sp, PARTITION_DESCRIPTION AS d
    FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = ? AND PARTITION_NAME IS NOT NULL
    ORDER BY TABLE_NAME, PARTITION_ORDINAL_POSITION, SUBPARTITION_ORDINAL_POSITION`, [database]);
  const by = new Map<string, { head: string; list: string[] }>();
  for (const r of parts as Array<Record<string, unknown>>) {
    const e = by.get(v(r.n)) ?? { head: `${v(r.pm)}(${v(r.pe)})${r.sm ? ` SUB ${v(r.sm)}(${v(r.se)})` : ''}`, list: [] };
    e.list.push(`${v(r.p)}${r.sp ? `.${v(r.sp)}` : ''}${r.d != null ? ` ${v(r.d)}` : ''}`);
    by.set(v(r.n), e);
  }
  for (const [n, e] of by) out[`partitions ${n}`] = `${e.head}: ${e.list.join(', ')}`;
  return out;
}

/**
 * CHECK constraints. MySQL 8.0.16+: CHECK_CONSTRAINTS has no TABLE_NAME (names are unique per schema), the
 * table and ENFORCED are in TABLE_CONSTRAINTS. MariaDB 10.2+: CHECK_CONSTRAINTS has TABLE_NAME (names are
 * unique per table; a column-level check is named after its column) and every check is enforced. A server
 * without the table (MySQL 5.7, which parses and ignores CHECK) has none.
 */
async function checkFacts(db: Pool | PoolConnection, database: string): Promise<SchemaFacts> {
  const out: SchemaFacts = {};
  const rows = await db.query('SELECT * FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ?', [database])
    .then(([r]) => r as Array<Record<string, unknown>>, () => null);
  if (!rows?.length) return out;
  let tableOf: Map<string, { table: string; enforced: string }> | undefined;
  if (!('TABLE_NAME' in rows[0]!)) {
    const [tc] = await db.query(`SELECT * FROM information_schema.TABLE_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? AND CONSTRAINT_TYPE = 'CHECK'`, [database]);
    tableOf = new Map((tc as Array<Record<string, unknown>>).map((r) => [v(r.CONSTRAINT_NAME), { table: v(r.TABLE_NAME), enforced: v(r.ENFORCED) }]));
  }
  for (const r of rows) {
    const name = v(r.CONSTRAINT_NAME);
    const t = tableOf ? tableOf.get(name) : { table: v(r.TABLE_NAME), enforced: '' };
    out[`check ${t?.table ?? '?'}.${name}`] = `CHECK ${checkClause(v(r.CHECK_CLAUSE))}${t?.enforced === 'NO' ? ' NOT ENFORCED' : ''}`;
  }
  return out;
}

/**
 * A CHECK clause as both flavors can compare it: MySQL 8 wraps it in parentheses and writes string literals
 * with their charset introducer (`(`s` <> _utf8mb4'x')`), MariaDB writes `` `s` <> 'x' ``.
 */
export function checkClause(clause: string): string {
  let c = clause.trim().replace(/\b_(?:utf8mb4|utf8mb3|utf8|latin1|binary|ascii)'/g, "'");
  while (c.startsWith('(') && c.endsWith(')') && balanced(c.slice(1, -1))) c = c.slice(1, -1).trim();
  return c;
}

/** True when parentheses outside quotes balance and never go below zero (the outer pair wraps all). */
function balanced(s: string): boolean {
  let depth = 0;
  let quote = '';
  for (const ch of s) {
    if (quote) { if (ch === quote) quote = ''; continue; }
    if (ch === "'" || ch === '"' || ch === '`') quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')' && --depth < 0) return false;
  }
  return depth === 0;
}

/**
 * One line per fact that differs, is missing or is extra on the target. Facts of the kinds added later
 * (checks, table options) are compared only when the source's were recorded too (an older export: not).
 */
export function diffSchema(database: string, source: SchemaFacts, target: SchemaFacts): string[] {
  if (!(RECORDED in source)) {
    target = Object.fromEntries(Object.entries(target).filter(([k]) => k !== RECORDED && !LATER_KINDS.some((p) => k.startsWith(p))));
  }
  const out: string[] = [];
  for (const [k, v] of Object.entries(source)) {
    if (!(k in target)) out.push(`${database}: ${k} is missing on the target`);
    else if (target[k] !== v) out.push(`${database}: ${k} differs: source ${clip(v)} / target ${clip(target[k]!)}`);
  }
  for (const k of Object.keys(target)) if (!(k in source)) out.push(`${database}: ${k} exists only on the target`);
  return out;
}

const clip = (s: string) => (s.length > 160 ? `${s.slice(0, 157)}…` : s);
