/**
 * Bisection of a mismatched key range down to rows: both servers checksum halves of the range (split
 * at the source's median key) until a part holds few rows, then those rows' keys and checksums are
 * compared one by one. Needs the source to be unchanged since the export (the writers are stopped).
 */
import { createReadStream } from 'node:fs';
import type { Pool, PoolConnection } from 'mysql2/promise';
import { rawRows, withBinaryResults } from './row-stream.ts';
import { q } from './connect.ts';
import { exportExpr, storedColumns, type TableInfo } from './catalog.ts';
import { keyColumns, rangeChecksum, rangeWhere, rowChecksumExpr, type KeyRange } from './checksum.ts';
import { parseRows } from './tsv.ts';
import { showRowKey } from './load-warnings.ts';

export interface RowDifference {
  /** Key values, displayable. */
  readonly key: string;
  readonly issue: 'missing on target' | 'extra on target' | 'differs';
}

export interface RangeDifference {
  readonly range: string;
  readonly sourceRows: number;
  readonly targetRows: number;
  /** Differing rows (up to the limit); empty when the range was not bisected further. */
  readonly rows: readonly RowDifference[];
}

const LEAF_ROWS = 64;

/** Narrow `range` of `t` to the differing sub-ranges and rows, listing at most `limit` rows. */
export async function bisectRange(source: Pool, target: Pool, t: TableInfo, range: KeyRange, limit: number): Promise<RangeDifference[]> {
  const out: RangeDifference[] = [];
  let listed = 0;
  const walk = async (r: KeyRange): Promise<void> => {
    const [s, d] = await Promise.all([rangeChecksum(source, t, r), rangeChecksum(target, t, r)]);
    if (s.rows === d.rows && s.sum === d.sum) return;
    const whole = { range: describeRange(t, r), sourceRows: s.rows, targetRows: d.rows };
    if (d.rows === 0 || s.rows === 0 || listed >= limit || keyColumns(t).length === 0) { out.push({ ...whole, rows: [] }); return; }
    if (Math.max(s.rows, d.rows) <= LEAF_ROWS) {
      const rows = (await diffRows(source, target, t, r)).slice(0, limit - listed);
      listed += rows.length;
      out.push({ ...whole, rows });
      return;
    }
    const mid = await keyAt(source, t, r, Math.floor(s.rows / 2) - 1);
    await walk({ lo: r.lo, hi: mid });
    await walk({ lo: mid, hi: r.hi });
  };
  await walk(range);
  return out;
}

/** Keys of `range` with their row checksums, as `hexkey → checksum`. */
async function rowSums(db: Pool, t: TableInfo, r: KeyRange): Promise<Map<string, string>> {
  const keys = keyColumns(t).map((k) => q(k.name));
  const rows = await rawQuery(db, `SELECT ${keys.join(', ')}, ${rowChecksumExpr(t)} FROM ${q(t.database)}.${q(t.name)} WHERE ${rangeWhere(t, r)} ORDER BY ${keys.join(', ')}`);
  return new Map(rows.map((row) => [row.slice(0, keys.length).map((b) => (b ?? Buffer.alloc(0)).toString('hex')).join(','), String(row[keys.length])]));
}

async function diffRows(source: Pool, target: Pool, t: TableInfo, r: KeyRange): Promise<RowDifference[]> {
  const [s, d] = await Promise.all([rowSums(source, t, r), rowSums(target, t, r)]);
  const out: RowDifference[] = [];
  for (const [k, v] of s) {
    if (!d.has(k)) out.push({ key: showKey(t, k.split(',')), issue: 'missing on target' });
    else if (d.get(k) !== v) out.push({ key: showKey(t, k.split(',')), issue: 'differs' });
  }
  for (const k of d.keys()) if (!s.has(k)) out.push({ key: showKey(t, k.split(',')), issue: 'extra on target' });
  return out;
}

async function keyAt(db: Pool, t: TableInfo, r: KeyRange, offset: number): Promise<string[]> {
  const keys = keyColumns(t).map((k) => q(k.name));
  const rows = await rawQuery(db, `SELECT ${keys.join(', ')} FROM ${q(t.database)}.${q(t.name)} WHERE ${rangeWhere(t, r)} ORDER BY ${keys.join(', ')} LIMIT 1 OFFSET ${Math.max(0, offset)}`);
  return rows[0]!.map((b) => (b ?? Buffer.alloc(0)).toString('hex'));
}

/** Rows as raw bytes (key values must keep their exact bytes to be used as range bounds). */
async function rawQuery(db: Pool, sql: string): Promise<Array<Array<Buffer | null>>> {
  const c = await db.getConnection();
  try { return await rawConnQuery(c, sql); } finally { c.release(); }
}

function rawConnQuery(c: PoolConnection, sql: string): Promise<Array<Array<Buffer | null>>> {
  return withBinaryResults(c, () => rawRows(c, sql));
}

/** Where a loaded chunk first differs from its file: the row's key and the column, with both sizes (never the values). */
export interface ValueDifference {
  readonly key: string;
  readonly column: string;
  /** "8 bytes in the export, 3 on the target" */
  readonly detail: string;
}

/**
 * Compare the rows `c` sees in `range` (its own uncommitted load included) with the chunk file, value by
 * value, read the way the export read them; the first difference in key order, or undefined.
 */
export async function firstValueDifference(c: PoolConnection, t: TableInfo, range: KeyRange, file: string): Promise<ValueDifference | undefined> {
  const cols = storedColumns(t);
  const keys = keyColumns(t);
  const kIdx = keys.map((k) => cols.indexOf(k));
  if (!keys.length || kIdx.some((i) => i < 0)) return undefined;
  const order = keys.map((k) => q(k.name)).join(', ');
  const rows = await rawConnQuery(c, `SELECT ${cols.map(exportExpr).join(', ')} FROM ${q(t.database)}.${q(t.name)} WHERE ${rangeWhere(t, range)} ORDER BY ${order}`);
  const id = (r: ReadonlyArray<Buffer | null>) => kIdx.map((i) => (r[i] ?? Buffer.alloc(0)).toString('hex')).join(',');
  const onTarget = new Map(rows.map((r) => [id(r), r]));
  const size = (v: Buffer | null) => (v === null ? 'NULL' : `${v.length} bytes`);
  for await (const want of parseRows(createReadStream(file))) {
    const key = showRowKey(t, kIdx.map((i) => want[i] ?? null));
    const got = onTarget.get(id(want));
    if (!got) return { key, column: keys[0]!.name, detail: 'the row is missing on the target' };
    for (let i = 0; i < cols.length; i++) {
      const a = want[i] ?? null;
      const b = got[i] ?? null;
      if (a === null && b === null) continue;
      if (a === null || b === null || !a.equals(b)) return { key, column: cols[i]!.name, detail: `${size(a)} in the export, ${size(b)} on the target` };
    }
  }
  return undefined;
}

/** `id 1..500`, `(user_id, session_id) ('3','ab')..` — a range as an operator reads it. */
export function describeRange(t: TableInfo, r: KeyRange): string {
  const cols = keyColumns(t);
  if (!cols.length) return 'whole table (no primary key)';
  const name = cols.length === 1 ? cols[0]!.name : `(${cols.map((c) => c.name).join(', ')})`;
  const lo = r.lo ? `> ${showKey(t, r.lo)}` : '';
  const hi = r.hi ? `<= ${showKey(t, r.hi)}` : '';
  return `${name} ${[lo, hi].filter(Boolean).join(' and ') || 'any'}`;
}

export function showKey(t: TableInfo, hex: readonly string[]): string {
  const cols = keyColumns(t);
  const vals = hex.map((h, i) => {
    const b = Buffer.from(h, 'hex');
    return /binary|blob/.test(cols[i]?.dataType ?? '') ? `0x${h}` : b.toString('utf8');
  });
  return vals.length === 1 ? vals[0]! : `(${vals.join(', ')})`;
}
