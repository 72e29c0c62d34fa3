/**
 * Loading one chunk file into its key range, atomically: in one transaction the range is cleared and
 * the file loaded, by `LOAD DATA LOCAL INFILE` fed from a stream (mysql2's `infileStreamFactory`) or,
 * where the server refuses local files, by multi-row INSERTs. A load that raised warnings is judged by
 * the value the target holds (load-warnings.ts): the range read back inside the transaction must be the
 * chunk (chunk-compare.ts), else the chunk is rolled back and refused naming the first
 * differing row and column.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { PoolConnection } from 'mysql2/promise';
import type { Connection as CoreConnection } from 'mysql2';
import { FerryError } from '../../core/errors.ts';
import { q } from './connect.ts';
import { storedColumns, type ColumnInfo, type TableInfo } from './catalog.ts';
import { rangeWhere, type KeyRange } from './checksum.ts';
import { firstLineDifference, holdsChunk } from './chunk-compare.ts';
import type { ChunkEntry } from './manifest.ts';
import { LOAD_DATA_FORMAT, parseRows } from './tsv.ts';
import { describeWarnings, readWarnings, type LoadWarning, type RawWarning } from './load-warnings.ts';
import { describeRange, firstValueDifference } from './bisect.ts';
import { FileFeed } from './chunk-io.ts';
import { safeServerError } from './server-message.ts';

export type LoadPath = 'local-infile' | 'insert';

export interface LoadChunkOptions {
  readonly table: TableInfo;
  readonly range: KeyRange;
  /** Absolute path of the chunk file. */
  readonly path: string;
  readonly rows: number;
  /** Clear the range first (it holds rows from an interrupted or older load). */
  readonly clear: boolean;
  readonly via: LoadPath;
  /** What the range holds once loaded (the manifest's chunk identity): the judge of a load that raised warnings. */
  readonly expect: Pick<ChunkEntry, 'checksum' | 'identity'>;
  /**
   * The table's first chunk in this run (it may be empty): loaded with unique_checks on. With both
   * unique_checks and foreign_key_checks off, MariaDB (10.6+) loads into an empty table as a bulk insert,
   * which cost the target twice the CPU of the same chunk loaded into a table holding rows (scale 500,
   * 8 MiB chunks, mysqld CPU-s: images 0.21-0.33 vs 0.11-0.14, posts without its indexes 0.23-0.24 vs
   * 0.10-0.12; processing_jobs the same either way). MySQL 8 has no such path: there it only checks the
   * chunk's unique keys. (With unique_checks off, MySQL 8 may buffer secondary unique entries unchecked in
   * its change buffer, MariaDB 10.11 checks them; either way a load meets only rows of the same snapshot:
   * import.ts clears every range the target holds differently before any chunk loads.)
   */
  readonly first?: boolean;
}

const INSERT_BATCH_BYTES = 4 << 20;

/** Load one chunk; returns the warnings the server raised (each on a value the target holds exactly). */
export async function loadChunk(c: PoolConnection, o: LoadChunkOptions): Promise<LoadWarning[]> {
  const target = `${q(o.table.database)}.${q(o.table.name)}`;
  /** Which rows, for an error: the table and the chunk's key range. */
  const what = `${o.table.database}.${o.table.name}, key range ${describeRange(o.table, o.range)}`;
  const warnings: RawWarning[] = [];
  if (o.first) await c.query('SET SESSION unique_checks = 1');
  await c.query('START TRANSACTION');
  try {
    if (o.clear) await c.query(`DELETE FROM ${target} WHERE ${rangeWhere(o.table, o.range)}`);
    const loaded = o.via === 'local-infile' ? await loadData(c, target, o, warnings) : await insertRows(c, target, o, warnings);
    if (loaded !== o.rows) {
      // LOAD DATA LOCAL skips a row whose unique key the table already holds (as IGNORE: the server cannot
      // stop the client's file), leaving warning 1062; its message holds the value, so only codes are named.
      const codes = [...new Set(warnings.map((w) => w.code))];
      throw new FerryError('E_MYSQL_LOAD_CHANGED', `${o.path} loaded ${loaded} rows into ${what}; the export holds ${o.rows}${codes.length ? ` (server warnings ${codes.join(', ')})` : ''}`, {
        hint: codes.includes(1062)
          ? 'the chunk was rolled back: the target holds a row with one of its unique keys outside this range; clear the target\'s table (or database), then run again'
          : 'the chunk was rolled back: export again (--restart-from the export) if the file was changed, else report a bug',
      });
    }
    if (warnings.length) await judge(c, o, warnings);
    await c.query('COMMIT');
    return warnings.length ? await describeWarnings(o.table, o.path, warnings) : [];
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    if (e instanceof FerryError) throw e;
    // No cause: the server's message may quote a row's value (1062 Duplicate entry '<value>'); only its
    // number and the names it gives are kept (server-message.ts).
    throw new FerryError('E_MYSQL_LOAD', `Loading ${o.path} into ${what} failed: ${safeServerError(e)}`, {
      hint: (e as { errno?: unknown }).errno === 1062
        ? `the target already holds a row with one of this chunk's unique keys outside the chunk's range: clear ${o.table.database}.${o.table.name} on the target (or its database), then run again`
        : 'fix the cause, then run again: loaded chunks are kept and this one is reloaded',
    });
  } finally {
    if (o.first) await c.query('SET SESSION unique_checks = 0').catch(() => undefined);
  }
}

/** `(col, @v2, …) SET col2 = CAST(@v2 AS UNSIGNED)` for the columns a chunk carries. */
function columnClause(cols: readonly ColumnInfo[]): string {
  const list: string[] = [];
  const sets: string[] = [];
  cols.forEach((col, i) => {
    if (col.codec === 'raw') { list.push(q(col.name)); return; }
    list.push(`@v${i}`);
    sets.push(`${q(col.name)} = ${col.codec === 'bit' ? `CAST(@v${i} AS UNSIGNED)` : `CONVERT(@v${i} USING utf8mb4)`}`);
  });
  return `(${list.join(', ')})${sets.length ? ` SET ${sets.join(', ')}` : ''}`;
}

async function loadData(c: PoolConnection, target: string, o: LoadChunkOptions, warnings: RawWarning[]): Promise<number> {
  const sql = `LOAD DATA LOCAL INFILE 'ferry-chunk' INTO TABLE ${target} ${LOAD_DATA_FORMAT} ${columnClause(storedColumns(o.table))}`;
  const core = (c as unknown as { connection: CoreConnection }).connection;
  const res = await new Promise<{ affectedRows: number; warningStatus: number }>((resolve, reject) => {
    core.query({ sql, infileStreamFactory: () => new FileFeed(o.path) as unknown as Readable }, (err, r) => (err ? reject(err) : resolve(r as never)));
  });
  if (res.warningStatus > 0) warnings.push(...(await readWarnings(c, 1)));
  return res.affectedRows;
}

async function insertRows(c: PoolConnection, target: string, o: LoadChunkOptions, warnings: RawWarning[]): Promise<number> {
  const cols = storedColumns(o.table);
  const head = `INSERT INTO ${target} (${cols.map((x) => q(x.name)).join(', ')}) VALUES `;
  let tuples: string[] = [];
  let size = 0;
  let rows = 0;
  let first = 1;
  const flush = async () => {
    if (!tuples.length) return;
    const [r] = await c.query(head + tuples.join(','));
    rows += (r as { affectedRows: number }).affectedRows;
    if ((r as { warningStatus: number }).warningStatus > 0) warnings.push(...(await readWarnings(c, first)));
    first += tuples.length;
    tuples = []; size = 0;
  };
  for await (const values of parseRows(createReadStream(o.path))) {
    const t = `(${values.map((v, i) => valueSql(cols[i]!, v)).join(',')})`;
    tuples.push(t); size += t.length;
    if (size >= INSERT_BATCH_BYTES) await flush();
  }
  await flush();
  return rows;
}

/** Bytes as SQL, in ASCII (hex) so no connection character set can touch them. */
function valueSql(col: ColumnInfo, v: Buffer | null): string {
  if (v === null) return 'NULL';
  const bytes = v.length ? `CAST(X'${v.toString('hex')}' AS BINARY)` : "''";
  return col.codec === 'bit' ? `CAST(${bytes} AS UNSIGNED)` : col.codec === 'json' ? `CONVERT(${bytes} USING utf8mb4)` : bytes;
}

/**
 * A load that raised warnings stands only if the target holds what the source held: the range read back
 * inside the transaction is the chunk (its lines hash to the chunk's sha256, or for a chunk exported value
 * by value its checksum equals the export's). Otherwise the first differing row and column are named.
 */
async function judge(c: PoolConnection, o: LoadChunkOptions, warnings: readonly RawWarning[]): Promise<void> {
  const now = await holdsChunk(c, o.table, { ...o.range, rows: o.rows, ...o.expect });
  if (now.same) return;
  const diff = await (o.expect.identity === 'lines' ? firstLineDifference : firstValueDifference)(c, o.table, o.range, o.path).catch(() => undefined);
  const table = `${o.table.database}.${o.table.name}`;
  const w = (diff && warnings.find((x) => x.column === diff.column)) ?? warnings[0]!;
  const where = diff ? `row ${diff.key}, column ${diff.column} (${diff.detail})` : 'the range\'s checksum';
  throw new FerryError('E_MYSQL_LOAD_CHANGED',
    `The target changed values loading ${table}, ${describeRange(o.table, o.range)}: ${where}; ${w.level} ${w.code}: ${w.message}`, {
      hint: `the target's column cannot hold what the source holds: make ${table} on the target match the source's definition (SHOW CREATE TABLE on both), then run again`,
      detail: warnings.slice(0, 20).map((x) => `${x.level} ${x.code}: ${x.message}`).join('\n'),
    });
}
