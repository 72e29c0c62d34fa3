/**
 * ONE server-side checksum, run identically on source and target (MySQL 8 and MariaDB share every
 * function it uses): per primary-key range, `COUNT(*)` and `SUM(CRC32(CONCAT_WS('|', cols…, nullmap)))`.
 * The null map keeps NULL apart from the empty string (CONCAT_WS skips NULLs). A SUM (not XOR) so duplicate rows never cancel.
 */
import type { Pool, PoolConnection } from 'mysql2/promise';
import { q } from './connect.ts';
import { readExpr, storedColumns, str, type ColumnInfo, type TableInfo } from './catalog.ts';

/** A primary-key range: `lo` exclusive, `hi` inclusive; null means unbounded. Values are hex of the raw bytes. */
export interface KeyRange {
  readonly lo: readonly string[] | null;
  readonly hi: readonly string[] | null;
}

export interface RangeSum {
  readonly rows: number;
  /** Decimal string of the CRC32 sum. */
  readonly sum: string;
}

const INTEGER = /^(tinyint|smallint|mediumint|int|integer|bigint|decimal|numeric|float|double|real)$/;

/** A SQL literal for a key value (raw bytes, hex-encoded) that compares in the column's own order. */
export function keyLiteral(col: ColumnInfo, hex: string): string {
  const raw = Buffer.from(hex, 'hex');
  if (INTEGER.test(col.dataType)) {
    const s = raw.toString('latin1');
    if (!/^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(s)) throw new TypeError(`Expected a number for key column ${col.name}, got ${JSON.stringify(s)}`);
    return s;
  }
  if (col.charset && col.collation) return `_${col.charset} X'${hex}' COLLATE ${col.collation}`;
  if (/binary|blob|bit/.test(col.dataType)) return `X'${hex}'`;
  return `'${raw.toString('latin1').replace(/[^0-9:. -]/g, '')}'`; // dates and times
}

/** `(k1,k2) > (v1,v2)` spelled out so both optimizers use a range scan. */
function compare(cols: readonly ColumnInfo[], vals: readonly string[], op: '>' | '<='): string {
  const lits = cols.map((c, i) => keyLiteral(c, vals[i]!));
  const strict = op === '>' ? '>' : '<';
  const parts: string[] = [];
  for (let i = 0; i < cols.length; i++) {
    const eqs = cols.slice(0, i).map((c, j) => `${q(c.name)} = ${lits[j]}`);
    const last = i === cols.length - 1 && op === '<=' ? '<=' : strict;
    parts.push([...eqs, `${q(cols[i]!.name)} ${last} ${lits[i]}`].join(' AND '));
  }
  return parts.length === 1 ? parts[0]! : `(${parts.map((p) => `(${p})`).join(' OR ')})`;
}

/** `col = literal AND …` selecting one key (hex of the raw bytes of each key column). */
export function keyEquals(cols: readonly ColumnInfo[], hex: readonly string[]): string {
  return cols.map((c, i) => `${q(c.name)} = ${keyLiteral(c, hex[i]!)}`).join(' AND ');
}

export function keyColumns(t: TableInfo): ColumnInfo[] {
  return t.primaryKey.map((k) => t.columns.find((c) => c.name === k)!);
}

/** The WHERE condition selecting `range` of `t` ('1' for a table without a key or an unbounded range). */
export function rangeWhere(t: TableInfo, range: KeyRange): string {
  const cols = keyColumns(t);
  const conds: string[] = [];
  if (cols.length && range.lo) conds.push(compare(cols, range.lo, '>'));
  if (cols.length && range.hi) conds.push(compare(cols, range.hi, '<='));
  return conds.length ? conds.join(' AND ') : '1';
}

/**
 * The per-row checksum expression of `t`. Character columns are cast to bytes only when the table mixes
 * collations (CONCAT_WS would refuse the mix); the null map covers nullable columns only. Both choices
 * follow from the schema alone, so source and target always run the same expression.
 */
export function rowChecksumExpr(t: TableInfo): string {
  const cols = storedColumns(t);
  const mixed = new Set(cols.filter((c) => c.text).map((c) => c.collation)).size > 1;
  const vals = cols.map((c) => (c.text && mixed ? `CAST(${q(c.name)} AS BINARY)` : readExpr(c)));
  const nullable = cols.filter((c) => c.nullable);
  const nulls = nullable.length ? [`CONCAT(${nullable.map((c) => `ISNULL(${q(c.name)})`).join(', ')})`] : [];
  return `CRC32(CONCAT_WS('|', ${[...vals, ...nulls].join(', ')}))`;
}

/** Count and checksum of `range` of `t`, computed by the server. */
export async function rangeChecksum(db: Pool | PoolConnection, t: TableInfo, range: KeyRange): Promise<RangeSum> {
  const [rows] = await db.query(
    `SELECT COUNT(*) AS n, COALESCE(SUM(${rowChecksumExpr(t)}), 0) AS s FROM ${q(t.database)}.${q(t.name)} WHERE ${rangeWhere(t, range)}`);
  const r = (rows as Array<{ n: unknown; s: unknown }>)[0]!;
  return { rows: Number(str(r.n)), sum: str(r.s) };
}
