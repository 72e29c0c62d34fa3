/**
 * One digest algorithm on both sides, per table. A table with a primary key: a key range's digest is its
 * row count and the sha256 of `COPY (SELECT stored columns … WHERE range ORDER BY key) TO STDOUT` — the
 * very bytes the export streams into the chunk file, so the export reads each range once (the digest is
 * the file's sha256), and verify and a resumed import run the same COPY on the target and hash what it
 * sends. The COPY forms are the same on every server ≥ 12: binary forms of built-in types (catalog.ts
 * picks binary only where no user type OID is carried), text forms fixed by connect.ts's session settings,
 * rows in key order (text-like key columns in "C" order).
 *
 * A table without a key has no order both sides agree on: its single chunk keeps the server-side
 * checksum below (row count and the order-independent sum), computed after its COPY.
 *
 * The server-side checksum (keyless tables; the row hashes bisection compares): the sum (numeric, exact, order-independent) of a 64-bit hash per row. From PostgreSQL 14 (the
 * manifest records which, per table) the hash is `hash_record_extended(ROW(stored columns), 0)`: each
 * value hashed by its type's own extended hash (the functions hash partitioning relies on, stable across
 * majors), no text conversion — about 2.4× cheaper than the text form; values whose hash is looser than
 * their text (numeric, floats, interval, extension types, nondeterministic collations) go in as text
 * (catalog.ts). Before 14 it is `hashtextextended(ROW(…)::text, 0)`, the row's text form. Text forms are
 * fixed by the session settings every ferry connection runs (connect.ts: UTC, ISO dates,
 * extra_float_digits 3, hex bytea), so the same rows give the same sum on any server ≥ 12. Both hashes
 * work on bytes: equal on little-endian hosts (x86-64, arm64).
 *
 * Key ranges are `(lo, hi]` over the primary key, compared as a row value; text-like key columns compare
 * with COLLATE "C" so a range holds the same rows under a glibc and an ICU/macOS collation.
 */
import type pg from 'pg';
import { copyOutTo } from './copy-protocol.ts';
import { qi, ql, qn } from './connect.ts';
import { storedColumns, type TableInfo } from './catalog.ts';

/** `lo` exclusive, `hi` inclusive; each the key's column values in text form; null is unbounded. */
export interface KeyRange {
  readonly lo: readonly string[] | null;
  readonly hi: readonly string[] | null;
}

export const WHOLE: KeyRange = { lo: null, hi: null };

export interface RangeSum {
  readonly rows: number;
  /** sha256 (hex) of the ordered COPY (keyed tables), or the decimal text of the row-hash sum (keyless; '0' when empty). */
  readonly sum: string;
}

/** The COPY option clause of a table's chunk files (binary: no text conversion on either server). */
export function copyFormat(t: TableInfo): string {
  return t.format === 'binary' ? ' (FORMAT binary)' : '';
}

/**
 * The COPY of a range that the export writes and every digest reads: a keyed table's rows in key order
 * (the SELECT form, even for a whole table), a keyless table by name (its only chunk is the whole table).
 */
export function copyOutSql(t: TableInfo, range: KeyRange): string {
  const cols = storedColumns(t).map((c) => qi(c.name)).join(', ');
  const fmt = copyFormat(t);
  if (!t.key.length) return `COPY ${qn(t.schema, t.name)} (${cols}) TO STDOUT${fmt}`;
  return `COPY (SELECT ${cols} FROM ONLY ${qn(t.schema, t.name)} WHERE ${rangeWhere(t, range)} ORDER BY ${keyOrder(t)}) TO STDOUT${fmt}`;
}

/** The digest a range's chunk carries (see the top of this file): the same on the source and the target. */
export async function rangeDigest(c: pg.Client, t: TableInfo, r: KeyRange): Promise<RangeSum> {
  if (!t.key.length) return rangeChecksum(c, t, r);
  const out = await copyOutTo(c, copyOutSql(t, r));
  return { rows: out.rows, sum: out.sha256 };
}

/** The row's 64-bit hash: `record` (PostgreSQL ≥ 14) hashes each value by its type, `text` the row's text. */
export function rowHashExpr(t: TableInfo): string {
  const cols = storedColumns(t);
  if (t.rowHash === 'record') return `hash_record_extended(ROW(${cols.map((c) => (c.hashable ? qi(c.name) : `${qi(c.name)}::text`)).join(', ')}), 0)`;
  return `hashtextextended(ROW(${cols.map((c) => qi(c.name)).join(', ')})::text, 0)`;
}

function keyCols(t: TableInfo) {
  return t.key.map((k) => t.columns.find((c) => c.name === k)!);
}

/** The key as a row value expression (collatable parts in "C"). */
export function keyExpr(t: TableInfo): string {
  return `ROW(${keyCols(t).map((c) => (c.collatable ? `${qi(c.name)} COLLATE "C"` : qi(c.name))).join(', ')})`;
}

/** The key's columns as text, in key order (for SELECT lists). */
export function keyTextSelect(t: TableInfo): string {
  return keyCols(t).map((c, i) => `${qi(c.name)}::text AS k${i}`).join(', ');
}

/** ORDER BY for the key that matches `keyExpr`'s comparison. */
export function keyOrder(t: TableInfo): string {
  return keyCols(t).map((c) => (c.collatable ? `${qi(c.name)} COLLATE "C"` : qi(c.name))).join(', ');
}

function keyLiteral(t: TableInfo, values: readonly string[]): string {
  return `ROW(${keyCols(t).map((c, i) => `${ql(values[i]!)}::${c.type}${c.collatable ? ' COLLATE "C"' : ''}`).join(', ')})`;
}

/** WHERE clause of a range (`true` for the whole table). */
export function rangeWhere(t: TableInfo, r: KeyRange): string {
  const parts: string[] = [];
  if (r.lo) parts.push(`${keyExpr(t)} > ${keyLiteral(t, r.lo)}`);
  if (r.hi) parts.push(`${keyExpr(t)} <= ${keyLiteral(t, r.hi)}`);
  return parts.length ? parts.join(' AND ') : 'true';
}

/** Count and hash sum of a range, in the client's current transaction (the export's snapshot). */
export async function rangeChecksum(c: pg.Client, t: TableInfo, r: KeyRange): Promise<RangeSum> {
  const res = await c.query<{ n: string; s: string }>(
    `SELECT count(*)::text AS n, coalesce(sum(${rowHashExpr(t)}), 0)::text AS s FROM ONLY ${qn(t.schema, t.name)} WHERE ${rangeWhere(t, r)}`);
  return { rows: Number(res.rows[0]!.n), sum: res.rows[0]!.s };
}

/** Each row's key (text) and hash in a small range: what bisection compares at the end. */
export async function rowHashes(c: pg.Client, t: TableInfo, r: KeyRange, limit: number): Promise<Map<string, string>> {
  const res = await c.query<Record<string, string>>(
    `SELECT ${keyTextSelect(t)}, ${rowHashExpr(t)}::text AS h FROM ONLY ${qn(t.schema, t.name)} WHERE ${rangeWhere(t, r)} ORDER BY ${keyOrder(t)} LIMIT ${limit}`);
  const out = new Map<string, string>();
  for (const row of res.rows) out.set(JSON.stringify(t.key.map((_, i) => row[`k${i}`])), row.h!);
  return out;
}

/** Human form of a range: `id in (100, 200]`, `(a, b) in (…]`. */
export function describeRange(t: TableInfo, r: KeyRange): string {
  const k = t.key.length === 1 ? t.key[0]! : `(${t.key.join(', ')})`;
  const v = (x: readonly string[] | null, open: string) => (x ? (x.length === 1 ? x[0]! : `(${x.join(', ')})`) : open);
  return t.key.length ? `${k} in (${v(r.lo, '-∞')}, ${v(r.hi, '+∞')}]` : 'whole table (no primary key)';
}
