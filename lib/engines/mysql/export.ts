/**
 * Export: a consistent snapshot read by parallel workers, each table streamed in primary-key order in
 * chunks sized to ~`chunkBytes` (adaptive), each chunk's checksum computed by the server inside the same
 * snapshot. Written to `<dir>.partial` and renamed into place at the end, so `dir` is always whole.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, statfs } from 'node:fs/promises';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { PoolConnection } from 'mysql2/promise';
import type { Connection as CoreConnection } from 'mysql2';
import { FerryError } from '../../core/errors.ts';
import { noProgress, type Progress } from '../../core/progress.ts';
import { connectMysql, privilegeError, isPrivilegeError, q, type MysqlTarget } from './connect.ts';
import { exportExpr, readTables, storedColumns, str, type TableInfo } from './catalog.ts';
import { keyColumns, rangeChecksum, rangeWhere, type KeyRange } from './checksum.ts';
import { exportSchema, type DatabaseSchema } from './schema-export.ts';
import type { DefinerPolicy } from './definer.ts';
import { describeSchema, type SchemaFacts } from './describe.ts';
import { openSnapshot } from './snapshot.ts';
import { readServerFacts } from './server.ts';
import { encodeRow } from './tsv.ts';
import { chunkFile, writeManifest, type ChunkEntry, type Manifest, type TableEntry } from './manifest.ts';

export interface ExportOptions {
  readonly source: MysqlTarget;
  readonly databases: readonly string[];
  /** Artifact directory (replaced as a whole at the end). */
  readonly dir: string;
  readonly parallelism?: number;
  readonly definer?: DefinerPolicy;
  /** Target size of one chunk file. Default 8 MiB (small enough to load a big table's chunks in parallel). */
  readonly chunkBytes?: number;
  readonly progress?: Progress;
  readonly signal?: AbortSignal;
}

const FLUSH_BYTES = 1 << 20;

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
        schemas.push(await exportSchema(snap.workers[0]!, db, o.definer ?? { mode: 'rewrite', account: '`root`@`%`' }));
        tables.push(...(await readTables(snap.workers[0]!, db)));
      }
      tables.sort((a, b) => b.approxBytes - a.approxBytes);
      const ddlOf = new Map(schemas.flatMap((s) => s.objects.filter((x) => x.kind === 'table').map((x) => [`${s.database}.${x.name}`, x.ddl] as const)));
      const totalRows = Number(str(estimate[0]?.r));
      const done = { rows: 0, bytes: 0 };
      const entries: TableEntry[] = [];
      const queue = [...tables];
      await Promise.all(snap.workers.map(async (w) => {
        await w.query('SET SESSION character_set_results = binary');
        for (let t = queue.shift(); t; t = queue.shift()) {
          o.signal?.throwIfAborted();
          const chunks = await exportTable(w, t, partial, o.chunkBytes ?? 8 << 20, (rows, bytes) => {
            done.rows += rows; done.bytes += bytes;
            progress.update({ unit: 'rows', done: done.rows, total: Math.max(totalRows, done.rows), bytes: done.bytes, label: `table ${t!.name}` });
          }, o.signal);
          const ai = /\bAUTO_INCREMENT=(\d+)/.exec(ddlOf.get(`${t.database}.${t.name}`) ?? '');
          entries.push({ table: t, rows: sum(chunks.map((c) => c.rows)), bytes: sum(chunks.map((c) => c.bytes)), autoIncrement: ai ? Number(ai[1]) : null, chunks });
        }
      }));
      entries.sort((a, b) => `${a.table.database}.${a.table.name}`.localeCompare(`${b.table.database}.${b.table.name}`));
      const manifest: Manifest = {
        format: 'ferry-mysql/1', createdAt: new Date().toISOString(),
        source: { host: o.source.host, port: o.source.port, user: o.source.user }, server, binlog: snap.binlog,
        snapshot: { mode: snap.mode, note: snap.note, workers: snap.workers.length }, schemas, facts, tables: entries,
        totals: { rows: sum(entries.map((e) => e.rows)), bytes: sum(entries.map((e) => e.bytes)), chunks: sum(entries.map((e) => e.chunks.length)) },
      };
      await writeManifest(partial, manifest);
      await rm(o.dir, { recursive: true, force: true });
      await rename(partial, o.dir);
      return manifest;
    } finally {
      await snap.close();
    }
  } catch (e) {
    await rm(partial, { recursive: true, force: true }).catch(() => undefined);
    throw isPrivilegeError(e) ? privilegeError(e, o.source, `exporting ${o.databases.join(', ')}`, EXPORT_GRANT) : e;
  } finally {
    await pool.end();
  }
}

/** What the export account needs (RELOAD and REPLICATION CLIENT only for the parallel, positioned snapshot). */
const EXPORT_GRANT = 'GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, RELOAD, REPLICATION CLIENT ON *.* TO {user}';

/** Stream one table in key order, chunk by chunk, on a worker inside the snapshot. */
async function exportTable(w: PoolConnection, t: TableInfo, dir: string, chunkBytes: number,
  onChunk: (rows: number, bytes: number) => void, signal?: AbortSignal): Promise<ChunkEntry[]> {
  const stored = storedColumns(t);
  const keys = keyColumns(t);
  const select = [...stored.map(exportExpr),
    ...keys.filter((k) => !stored.includes(k)).map((k) => q(k.name))];
  const names = [...stored, ...keys.filter((k) => !stored.includes(k))].map((c) => c.name);
  const keyIdx = keys.map((k) => names.indexOf(k.name));
  const from = `${q(t.database)}.${q(t.name)}`;
  const order = keys.map((k) => q(k.name)).join(', ');
  const chunks: ChunkEntry[] = [];
  let limit = clampRows(chunkBytes / Math.max(64, t.avgRowBytes));
  let lo: readonly string[] | null = null;
  await mkdir(join(dir, dirname(chunkFile(t.database, t.name, 0))), { recursive: true });
  for (;;) {
    signal?.throwIfAborted();
    const file = chunkFile(t.database, t.name, chunks.length);
    const sql = keys.length
      ? `SELECT ${select.join(', ')} FROM ${from} WHERE ${rangeWhere(t, { lo, hi: null })} ORDER BY ${order} LIMIT ${limit}`
      : `SELECT ${select.join(', ')} FROM ${from}`;
    const r = await streamToFile(w, sql, join(dir, file), stored.length, keyIdx, signal);
    const last = keys.length === 0 || r.rows < limit;
    const range: KeyRange = { lo, hi: last ? null : r.lastKey };
    const sum = await rangeChecksum(w, t, range);
    if (sum.rows !== r.rows) throw new Error(`${t.database}.${t.name}: streamed ${r.rows} rows but the snapshot counts ${sum.rows}`);
    chunks.push({ ...range, file, rows: r.rows, bytes: r.bytes, sha256: r.sha256, checksum: sum.sum });
    onChunk(r.rows, r.bytes);
    if (last) return chunks;
    lo = r.lastKey;
    const perRow = r.bytes / Math.max(1, r.rows);
    limit = clampRows(chunkBytes / Math.max(1, perRow));
  }
}

interface Streamed { rows: number; bytes: number; sha256: string; lastKey: string[] }

async function streamToFile(w: PoolConnection, sql: string, path: string, width: number, keyIdx: number[], signal?: AbortSignal): Promise<Streamed> {
  const out = createWriteStream(path);
  const hash = createHash('sha256');
  const core = (w as unknown as { connection: CoreConnection }).connection;
  // Under character_set_results = binary every string arrives as raw bytes (a Buffer); numbers,
  // dates and decimals arrive parsed or as text and are turned back into their text form.
  const stream = core.query({ sql, rowsAsArray: true }).stream({ highWaterMark: 256 });
  let rows = 0;
  let bytes = 0;
  let lastRow: Array<Buffer | null> = [];
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (!pending.length) return;
    const buf = Buffer.concat(pending, pendingBytes);
    pending = []; pendingBytes = 0;
    hash.update(buf);
    if (!out.write(buf)) await once(out, 'drain');
  };
  try {
    for await (const raw of stream as AsyncIterable<unknown[]>) {
      const row = raw.map(asBytes);
      const line = encodeRow(row.length === width ? row : row.slice(0, width));
      pending.push(line); pendingBytes += line.length; bytes += line.length; rows++;
      lastRow = row;
      if (pendingBytes >= FLUSH_BYTES) { await flush(); signal?.throwIfAborted(); }
    }
    await flush();
  } finally {
    out.end();
    await once(out, 'close');
  }
  return { rows, bytes, sha256: hash.digest('hex'), lastKey: keyIdx.map((i) => (lastRow[i] ?? Buffer.alloc(0)).toString('hex')) };
}

/** A value as mysql2 hands it over, back to the bytes the server sent (-0 keeps its sign). */
function asBytes(v: unknown): Buffer | null {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return v;
  return Buffer.from(typeof v === 'number' && Object.is(v, -0) ? '-0' : String(v), 'latin1');
}

async function assertDiskSpace(dir: string, needBytes: number, source: MysqlTarget): Promise<void> {
  await mkdir(dir, { recursive: true });
  const fs = await statfs(dir);
  const free = fs.bavail * fs.bsize;
  if (free < needBytes * 1.2) {
    throw new FerryError('E_MYSQL_DISK', `Not enough disk for the MySQL export under ${dir}: ${mb(free)} free, about ${mb(needBytes * 1.2)} needed for ${source.host}:${source.port}`, {
      hint: 'free space there or point stateDir at a larger disk, then run again',
    });
  }
}

const clampRows = (n: number) => Math.max(100, Math.min(1_000_000, Math.round(n)));
const mb = (n: number) => `${Math.round(n / 1048576)} MB`;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
