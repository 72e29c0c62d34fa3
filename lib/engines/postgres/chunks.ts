/**
 * Splitting a table into primary-key ranges of about `chunkBytes` each, read in the snapshot. A single
 * integer key is cut arithmetically from its min and max (no scan); any other key by keyset steps
 * (`WHERE key > last ORDER BY key OFFSET n LIMIT 1`, one pass over the key). A table without a key, or
 * small enough, is one chunk.
 */
import type pg from 'pg';
import { qi, qn } from './connect.ts';
import { keyOrder, keyTextSelect, rangeWhere, WHOLE, type KeyRange } from './checksum.ts';
import type { TableInfo } from './catalog.ts';

const INTEGER = /^(smallint|integer|bigint)$/;

export async function planChunks(c: pg.Client, t: TableInfo, chunkBytes: number): Promise<KeyRange[]> {
  const n = Math.ceil(t.bytes / chunkBytes);
  if (t.key.length === 0 || n < 2) return [WHOLE];
  const from = `ONLY ${qn(t.schema, t.name)}`;
  const keyCol = t.columns.find((x) => x.name === t.key[0])!;
  if (t.key.length === 1 && INTEGER.test(keyCol.type)) {
    const r = await c.query<{ lo: string | null; hi: string | null }>(`SELECT min(${qi(keyCol.name)})::text AS lo, max(${qi(keyCol.name)})::text AS hi FROM ${from}`);
    const { lo, hi } = r.rows[0]!;
    if (lo === null || hi === null) return [WHOLE];
    const a = BigInt(lo);
    const b = BigInt(hi);
    const parts = BigInt(n) > b - a ? Number(b - a) || 1 : n;
    const cuts = Array.from({ length: parts - 1 }, (_, i) => String(a + ((b - a) * BigInt(i + 1)) / BigInt(parts)));
    return toRanges(cuts.map((x) => [x]));
  }
  const rows = t.estRows > 0 ? t.estRows : Number((await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${from}`)).rows[0]!.n);
  const step = Math.max(1000, Math.ceil(rows / n));
  const cuts: string[][] = [];
  for (;;) {
    const where = rangeWhere(t, { lo: cuts.at(-1) ?? null, hi: null });
    const r = await c.query<Record<string, string>>(`SELECT ${keyTextSelect(t)} FROM ${from} WHERE ${where} ORDER BY ${keyOrder(t)} OFFSET ${step - 1} LIMIT 1`);
    if (r.rows.length === 0) break;
    cuts.push(t.key.map((_, i) => r.rows[0]![`k${i}`]!));
  }
  return toRanges(cuts);
}

/** Cuts (inclusive upper keys) → ranges tiling the key space, the last one open. */
function toRanges(cuts: readonly (readonly string[])[]): KeyRange[] {
  const out: KeyRange[] = [];
  let lo: readonly string[] | null = null;
  for (const cut of cuts) {
    out.push({ lo, hi: cut });
    lo = cut;
  }
  out.push({ lo, hi: null });
  return out;
}
