/**
 * What the export moves, read from the catalog inside the snapshot: the tables that hold rows (plain
 * tables and leaf partitions; a partitioned parent holds none), their stored columns (generated columns
 * are recomputed by the target), primary keys, sizes; sequences; materialized views; large objects.
 */
import type pg from 'pg';

export interface ColumnInfo {
  readonly name: string;
  /** `format_type` form (`numeric(12,2)`, `public.order_status`), schema-qualified where needed. */
  readonly type: string;
  /** Stored generated column: never copied, recomputed on the target. */
  readonly generated: boolean;
  /** Has a collation (text-like): key comparisons use COLLATE "C" so ranges agree across servers. */
  readonly collatable: boolean;
  /** Hashed by its type's own extended hash in the record checksum; false: hashed as its text form. */
  readonly hashable?: boolean;
}

export interface TableInfo {
  readonly schema: string;
  readonly name: string;
  readonly columns: readonly ColumnInfo[];
  /** Primary-key column names in key order; empty without a primary key. */
  readonly key: readonly string[];
  readonly bytes: number;
  /** reltuples (-1 or 0 when never analysed). */
  readonly estRows: number;
  /** The row hash of the checksums (checksum.ts): `record` from PostgreSQL 14, `text` before. */
  readonly rowHash?: 'record' | 'text';
  /**
   * COPY format of its chunk files: `binary` when every stored column is a built-in type (or an enum,
   * a domain or range of them, an array of a built-in type), whose binary forms are the same on every
   * major and carry no server-specific OID; else `text`.
   */
  readonly format?: 'binary' | 'text';
}

const TABLES_SQL = `
SELECT n.nspname AS schema, c.relname AS name, pg_relation_size(c.oid)::float8 AS bytes, c.reltuples::float8 AS est_rows,
  (SELECT json_agg(json_build_object('name', a.attname, 'type', pg_catalog.format_type(a.atttypid, a.atttypmod),
      'generated', a.attgenerated <> '', 'collatable', a.attcollation <> 0, 'typid', a.atttypid,
      'detcoll', coalesce((SELECT co.collisdeterministic FROM pg_collation co WHERE co.oid = a.attcollation), true)) ORDER BY a.attnum)
     FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
  (SELECT json_agg(a.attname ORDER BY k.ord)
     FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
     WHERE i.indrelid = c.oid AND i.indisprimary) AS key
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND c.relpersistence <> 't'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2`;

type RawColumn = ColumnInfo & { typid: number; detcoll: boolean };

/** Tables with their columns; `recordHash` (server ≥ 14) chooses the record row hash. */
export async function readTables(c: pg.Client, recordHash: boolean): Promise<TableInfo[]> {
  const r = await c.query<{ schema: string; name: string; bytes: number; est_rows: number; columns: RawColumn[] | null; key: string[] | null }>(TABLES_SQL);
  const types = await typeSets(c);
  return r.rows.map((x) => ({
    schema: x.schema, name: x.name, key: x.key ?? [], bytes: Number(x.bytes), estRows: Number(x.est_rows), rowHash: recordHash ? 'record' as const : 'text' as const,
    // json_build_object renders an oid as a JSON string.
    format: (x.columns ?? []).filter((col) => !col.generated).every((col) => types.binary.has(Number(col.typid))) ? 'binary' as const : 'text' as const,
    columns: (x.columns ?? []).map(({ typid, detcoll, ...col }) => ({ ...col, hashable: recordHash && detcoll && types.hashable.has(Number(typid)) })),
  }));
}

/**
 * Types whose own extended hash the record checksum may use: built-in types with a hash opclass whose
 * equality is byte-exact for what COPY carries, arrays and ranges of them, domains over them (enums
 * hash their labels' OIDs, which differ per server: they go in as text).
 * Numeric, floats and interval are hashed as text (their hashes ignore display scale, -0, '1 day' versus
 * '24:00:00'); jsonb is hashed natively (a number's scale inside it is not seen: 1.0 = 1.00); extension types
 * (citext's hash ignores case) and nondeterministic collations as text too.
 */
/** reg* types are OIDs of catalog objects: their text (a name) travels, their binary form (a number) does not. */
const OID_VALUED = /^_?reg/;

async function typeSets(c: pg.Client): Promise<{ hashable: Set<number>; binary: Set<number> }> {
  const r = await c.query<{ oid: number; name: string; typtype: string; cat: string; base: number; elem: number; sub: number | null; builtin: boolean; hash: boolean; io: boolean }>(`
    SELECT t.oid::int8 AS oid, t.typname::text AS name, t.typtype::text AS typtype, t.typcategory::text AS cat, t.typbasetype::int8 AS base, t.typelem::int8 AS elem, rg.rngsubtype::int8 AS sub,
      t.oid < 16384 AS builtin, t.typsend <> 0 AND t.typreceive <> 0 AS io,
      EXISTS (SELECT FROM pg_amproc p JOIN pg_opfamily f ON f.oid = p.amprocfamily JOIN pg_am am ON am.oid = f.opfmethod
              WHERE am.amname = 'hash' AND p.amprocnum = 2 AND p.amproclefttype = t.oid) AS hash
    FROM pg_type t LEFT JOIN pg_range rg ON rg.rngtypid = t.oid WHERE t.typisdefined`);
  const byOid = new Map(r.rows.map((x) => [Number(x.oid), x]));
  const names = await c.query<{ oid: number }>("SELECT oid::int8 AS oid FROM pg_type WHERE oid IN ('numeric'::regtype, 'float4'::regtype, 'float8'::regtype, 'money'::regtype, 'interval'::regtype)");
  const textOnly = new Set(names.rows.map((x) => Number(x.oid)));
  const memo = new Map<number, boolean>();
  const ok = (oid: number, depth = 0): boolean => {
    if (memo.has(oid)) return memo.get(oid)!;
    const t = byOid.get(oid);
    let v = false;
    if (t && depth < 6 && !textOnly.has(oid)) {
      if (t.typtype === 'd') v = ok(Number(t.base), depth + 1);
      else if (t.typtype === 'e') v = false; // hashenum hashes the label's OID, which differs per server
      else if (t.typtype === 'r') v = t.sub !== null && ok(Number(t.sub), depth + 1);
      else if (t.cat === 'A' && Number(t.elem) !== 0) v = ok(Number(t.elem), depth + 1);
      else v = t.builtin && t.hash && t.typtype === 'b' && !OID_VALUED.test(t.name);
    }
    memo.set(oid, v);
    return v;
  };
  const memoBin = new Map<number, boolean>();
  const bin = (oid: number, depth = 0): boolean => {
    if (memoBin.has(oid)) return memoBin.get(oid)!;
    const t = byOid.get(oid);
    let v = false;
    if (t && depth < 6) {
      if (t.typtype === 'd') v = bin(Number(t.base), depth + 1);
      else if (t.typtype === 'e') v = true;
      else if (t.typtype === 'r') v = t.sub !== null && bin(Number(t.sub), depth + 1);
      // array_send writes the element type's OID (array_recv refuses another): built-in elements only.
      else if (t.cat === 'A' && Number(t.elem) !== 0) v = Number(t.elem) < 16384 && bin(Number(t.elem), depth + 1);
      else v = t.builtin && t.io && t.typtype === 'b' && !OID_VALUED.test(t.name);
    }
    memoBin.set(oid, v);
    return v;
  };
  const all = [...byOid.keys()];
  return { hashable: new Set(all.filter((oid) => ok(oid))), binary: new Set(all.filter((oid) => bin(oid))) };
}

/** Columns COPY carries (generated ones are left to the target). */
export function storedColumns(t: TableInfo): ColumnInfo[] {
  return t.columns.filter((c) => !c.generated);
}

export interface SequenceState {
  readonly schema: string;
  readonly name: string;
  readonly lastValue: string;
  readonly isCalled: boolean;
}

/** Every sequence's position (sequences are not transactional: read as the export runs). */
export async function readSequences(c: pg.Client): Promise<SequenceState[]> {
  const r = await c.query<{ schema: string; name: string }>(`
    SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'S' AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
    ORDER BY 1, 2`);
  const out: SequenceState[] = [];
  for (const s of r.rows) {
    const v = await c.query<{ last_value: string; is_called: boolean }>(`SELECT last_value::text, is_called FROM ${q2(s.schema, s.name)}`);
    out.push({ schema: s.schema, name: s.name, lastValue: v.rows[0]!.last_value, isCalled: v.rows[0]!.is_called });
  }
  return out;
}

/** Materialized views that were populated on the source (refreshed on the target after the data). */
export async function readMatviews(c: pg.Client): Promise<Array<{ schema: string; name: string }>> {
  const r = await c.query<{ schema: string; name: string }>(`SELECT schemaname AS schema, matviewname AS name FROM pg_matviews WHERE ispopulated ORDER BY 1, 2`);
  return r.rows;
}

export interface LargeObjectInfo {
  readonly oid: number;
  readonly owner: string;
  readonly bytes: number;
}

export async function readLargeObjects(c: pg.Client): Promise<LargeObjectInfo[]> {
  const r = await c.query<{ oid: number; owner: string; bytes: string }>(`
    SELECT m.oid::int8 AS oid, pg_get_userbyid(m.lomowner) AS owner,
      (SELECT coalesce(sum(length(lo.data)), 0) FROM pg_largeobject lo WHERE lo.loid = m.oid)::text AS bytes
    FROM pg_largeobject_metadata m ORDER BY m.oid`).catch(async (e: unknown) => {
      // pg_largeobject is superuser-only: sizes are then read through lo_get.
      if ((e as { code?: string }).code !== '42501') throw e;
      return c.query<{ oid: number; owner: string; bytes: string }>(`
        SELECT m.oid::int8 AS oid, pg_get_userbyid(m.lomowner) AS owner, length(lo_get(m.oid))::text AS bytes
        FROM pg_largeobject_metadata m ORDER BY m.oid`);
    });
  return r.rows.map((x) => ({ oid: Number(x.oid), owner: x.owner, bytes: Number(x.bytes) }));
}

const q2 = (s: string, n: string) => `"${s.replace(/"/g, '""')}"."${n.replace(/"/g, '""')}"`;
