/**
 * What ferry needs to know about a table to move it: its columns (which are generated, which need a
 * conversion on load) and its primary key. Read from information_schema, which MySQL 8 and MariaDB
 * both provide (EXTRA spells generated columns `VIRTUAL GENERATED` / `STORED GENERATED` in both).
 */
import type { Pool, PoolConnection } from 'mysql2/promise';
import { q } from './connect.ts';

/** How a column's value is carried in a chunk file. */
export type ColumnCodec =
  /** Raw bytes as stored (strings in their own character set, numbers and dates as text). */
  | 'raw'
  /** BIT: read as `col+0`, loaded through `CAST(@v AS UNSIGNED)`. */
  | 'bit'
  /** MySQL 8 JSON: loaded through `CONVERT(@v USING utf8mb4)` (JSON refuses binary strings). */
  | 'json';

export interface ColumnInfo {
  readonly name: string;
  readonly dataType: string;
  readonly columnType: string;
  readonly generated: boolean;
  /** The column holds character data (compared byte-wise through `CAST(… AS BINARY)`). */
  readonly text: boolean;
  readonly codec: ColumnCodec;
  readonly nullable: boolean;
  /** Character set and collation of character columns (null otherwise). */
  readonly charset: string | null;
  readonly collation: string | null;
}

export interface TableInfo {
  readonly database: string;
  readonly name: string;
  /** Every column in ordinal order, generated ones included. */
  readonly columns: readonly ColumnInfo[];
  /** Primary-key column names in key order; empty when the table has none. */
  readonly primaryKey: readonly string[];
  /** Rough size from the server's statistics, for scheduling (largest first). */
  readonly approxBytes: number;
  /** The server's average row length estimate (0 when unknown), to size the first chunk. */
  readonly avgRowBytes: number;
}

const TEXT_TYPES = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'enum', 'set']);

/** Describe every base table of `database`, largest first. */
export async function readTables(db: Pool | PoolConnection, database: string): Promise<TableInfo[]> {
  const [cols] = await db.query(
    `SELECT TABLE_NAME AS t, COLUMN_NAME AS c, DATA_TYPE AS dt, COLUMN_TYPE AS ct, EXTRA AS extra,
            CHARACTER_SET_NAME AS cs, COLLATION_NAME AS co, IS_NULLABLE AS nl
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION`, [database]);
  const [keys] = await db.query(
    `SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA = ? AND INDEX_NAME = 'PRIMARY' ORDER BY TABLE_NAME, SEQ_IN_INDEX`, [database]);
  const [tables] = await db.query(
    `SELECT TABLE_NAME AS t, COALESCE(DATA_LENGTH, 0) AS bytes, COALESCE(AVG_ROW_LENGTH, 0) AS avg FROM information_schema.TABLES
      WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'`, [database]);
  const byTable = new Map<string, ColumnInfo[]>();
  for (const r of cols as Array<Record<string, string>>) {
    const list = byTable.get(str(r.t)) ?? [];
    const dataType = str(r.dt).toLowerCase();
    list.push({
      name: str(r.c), dataType, columnType: str(r.ct),
      generated: /\b(VIRTUAL|STORED|PERSISTENT) GENERATED\b/i.test(str(r.extra)),
      text: TEXT_TYPES.has(dataType),
      codec: dataType === 'bit' ? 'bit' : dataType === 'json' ? 'json' : 'raw',
      nullable: str(r.nl) === 'YES',
      charset: r.cs == null ? null : str(r.cs), collation: r.co == null ? null : str(r.co),
    });
    byTable.set(str(r.t), list);
  }
  // information_schema shows an account only the columns it may use: one lacking SELECT on some column would
  // export the table without it (the target then holding defaults there, and verify comparing only what it
  // read). The server itself refuses `SELECT *` unless every column may be read: a privilege error naming the table.
  for (const r of tables as Array<Record<string, string>>) await db.query(`SELECT * FROM ${q(database)}.${q(str(r.t))} LIMIT 0`);
  const pk = new Map<string, string[]>();
  for (const r of keys as Array<Record<string, string>>) pk.set(str(r.t), [...(pk.get(str(r.t)) ?? []), str(r.c)]);
  return (tables as Array<Record<string, string>>)
    .map((r) => ({ database, name: str(r.t), columns: byTable.get(str(r.t)) ?? [], primaryKey: pk.get(str(r.t)) ?? [], approxBytes: Number(str(r.bytes)), avgRowBytes: Number(str(r.avg)) }))
    .sort((a, b) => b.approxBytes - a.approxBytes || a.name.localeCompare(b.name));
}

/**
 * How a column is read, in export and in checksums alike: BIT as a number, FLOAT widened to DOUBLE
 * (MariaDB prints FLOAT with 6 significant digits, which would not round-trip).
 */
export function readExpr(c: ColumnInfo): string {
  const id = '`' + c.name.replace(/`/g, '``') + '`';
  if (c.codec === 'bit') return `${id}+0`;
  if (c.dataType === 'float') return `(${id}+0e0)`;
  return id;
}

/** The select expression for export: as `readExpr`, with MySQL 8 JSON read as text (mysql2 would parse it). */
export function exportExpr(c: ColumnInfo): string {
  return c.codec === 'json' ? `CAST(${readExpr(c)} AS CHAR)` : readExpr(c);
}

/** Columns carried in chunk files (generated columns are recomputed by the target). */
export const storedColumns = (t: TableInfo): ColumnInfo[] => t.columns.filter((c) => !c.generated);

/** information_schema may hand back Buffers under `character_set_results = binary`. */
export const str = (v: unknown): string => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v ?? ''));
