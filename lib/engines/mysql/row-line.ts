/**
 * The chunk-file line of a row (tsv.ts), built by the server: `CONCAT(field, TAB, field, …)` where a
 * field is `QUOTE(CAST(col AS BINARY))` (bytes as stored, escaped in one linear pass; QUOTE(NULL) is the
 * bare word NULL) or, for numbers and dates whose text never needs escaping, the value itself. The
 * server does the byte work in C inside the one scan that streams the rows, so ferry's process only
 * copies lines (encoding each value in JavaScript bound the export at ≈ 25 MB/s on one core).
 * Literals are hex, so neither sql_mode nor the connection character set can change them.
 *
 * QUOTE returns NULL when its result would exceed the server's max_allowed_packet, and CONCAT of a NULL
 * is NULL: such a row arrives as a NULL line and row-stream.ts fetches it on its own, value by value,
 * encoding the same bytes (tsv.ts encodeLine with `bareColumns`) in the same place.
 *
 * Measured on the source (MariaDB 10.11, 400k Vedfolnir `images` rows, mysqld CPU-s): the lines 1.67,
 * lines + checksum terms 2.08, `SELECT *` 0.85, the checksum alone 0.84. QUOTE without the CAST is no
 * cheaper (1.62-1.69). Over every table of scale 100 (398k rows): keys alone 0.21-0.28, `SELECT *`
 * 0.60-0.66, lines + keys 1.07, lines + checksum term + keys 1.36-1.50. So the export computes no
 * checksum term: a chunk is identified by the sha256 of its lines, and "does a server hold it" reads
 * the range's lines back with this same expression (chunk-compare.ts); live-vs-live comparisons (bisect,
 * the pinned verify) keep checksum.ts's cheaper CRC32 (0.84 vs 1.44 for a CRC32 of this line).
 */
import { exportExpr, storedColumns, type ColumnInfo, type TableInfo } from './catalog.ts';

/** Types whose text form never holds a byte that needs escaping. */
const PLAIN = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint', 'decimal', 'numeric', 'float', 'double', 'real',
  'bit', 'year', 'date', 'datetime', 'timestamp', 'time']);
/** Types carried as quoted bytes. */
const QUOTED = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'enum', 'set',
  'binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob', 'json']);

const NULL_WORD = "X'4E554C4C'";

function fieldExpr(c: ColumnInfo): string {
  const v = exportExpr(c);
  return PLAIN.has(c.dataType) ? `IFNULL(${v}, ${NULL_WORD})` : `QUOTE(CAST(${v} AS BINARY))`;
}

/** Per stored column of `t`: written bare in its line (a number or a date), not quoted. */
export const bareColumns = (t: TableInfo): boolean[] => storedColumns(t).map((c) => PLAIN.has(c.dataType));

/** Whether the server can build `t`'s lines (every stored column of a known type). */
export function serverLineSupported(t: TableInfo): boolean {
  return storedColumns(t).every((c) => PLAIN.has(c.dataType) || QUOTED.has(c.dataType));
}

/** The select expression producing a row's line (without its LF); NULL when a value is too long for it. */
export function rowLineExpr(t: TableInfo): string {
  return `CONCAT(${storedColumns(t).map(fieldExpr).join(", X'09', ")})`;
}

