/**
 * Turning the verify steps' outputs into report lines. Engines report in their own shapes; this reads
 * the documented ones (MySQL per-table entries, Redis per-db reports and app checks) and tolerates
 * absent fields, so a report is always written.
 */
import type { AppCheckLine, RedisDbLine, TableLine } from './types.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);

function first(o: Obj, paths: string[]): unknown {
  for (const p of paths) {
    let v: unknown = o;
    for (const k of p.split('.')) v = isObj(v) ? v[k] : undefined;
    if (v !== undefined) return v;
  }
  return undefined;
}

/** Depth-first search for the first array/object under one of `keys`. */
export function findUnder(value: unknown, keys: readonly string[], depth = 3): unknown {
  if (!isObj(value) || depth < 0) return undefined;
  for (const k of keys) if (value[k] !== undefined) return value[k];
  for (const v of Object.values(value)) {
    const found = findUnder(v, keys, depth - 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

export function tableLines(data: unknown): TableLine[] {
  const raw = findUnder(data, ['tables']);
  const list = Array.isArray(raw) ? raw : isObj(raw) ? Object.entries(raw).map(([table, v]) => ({ table, ...(isObj(v) ? v : {}) })) : [];
  return list.filter(isObj).map((t) => {
    const line: TableLine = {
      table: str(first(t, ['table', 'name', 'id'])) ?? '?',
      ...opt('sourceRows', num(first(t, ['sourceRows', 'expectedRows', 'source.rows', 'source.count', 'rows.source', 'sourceCount']))),
      ...opt('targetRows', num(first(t, ['targetRows', 'actualRows', 'target.rows', 'target.count', 'rows.target', 'targetCount']))),
      ...opt('sourceChecksum', str(first(t, ['sourceChecksum', 'source.checksum', 'checksum.source']))),
      ...opt('targetChecksum', str(first(t, ['targetChecksum', 'target.checksum', 'checksum.target']))),
      ok: false,
    };
    const explicit = first(t, ['ok', 'match', 'equal']);
    const ok = typeof explicit === 'boolean' ? explicit
      : line.sourceRows === line.targetRows && line.sourceChecksum === line.targetChecksum;
    return { ...line, ok };
  });
}

export function redisDbLines(data: unknown): RedisDbLine[] {
  const raw = findUnder(data, ['dbs', 'databases']);
  if (!isObj(raw)) return [];
  return Object.entries(raw).filter(([, v]) => isObj(v)).map(([db, v]) => {
    const o = v as Obj;
    return {
      db: Number(db),
      ...opt('sourceKeys', num(o.sourceKeys)), ...opt('targetKeys', num(o.targetKeys)),
      types: isObj(o.types) ? Object.fromEntries(Object.entries(o.types).map(([k, n]) => [k, num(n) ?? 0])) : {},
      ...opt('expiredDuringWindow', num(o.expiredDuringWindow)),
    };
  }).sort((a, b) => a.db - b.db);
}

export function appCheckLines(data: unknown): AppCheckLine[] {
  const raw = findUnder(data, ['categories', 'app']);
  if (!isObj(raw)) return [];
  return Object.entries(raw).filter(([, v]) => isObj(v)).map(([category, v]) => {
    const o = v as Obj;
    return { category, source: num(o.source) ?? 0, target: num(o.target) ?? 0, differing: num(o.differing) ?? 0 };
  });
}

export function findingsOf(data: unknown): string[] {
  const raw = findUnder(data, ['findings']);
  return Array.isArray(raw) ? raw.map(String) : [];
}

export function okOf(data: unknown): boolean | undefined {
  return isObj(data) && typeof data.ok === 'boolean' ? data.ok : undefined;
}

function opt<K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [k]: v }) as { [P in K]?: V };
}
