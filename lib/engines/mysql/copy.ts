/**
 * A streaming copy: the export runs as always (consistent snapshot, chunk files, manifest: still the
 * rollback backup), and each chunk is loaded into the target as soon as its file is complete, while
 * the export goes on; the import that follows finds those chunks recorded and loads only what is left
 * (objects, accounts, any chunk not streamed). Streaming needs a target without the tables yet: when
 * any already exists (a re-run after a kill), the copy falls back to export, then import, which checks
 * every chunk on the target (chunk-compare.ts). `parallelism` loaders; two on one table only where that helps (load-order.ts).
 */
import type { Pool } from 'mysql2/promise';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { connectMysql, withConnection, type MysqlTarget } from './connect.ts';
import type { TableInfo } from './catalog.ts';
import { exportMysql, type ExportOptions } from './export.ts';
import { binlogOff, choosePath, createTables, importMysql, loadSession, type ImportOptions, type ImportResult } from './import.ts';
import { loadChunk, type LoadPath } from './load-chunk.ts';
import { loadersShareTables, pickChunk } from './load-order.ts';
import type { LoadWarning } from './load-warnings.ts';
import type { ChunkEntry, Manifest } from './manifest.ts';
import type { DatabaseSchema } from './schema-export.ts';

export interface CopyOptions extends ExportOptions, Pick<ImportOptions, 'via' | 'note' | 'passwordFor' | 'skipBinlog'> {
  readonly target: MysqlTarget;
  /** The import's per-chunk progress file (as importMysql's). */
  readonly stateFile: string;
}

export interface StreamResult {
  readonly manifest: Manifest;
  /** Chunks loaded while the export was running (0: the target already had a table, nothing streamed). */
  readonly streamedChunks: number;
  readonly seconds: number;
}

export interface CopyResult extends StreamResult {
  readonly import: ImportResult;
}

interface Job { readonly t: TableInfo; readonly chunk: ChunkEntry; readonly path: string; done(): void }

export async function copyMysql(o: CopyOptions): Promise<CopyResult> {
  const started = performance.now();
  const { manifest, streamedChunks } = await streamMysql(o);
  const r = await importMysql({
    target: o.target, dir: o.dir, stateFile: o.stateFile, parallelism: o.parallelism ?? 2,
    ...(o.via ? { via: o.via } : {}), ...(o.skipBinlog ? { skipBinlog: true } : {}), ...(o.note ? { note: o.note } : {}), ...(o.passwordFor ? { passwordFor: o.passwordFor } : {}),
    ...(o.progress ? { progress: o.progress } : {}), ...(o.signal ? { signal: o.signal } : {}),
  });
  return { manifest, import: r, streamedChunks, seconds: (performance.now() - started) / 1000 };
}

/**
 * The export with its chunks loaded into the target as they complete, and what streamed recorded in
 * `stateFile` for the import that finishes the copy (objects, accounts, chunks not streamed): copyMysql
 * runs it at once, the playbook as its `import:<id>` step (store-export.ts).
 */
export async function streamMysql(o: CopyOptions): Promise<StreamResult> {
  const started = performance.now();
  const parallelism = o.parallelism ?? 2;
  const loaded: Record<string, string> = {};
  const warnings: Record<string, LoadWarning[]> = {};
  const jobs: Job[] = [];
  /** Loaders at work per table; a table's first chunk loads alone (load-order.ts). */
  const busy = new Map<string, number>();
  const filled = new Set<string>();
  let pool: Pool | undefined;
  let via: LoadPath = 'insert';
  let shareTables = false;
  let failure: unknown;
  let closed = false;
  const waiting: Array<() => void> = [];
  const wake = () => { for (const w of waiting.splice(0)) w(); };
  const restore: string[] = [];
  const abort = new AbortController();
  const signal = o.signal ? AbortSignal.any([o.signal, abort.signal]) : abort.signal;
  let loaders: Promise<void> = Promise.resolve();

  const loader = async () => {
    await withConnection(pool!, async (c) => {
      for (;;) {
        const i = pickChunk(jobs, (j) => tableKey(j.t), busy, shareTables ? filled : undefined, byFile);
        if (i < 0) {
          if (closed && !jobs.length) return;
          await new Promise<void>((r) => { waiting.push(r); });
          continue;
        }
        const job = jobs.splice(i, 1)[0]!;
        busy.set(tableKey(job.t), (busy.get(tableKey(job.t)) ?? 0) + 1);
        try {
          if (!failure) {
            const w = await loadChunk(c, { table: job.t, range: job.chunk, path: job.path, rows: job.chunk.rows, clear: false, via, expect: job.chunk });
            loaded[job.chunk.file] = job.chunk.checksum;
            filled.add(tableKey(job.t));
            if (w.length) warnings[job.chunk.file] = w;
          }
        } catch (e) {
          failure ??= e;
          abort.abort(e);
        } finally {
          busy.set(tableKey(job.t), busy.get(tableKey(job.t))! - 1);
          job.done();
          wake(); // a loader waiting for this table may go on
        }
      }
    }).finally(wake);
  };

  const onSchema = async (schemas: readonly DatabaseSchema[], server: Manifest['server']) => {
    const p = await connectMysql(o.target, { connections: parallelism + 1, session: [...loadSession(server.sqlMode), ...(o.skipBinlog ? await binlogOff(o.target, o.note) : [])] });
    if (await anyTableExists(p, schemas)) {
      o.note?.(`tables already exist on ${o.target.host}:${o.target.port}: export first, then import (every chunk checked on the target)`);
      await p.end();
      return;
    }
    pool = p;
    via = await choosePath(pool, o, restore);
    shareTables = await loadersShareTables(pool);
    await withConnection(pool, (c) => createTables(c, o.target, schemas, false));
    loaders = Promise.all(Array.from({ length: parallelism }, loader)).then(() => undefined, (e: unknown) => { failure ??= e; });
  };
  const onChunk = (t: TableInfo, chunk: ChunkEntry, path: string) => new Promise<void>((done) => {
    if (!pool) { done(); return; }
    jobs.push({ t, chunk, path, done });
    wake();
  });

  let manifest: Manifest;
  try {
    // A loader's failure aborts the export with that failure as the reason: what went wrong first is thrown.
    manifest = await exportMysql({ ...o, signal, onSchema, onChunk });
  } finally {
    closed = true;
    wake();
    await loaders;
    for (const s of restore) await pool?.query(s).catch(() => undefined);
    await pool?.end();
  }
  if (failure) throw failure;
  const streamedChunks = Object.keys(loaded).length;
  // The import takes over from here: what streamed is recorded as loaded for this export and target.
  await writeFileAtomic(o.stateFile, JSON.stringify({ export: manifest.createdAt, target: `${o.target.host}:${o.target.port}`, loaded, warnings }));
  return { manifest, streamedChunks, seconds: (performance.now() - started) / 1000 };
}

const tableKey = (t: TableInfo) => `${t.database}.${t.name}`;
/** A table's chunk files sort in key order (segment, then index: manifest.ts chunkFile). */
const byFile = (a: Job, b: Job) => (a.chunk.file < b.chunk.file ? -1 : a.chunk.file > b.chunk.file ? 1 : 0);

async function anyTableExists(pool: Pool, schemas: readonly DatabaseSchema[]): Promise<boolean> {
  const names = schemas.flatMap((s) => s.objects.filter((x) => x.kind === 'table').map((x) => [s.database, x.name] as const));
  if (!names.length) return false;
  const [rows] = await pool.query(`SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE (TABLE_SCHEMA, TABLE_NAME) IN (${names.map(() => '(?, ?)').join(', ')})`, names.flat());
  return Number((rows as Array<{ n: unknown }>)[0]?.n ?? 0) > 0;
}
