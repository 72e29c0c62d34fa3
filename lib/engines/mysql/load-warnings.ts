/**
 * Load warnings judged by the value the target holds, not by the warning. A lax source (`sql_mode=''`
 * for years) holds values no strict server accepts on INSERT: ENUM's empty error value (index 0), zero
 * dates, zero-in-date parts. Loading them raises warnings (1265, 1264, 1292, 1366 …) although the target
 * ends up holding exactly the source's bytes. So data is loaded in a non-strict session, as MySQL Shell's
 * loadDump and mysqldump's output do, each warning is mapped to its row's key and column, and the chunk
 * is accepted when the range read back is the chunk (load-chunk.ts, chunk-compare.ts), refused otherwise.
 */
import { createReadStream } from 'node:fs';
import type { PoolConnection } from 'mysql2/promise';
import type { TableInfo } from './catalog.ts';
import { storedColumns } from './catalog.ts';
import { keyColumns } from './checksum.ts';
import { parseRows } from './tsv.ts';
import { safeServerText } from './server-message.ts';

/** One warning the server raised while loading, as the report lists it. */
export interface LoadWarning {
  /** `db.table` */
  readonly table: string;
  /** The column the server named, or null (a row-level warning). */
  readonly column: string | null;
  /** The row's primary key as an operator reads it (`id 42`), or null when unknown. */
  readonly key: string | null;
  readonly level: string;
  readonly code: number;
  /** The server's message without any row value (server-message.ts): names a column and row number. */
  readonly message: string;
}

/** A warning grouped per table, column and code: listed once, with how often and where first. */
export interface LoadWarningGroup {
  readonly table: string;
  readonly column: string | null;
  readonly code: number;
  readonly level: string;
  /** The first message seen. */
  readonly message: string;
  readonly count: number;
  /** The first few keys (up to 5). */
  readonly keys: readonly string[];
}

/** A warning with the 1-based row of the chunk it refers to (0: none named). */
export interface RawWarning {
  readonly level: string;
  readonly code: number;
  readonly message: string;
  readonly column: string | null;
  readonly row: number;
}

/** Warnings detailed per chunk at most; the rest are counted. Set as the session's max_error_count. */
export const MAX_WARNINGS = 1000;

/**
 * Modes dropped for the load: those that refuse or change values the source already holds (strictness,
 * the zero-date checks, MariaDB's EMPTY_STRING_IS_NULL) and those one flavor lacks (MariaDB's
 * NO_AUTO_CREATE_USER, SIMULTANEOUS_ASSIGNMENT and TIME_ROUND_FRACTIONAL; MySQL 8's TIME_TRUNCATE_FRACTIONAL),
 * which the other refuses in SET sql_mode. None of them changes how a value that fits is stored.
 */
const DROPPED = /^(STRICT_TRANS_TABLES|STRICT_ALL_TABLES|TRADITIONAL|NO_ZERO_DATE|NO_ZERO_IN_DATE|ERROR_FOR_DIVISION_BY_ZERO|EMPTY_STRING_IS_NULL|NO_AUTO_CREATE_USER|SIMULTANEOUS_ASSIGNMENT|TIME_ROUND_FRACTIONAL|TIME_TRUNCATE_FRACTIONAL)$/i;

/**
 * The session sql_mode for loading data and creating tables: the source's modes minus strictness and the
 * zero-date checks (MySQL Shell's loadDump likewise loads under the source's session mode, never a
 * stricter one), plus NO_AUTO_VALUE_ON_ZERO so an id 0 stays 0. A value that does not fit then loads with
 * a warning instead of failing, and the range read back decides whether it is what the source holds.
 * MySQL 8 and MariaDB spell every mode kept here the same way.
 */
export function dataLoadSqlMode(sourceMode: string): string {
  const modes = sourceMode.split(',').map((s) => s.trim()).filter((s) => s && !DROPPED.test(s));
  return [...new Set([...modes, 'NO_AUTO_VALUE_ON_ZERO'])].join(',');
}

// MySQL 8: for column 'c' at row 3; MariaDB: for column `db`.`t`.`c` at row 3; LOAD DATA: Row 3 …
const COLUMN_ROW = /for column (?:`(?:[^`]|``)*`\.`(?:[^`]|``)*`\.)?[`']((?:[^`']|``)+)[`'] at row (\d+)/i;
const ROW_FIRST = /^Row (\d+)\b/i;

/** The column and row a warning message names (either may be missing). */
export function parseWarning(message: string): { column: string | null; row: number } {
  const m = COLUMN_ROW.exec(message);
  if (m) return { column: m[1]!.replace(/``/g, '`'), row: Number(m[2]) };
  const r = ROW_FIRST.exec(message);
  return { column: null, row: r ? Number(r[1]) : 0 };
}

/** `SHOW WARNINGS` right after a statement; rows renumbered from `firstRow` (its first row's index in the chunk, 1-based). */
export async function readWarnings(c: PoolConnection, firstRow: number): Promise<RawWarning[]> {
  const [rows] = await c.query(`SHOW WARNINGS LIMIT ${MAX_WARNINGS}`);
  return (rows as Array<{ Level: unknown; Code: unknown; Message: unknown }>).map((w) => {
    const raw = String(w.Message);
    const at = parseWarning(raw);
    // 1366/1292 quote the row's value: only the names and the row number are kept.
    return { level: String(w.Level), code: Number(w.Code), message: safeServerText(Number(w.Code), raw), column: at.column, row: at.row ? at.row + firstRow - 1 : 0 };
  });
}

/** The displayable key of each wanted chunk row (1-based), read back from the chunk file. */
export async function keysOfRows(t: TableInfo, path: string, wanted: ReadonlySet<number>): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  const stored = storedColumns(t);
  const idx = keyColumns(t).map((k) => stored.indexOf(k));
  if (!wanted.size || !idx.length || idx.some((i) => i < 0)) return out;
  const last = Math.max(...wanted);
  let n = 0;
  for await (const row of parseRows(createReadStream(path))) {
    if (wanted.has(++n)) out.set(n, showRowKey(t, idx.map((i) => row[i] ?? null)));
    if (n >= last) break;
  }
  return out;
}

/** `id 42`, `(user_id, tag) (3, abc)` */
export function showRowKey(t: TableInfo, values: ReadonlyArray<Buffer | null>): string {
  const cols = keyColumns(t);
  const show = (v: Buffer | null, i: number) => (v === null ? 'NULL' : /binary|blob/.test(cols[i]!.dataType) ? `0x${v.toString('hex')}` : v.toString('utf8'));
  return cols.length === 1 ? `${cols[0]!.name} ${show(values[0]!, 0)}` : `(${cols.map((c) => c.name).join(', ')}) (${values.map(show).join(', ')})`;
}

/** Raw warnings of one chunk → report entries (key looked up in the chunk file). */
export async function describeWarnings(t: TableInfo, path: string, raw: readonly RawWarning[]): Promise<LoadWarning[]> {
  const keys = await keysOfRows(t, path, new Set(raw.map((w) => w.row).filter((r) => r > 0)));
  const table = `${t.database}.${t.name}`;
  return raw.map((w) => ({ table, column: w.column, key: keys.get(w.row) ?? (w.row ? `row ${w.row} of the chunk` : null), level: w.level, code: w.code, message: w.message }));
}

/** Group warnings by table, column and code, so each is listed once however often it was raised. */
export function groupWarnings(ws: Iterable<LoadWarning>): LoadWarningGroup[] {
  const groups = new Map<string, { g: Omit<LoadWarningGroup, 'count' | 'keys'>; count: number; keys: string[] }>();
  for (const w of ws) {
    const id = `${w.table}\0${w.column ?? ''}\0${w.code}`;
    const e = groups.get(id) ?? { g: { table: w.table, column: w.column, code: w.code, level: w.level, message: w.message }, count: 0, keys: [] };
    e.count++;
    if (w.key && e.keys.length < 5 && !e.keys.includes(w.key)) e.keys.push(w.key);
    groups.set(id, e);
  }
  return [...groups.values()].map((e) => ({ ...e.g, count: e.count, keys: e.keys }))
    .sort((a, b) => a.table.localeCompare(b.table) || (a.column ?? '').localeCompare(b.column ?? '') || a.code - b.code);
}

/** One line per group, for logs and the report. */
export function formatWarningGroup(g: LoadWarningGroup): string {
  const where = `${g.table}${g.column ? `.${g.column}` : ''}`;
  return `${where}: ${g.level} ${g.code} ×${g.count} (${g.message}); keys ${g.keys.join('; ') || 'unknown'} — the target holds the source's value (the chunk read back equal)`;
}
