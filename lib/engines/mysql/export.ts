/**
 * Export: a consistent snapshot read by parallel workers, each table streamed in primary-key order in
 * chunks sized to ~`chunkBytes` (adaptive), each chunk identified by the sha256 of its server-built lines
 * (or, exported value by value, by its server-side checksum in the same snapshot: manifest.ts). Written to
 * `<dir>.partial` and renamed into place at the end, so `dir` is always whole.
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { PoolConnection } from 'mysql2/promise';
import type { Connection as CoreConnection } from 'mysql2';
import { FerryError } from '../../core/errors.ts';
import { freeBytes } from '../../util/free-bytes.ts';
import { runWorkers } from '../../util/workers.ts';
import { noProgress, type Progress } from '../../core/progress.ts';
import { connectMysql, privilegeError, isPrivilegeError, q, type MysqlTarget } from './connect.ts';
import { exportExpr, readTables, storedColumns, str, type TableInfo } from './catalog.ts';
import { keyColumns, rangeChecksum, rangeWhere, type KeyRange } from './checksum.ts';
import { serverLineSupported } from './row-line.ts';
import { asBytes, lineQuery, rangeSql, streamLines } from './row-stream.ts';
import { exportSchema, type DatabaseSchema } from './schema-export.ts';
import { DEFAULT_DEFINER_POLICY, type DefinerPolicy } from './definer.ts';
import { exportAccounts, type AppAccount } from './accounts.ts';
import { describeSchema, type SchemaFacts } from './describe.ts';
import { openSnapshot } from './snapshot.ts';
import { readServerFacts } from './server.ts';
import { encodeRow } from './tsv.ts';
import { ChunkWriter } from './chunk-io.ts';
import { chunkFile, MANIFEST_FORMAT, writeManifest, type ChunkEntry, type Manifest, type ServerFacts, type TableEntry } from './manifest.ts';

export interface ExportOptions {
  readonly source: MysqlTarget;
  readonly databases: readonly string[];
  /** Artifact directory (replaced as a whole at the end). */
  readonly dir: string;
  readonly parallelism?: number;
  readonly definer?: DefinerPolicy;
  /** The app's accounts to carry besides every DEFINER (accounts.ts): the users its .env names, plus any configured. */
  readonly accounts?: readonly AppAccount[];
  /** Target size of one chunk file. Default 8 MiB (small enough to load a big table's chunks in parallel). */
  readonly chunkBytes?: number;
  readonly progress?: Progress;
  readonly signal?: AbortSignal;
  /**
   * Streaming copy (copy.ts): called once the schema is read, before any row, with the source's facts and
   * its tables (largest first);
   * then as each chunk file is complete (its path inside the partial directory). The manifest is written
   * and the directory renamed only after every promise `onChunk` returned has settled.
   */
  readonly onSchema?: (schemas: readonly DatabaseSchema[], server: ServerFacts, tables: readonly TableInfo[]) => Promise<void>;
  readonly onChunk?: (table: TableInfo, chunk: ChunkEntry, path: string) => Promise<void>;
  /** Streaming copy: called once every chunk of a table has been handed to `onChunk`. */
  readonly onTableExported?: (table: TableInfo) => void;
}

/** Export `databases` into `dir`; returns the manifest written there. */
export async function exportMysql(o: ExportOptions): Promise<Manifest> {
  const parallelism = o.parallelism ?? 2;
  const progress = o.progress ?? noProgress;
  const pool = await connectMysql(o.source, { connections: parallelism + 1 });
  const partial = `${o.dir}.partial`;
  try {
    const server = await readServerFacts(pool);
    const [sizes] = await pool.query(`SELECT COALESCE(SUM(DATA_LENGTH), 0) AS b, COALESCE(SUM(TABLE_ROWS), 0) AS r FROM information_schema.TABLES WHERE TABLE_SCHEMA IN (?)`, [o.databases]);
    const estimate = sizes as Array<{ b: unknown; r: unknown }>;
    await assertDiskSpace(dirname(o.dir), Number(str(estimate[0]?.b)), o.source);
    await rm(partial, { recursive: true, force: true });
    await mkdir(partial, { recursive: true });
    const snap = await openSnapshot(pool, parallelism);
    try {
      const schemas: DatabaseSchema[] = [];
      const tables: TableInfo[] = [];
      const facts: Record<string, SchemaFacts> = {};
      for (const db of o.databases) {
        facts[db] = await describeSchema(snap.workers[0]!, db);
        schemas.push(await exportSchema(snap.workers[0]!, db, o.definer ?? DEFAULT_DEFINER_POLICY));
        tables.push(...(await readTables(snap.workers[0]!, db)));
      }
      tables.sort((a, b) => b.approxBytes - a.approxBytes);
      // The streaming copy readies its target (connect, create the tables) while the accounts and the
      // segments are read here; no chunk before it is ready.
      const ready = o.onSchema?.(schemas, server, tables);
      ready?.catch(() => undefined); // awaited below
      const streamed: Array<Promise<void>> = [];
      try {
        await exportAccounts(snap.workers[0]!, partial, o.databases, o.definer ?? DEFAULT_DEFINER_POLICY, o.accounts ?? []);
      } catch (e) {
        await ready?.catch(() => undefined);
        throw e;
      }
      const ddlOf = new Map(schemas.flatMap((s) => s.objects.filter((x) => x.kind === 'table').map((x) => [`${s.database}.${x.name}`, x.ddl] as const)));
      const totalRows = Number(str(estimate[0]?.r));
      const done = { rows: 0, bytes: 0 };
      const chunkBytes = o.chunkBytes ?? 8 << 20;
      // Work items: whole tables, or key-range segments of the big ones; largest tables first.
      const queue: Array<{ t: TableInfo; seg: Segment; parts: ChunkEntry[][]; at: number }> = [];
      const parts = new Map<TableInfo, ChunkEntry[][]>();
      /** Segments of each table not exported yet. */
      const left = new Map<TableInfo, number>();
      try {
        for (const t of tables) {
          const segs = await segmentsOf(snap.workers[0]!, t, snap.workers.length, chunkBytes);
          parts.set(t, segs.map(() => []));
          left.set(t, segs.length);
          segs.forEach((seg, at) => queue.push({ t, seg, parts: parts.get(t)!, at }));
        }
      } finally {
        await ready;
      }
      // The first worker's error stops the others at their next chunk; every one has returned (none still
      // writing into the partial directory, none querying outside the snapshot once it is closed) before the
      // error is thrown and the directory removed.
      await runWorkers(snap.workers.length, async (i, stopped) => {
        const w = snap.workers[i]!;
        await w.query('SET SESSION character_set_results = binary');
        for (let job = queue.shift(); job && !stopped(); job = queue.shift()) {
          o.signal?.throwIfAborted();
          const { t } = job;
          job.parts[job.at] = await exportTable(w, t, job.seg, partial, chunkBytes, (rows, bytes, chunk) => {
            if (o.onChunk) streamed.push(o.onChunk(t, chunk, join(partial, chunk.file)));
            done.rows += rows; done.bytes += bytes;
            progress.update({ unit: 'rows', done: done.rows, total: Math.max(totalRows, done.rows), bytes: done.bytes, label: `table ${t.name}` });
          }, o.signal);
          left.set(t, left.get(t)! - 1);
          if (!left.get(t)) o.onTableExported?.(t);
        }
      }).catch(async (e: unknown) => {
        // A streaming copy's loads read chunk files from the partial directory: settled before it goes.
        await Promise.allSettled(streamed);
        throw e;
      });
      const entries: TableEntry[] = tables.map((t) => {
        const chunks = parts.get(t)!.flat();
        const ai = /\bAUTO_INCREMENT=(\d+)/.exec(ddlOf.get(`${t.database}.${t.name}`) ?? '');
        return { table: t, rows: sum(chunks.map((c) => c.rows)), bytes: sum(chunks.map((c) => c.bytes)), autoIncrement: ai ? Number(ai[1]) : null, chunks };
      });
      entries.sort((a, b) => `${a.table.database}.${a.table.name}`.localeCompare(`${b.table.database}.${b.table.name}`));
      const manifest: Manifest = {
        format: MANIFEST_FORMAT, createdAt: new Date().toISOString(),
        source: { host: o.source.host, port: o.source.port, user: o.source.user }, server, binlog: snap.binlog,
        snapshot: { mode: snap.mode, note: snap.note, workers: snap.workers.length }, schemas, facts, tables: entries,
        totals: { rows: sum(entries.map((e) => e.rows)), bytes: sum(entries.map((e) => e.bytes)), chunks: sum(entries.map((e) => e.chunks.length)) },
      };
      await Promise.all(streamed);
      await writeManifest(partial, manifest);
      await rm(o.dir, { recursive: true, force: true });
      await rename(partial, o.dir);
      return manifest;
    } finally {
      await snap.close();
    }
  } catch (e) {
    await rm(partial, { recursive: true, force: true }).catch(() => undefined);
    // A FerryError is already named (a streaming copy's target refusing ferry is not the source's privilege).
    throw !(e instanceof FerryError) && isPrivilegeError(e) ? privilegeError(e, o.source, `exporting ${o.databases.join(', ')}`, EXPORT_GRANT) : e;
  } finally {
    await pool.end();
  }
}

/** What the export account needs (RELOAD and REPLICATION CLIENT only for the parallel, positioned snapshot). */
const EXPORT_GRANT = 'GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, RELOAD, REPLICATION CLIENT ON *.* TO {user}';

/** A part of a table exported on its own: `lo` exclusive, `hi` inclusive (null: unbounded). */
interface Segment extends KeyRange { readonly index: number | undefined }

const WHOLE: Segment = { lo: null, hi: null, index: undefined };
const INTEGER_KEY = /^(tinyint|smallint|mediumint|int|integer|bigint)$/;

/**
 * Split a large table with a single integer key into value ranges, so several workers stream it at
 * once (the source's one scan per query is the export's bound on a big table). Read in the snapshot.
 */
async function segmentsOf(w: PoolConnection, t: TableInfo, parallelism: number, chunkBytes: number): Promise<Segment[]> {
  const keys = keyColumns(t);
  const n = Math.min(2 * parallelism, Math.floor(t.approxBytes / (2 * chunkBytes)));
  if (parallelism < 2 || n < 2 || keys.length !== 1 || !INTEGER_KEY.test(keys[0]!.dataType)) return [WHOLE];
  const k = q(keys[0]!.name);
  const [rows] = await w.query(`SELECT CAST(MIN(${k}) AS CHAR) AS lo, CAST(MAX(${k}) AS CHAR) AS hi FROM ${q(t.database)}.${q(t.name)}`);
  const r = (rows as Array<{ lo: unknown; hi: unknown }>)[0];
  if (!r || r.lo === null || r.hi === null) return [WHOLE];
  const lo = BigInt(str(r.lo));
  const hi = BigInt(str(r.hi));
  if (hi - lo < BigInt(n) * 1000n) return [WHOLE];
  const hex = (b: bigint) => [Buffer.from(b.toString(), 'latin1').toString('hex')];
  const cuts = Array.from({ length: n - 1 }, (_, i) => hex(lo + ((hi - lo) * BigInt(i + 1)) / BigInt(n)));
  return Array.from({ length: n }, (_, i) => ({ lo: i === 0 ? null : cuts[i - 1]!, hi: i === n - 1 ? null : cuts[i]!, index: i }));
}

/**
 * Stream one table (or one segment of it) in key order, chunk by chunk, on a worker inside the
 * snapshot. Where the server can build the lines (row-line.ts) each row arrives as its finished line and
 * the chunk is identified by their sha256 (no checksum term per row: it was a quarter of the source's
 * CPU in this scan); otherwise values are encoded here and the chunk's identity is its server-side
 * checksum, a second query over the same range.
 */
async function exportTable(w: PoolConnection, t: TableInfo, seg: Segment, dir: string, chunkBytes: number,
  onChunk: (rows: number, bytes: number, chunk: ChunkEntry) => void, signal?: AbortSignal): Promise<ChunkEntry[]> {
  const stored = storedColumns(t);
  const keys = keyColumns(t);
  const fast = keys.length > 0 && serverLineSupported(t);
  const lq = lineQuery(t);
  const fieldSelect = [...stored.map(exportExpr), ...keys.filter((k) => !stored.includes(k)).map((k) => q(k.name))];
  const names = [...stored, ...keys.filter((k) => !stored.includes(k))].map((c) => c.name);
  const keyIdx = keys.map((k) => names.indexOf(k.name));
  const from = `${q(t.database)}.${q(t.name)}`;
  const order = keys.map((k) => q(k.name)).join(', ');
  const chunks: ChunkEntry[] = [];
  let limit = clampRows(chunkBytes / Math.max(64, t.avgRowBytes));
  let lo: readonly string[] | null = seg.lo;
  await mkdir(join(dir, dirname(chunkFile(t.database, t.name, 0, seg.index))), { recursive: true });
  for (;;) {
    signal?.throwIfAborted();
    const file = chunkFile(t.database, t.name, chunks.length, seg.index);
    const r = fast
      ? await toFile(join(dir, file), (out) => streamLines(w, t, lq, rangeSql(t, lq, { lo, hi: seg.hi }, limit), out, signal))
      : await streamToFile(w, keys.length
        ? `SELECT ${fieldSelect.join(', ')} FROM ${from} WHERE ${rangeWhere(t, { lo, hi: seg.hi })} ORDER BY ${order} LIMIT ${limit}`
        : `SELECT ${fieldSelect.join(', ')} FROM ${from}`, join(dir, file), stored.length, keyIdx, signal);
    const last = keys.length === 0 || r.rows < limit;
    const range: KeyRange = { lo, hi: last ? seg.hi : r.lastKey };
    let checksum = r.sha256;
    if (!fast) {
      const sum = await rangeChecksum(w, t, range);
      if (sum.rows !== r.rows) {
        throw new FerryError('E_MYSQL_EXPORT', `${t.database}.${t.name}: streamed ${r.rows} rows but the snapshot counts ${sum.rows}`, {
          hint: 'the snapshot did not hold (a write outside the transaction?): re-run to export this table again',
        });
      }
      checksum = sum.sum;
    }
    const entry: ChunkEntry = { ...range, file, rows: r.rows, bytes: r.bytes, sha256: r.sha256, checksum, identity: fast ? 'lines' : 'checksum' };
    chunks.push(entry);
    onChunk(r.rows, r.bytes, entry);
    if (last) return chunks;
    lo = r.lastKey;
    const perRow = r.bytes / Math.max(1, r.rows);
    limit = clampRows(chunkBytes / Math.max(1, perRow));
  }
}

interface Streamed { rows: number; bytes: number; sha256: string; lastKey: string[] }

/** A chunk file written by `fill`, with its size and sha256. */
async function toFile(path: string, fill: (out: ChunkWriter) => Promise<{ rows: number; lastKey: string[] }>): Promise<Streamed> {
  const out = new ChunkWriter(path);
  try {
    const r = await fill(out);
    return { ...r, bytes: out.bytes, sha256: await out.close() };
  } catch (e) {
    await out.close().catch(() => undefined);
    throw e;
  }
}

async function streamToFile(w: PoolConnection, sql: string, path: string, width: number, keyIdx: number[], signal?: AbortSignal): Promise<Streamed> {
  return toFile(path, async (out) => {
    const core = (w as unknown as { connection: CoreConnection }).connection;
    // Under character_set_results = binary every string arrives as raw bytes (a Buffer); numbers,
    // dates and decimals arrive parsed or as text and are turned back into their text form.
    const stream = core.query({ sql, rowsAsArray: true }).stream({ highWaterMark: 256 });
    let rows = 0;
    let lastRow: Array<Buffer | null> = [];
    for await (const raw of stream as AsyncIterable<unknown[]>) {
      const row = raw.map(asBytes);
      rows++;
      lastRow = row;
      if (out.push(encodeRow(row.length === width ? row : row.slice(0, width)))) { await out.flush(); signal?.throwIfAborted(); }
    }
    await out.flush();
    return { rows, lastKey: keyIdx.map((i) => (lastRow[i] ?? Buffer.alloc(0)).toString('hex')) };
  });
}

async function assertDiskSpace(dir: string, needBytes: number, source: MysqlTarget): Promise<void> {
  await mkdir(dir, { recursive: true });
  const free = await freeBytes(dir);
  if (free < needBytes * 1.2) {
    throw new FerryError('E_MYSQL_DISK', `Not enough disk for the MySQL export under ${dir}: ${mb(free)} free, about ${mb(needBytes * 1.2)} needed for ${source.host}:${source.port}`, {
      hint: 'free space there or point stateDir at a larger disk, then run again',
    });
  }
}

const clampRows = (n: number) => Math.max(100, Math.min(1_000_000, Math.round(n)));
const mb = (n: number) => `${Math.round(n / 1048576)} MB`;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
