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
}

const TABLES_SQL = `
SELECT n.nspname AS schema, c.relname AS name, pg_relation_size(c.oid)::float8 AS bytes, c.reltuples::float8 AS est_rows,
  (SELECT json_agg(json_build_object('name', a.attname, 'type', pg_catalog.format_type(a.atttypid, a.atttypmod),
      'generated', a.attgenerated <> '', 'collatable', a.attcollation <> 0) ORDER BY a.attnum)
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

export async function readTables(c: pg.Client): Promise<TableInfo[]> {
  const r = await c.query<{ schema: string; name: string; bytes: number; est_rows: number; columns: ColumnInfo[] | null; key: string[] | null }>(TABLES_SQL);
  return r.rows.map((x) => ({ schema: x.schema, name: x.name, columns: x.columns ?? [], key: x.key ?? [], bytes: Number(x.bytes), estRows: Number(x.est_rows) }));
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
