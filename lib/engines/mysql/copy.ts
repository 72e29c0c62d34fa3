/**
 * A streaming copy: the export runs as always (consistent snapshot, chunk files, manifest: still the
 * rollback backup), and each chunk is loaded into the target as soon as its file is complete, while
 * the export goes on; the import that follows finds those chunks recorded and loads only what is left
 * (objects, accounts, any chunk not streamed). Streaming needs a target without the tables yet: when
 * any already exists (a re-run after a kill), the copy falls back to export, then import, which checks
 * every chunk on the target (chunk-compare.ts). `parallelism` loaders; two on one table only where that helps (load-order.ts).
 *
 * Keys: every table but the largest is created without its secondary indexes, which a loader adds in one
 * ALTER as soon as the table's last chunk is in, while the largest table still loads; then, once all those
 * tables are complete, their foreign keys one table at a time (at the end, from the import, posts' took
 * 0.35 s of a scale-500 copy); the largest table's own, and any referencing it, come from the import
 * (`addMissingKeys`: it adds whatever a table lacks, so a run killed before the keys were in converges too). Measured on the target alone (MariaDB 10.11, scale 500, mysqld CPU-s, load then
 * ALTER vs keys in place): posts 3.25 vs 5.0-5.2, processing_jobs 1.02-1.13 vs 1.42-1.46, audit_log
 * 0.46 vs 0.56-0.60 (their index entries arrive in random order), images 9.9-11.4 vs 10.3-10.6 (its
 * entries arrive in key order: nothing gained, and its ALTER, 2 CPU-s, would run alone at the end).
 */
import type { Pool } from 'mysql2/promise';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { FerryError } from '../../core/errors.ts';
import { connectMysql, describeConnectError, withConnection, type MysqlTarget } from './connect.ts';
import type { TableInfo } from './catalog.ts';
import { exportMysql, type ExportOptions } from './export.ts';
import { binlogOff, choosePath, createTables, importMysql, loadSession, type ImportOptions, type ImportResult } from './import.ts';
import { loadChunk, type LoadPath } from './load-chunk.ts';
import { loadersShareTables, pickChunk } from './load-order.ts';
import type { LoadWarning } from './load-warnings.ts';
import type { ChunkEntry, Manifest } from './manifest.ts';
import type { DatabaseSchema } from './schema-export.ts';
import { addDeferredKeys, splitDeferred, type DeferMode, type DeferredKey } from './deferred-keys.ts';

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

/** Deferred keys of one table. */
interface TableKeys { readonly t: TableInfo; readonly keys: readonly DeferredKey[] }
/**
 * A chunk to load; a table's deferred indexes, once every chunk of it is in; or the foreign keys of
 * every table but the largest, once all of those are complete (`t`: the first of them).
 */
type Job = { readonly t: TableInfo; readonly chunk: ChunkEntry; readonly path: string; done(): void } | TableKeys | { readonly t: TableInfo; readonly foreignKeys: readonly TableKeys[] };

export async function copyMysql(o: CopyOptions): Promise<CopyResult> {
  const started = performance.now();
  const { manifest, streamedChunks } = await streamMysql(o);
  const r = await importMysql({
    target: o.target, dir: o.dir, stateFile: o.stateFile, parallelism: o.parallelism ?? 2, addMissingKeys: true,
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
  /** Per table: chunks handed over and not loaded yet; tables whose every chunk was handed over; deferred indexes. */
  const pending = new Map<string, number>();
  const exported = new Set<string>();
  const indexes = new Map<string, DeferredKey[]>();
  /** Tables with every chunk and index in; the tables whose foreign keys are added here, and theirs. */
  const complete = new Set<string>();
  let others: string[] = [];
  let foreignKeys: TableKeys[] = [];
  /** Queue what a table's progress allows: its indexes once its chunks are in, the foreign keys once every other table is complete. */
  const settle = (t: TableInfo) => {
    const k = tableKey(t);
    if (pending.get(k) || !exported.has(k) || complete.has(k)) return;
    const idx = indexes.get(k);
    indexes.delete(k);
    if (idx?.length) { jobs.push({ t, keys: idx }); wake(); return; } // settled again when they are in
    complete.add(k);
    if (foreignKeys.length && others.every((x) => complete.has(x))) { jobs.push({ t: foreignKeys[0]!.t, foreignKeys }); foreignKeys = []; wake(); }
  };
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

  /** Stop: the export aborted with `e`, every queued chunk released (the export waits for each), the loaders woken to return. */
  const stop = (e: unknown) => {
    failure ??= e;
    abort.abort(failure);
    for (const j of jobs.splice(0)) if ('done' in j) j.done();
    wake();
  };
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
          if (failure) { /* stopping: the chunk stays for the import */ } else if ('keys' in job) {
            await addDeferredKeys(c, job.t.database, job.t.name, job.keys);
            settle(job.t);
          } else if ('foreignKeys' in job) {
            // One table at a time, never beside another ALTER (deferred-keys.ts: MariaDB 10.11 crashed on concurrent ones).
            for (const f of job.foreignKeys) await addDeferredKeys(c, f.t.database, f.t.name, f.keys);
          } else {
            const w = await loadChunk(c, { table: job.t, range: job.chunk, path: job.path, rows: job.chunk.rows, clear: false, via, expect: job.chunk, first: !filled.has(tableKey(job.t)) });
            loaded[job.chunk.file] = job.chunk.checksum;
            filled.add(tableKey(job.t));
            if (w.length) warnings[job.chunk.file] = w;
            pending.set(tableKey(job.t), pending.get(tableKey(job.t))! - 1);
            settle(job.t); // queued before done(): the loaders are still running when the export returns
          }
        } catch (e) {
          stop(e);
        } finally {
          busy.set(tableKey(job.t), busy.get(tableKey(job.t))! - 1);
          if ('done' in job) job.done();
          wake(); // a loader waiting for this table may go on
        }
      }
    }).finally(wake);
  };

  const onSchema = async (schemas: readonly DatabaseSchema[], server: Manifest['server'], tables: readonly TableInfo[]) => {
    const p = await connectMysql(o.target, { connections: parallelism + 1, session: [...loadSession(server.sqlMode), ...(o.skipBinlog ? await binlogOff(o.target, o.note) : [])] });
    const exists = await anyTableExists(p, schemas).catch(async (e: unknown) => { await p.end().catch(() => undefined); throw e; });
    if (exists) {
      o.note?.(`tables already exist on ${o.target.host}:${o.target.port}: export first, then import (every chunk checked on the target)`);
      await p.end();
      return;
    }
    pool = p;
    via = await choosePath(pool, o, restore);
    shareTables = await loadersShareTables(pool);
    // Secondary indexes after the data, added by a loader as soon as a table's last chunk is in (while the
    // largest table still loads); the largest table keeps them (its ALTER would run alone at the end).
    // Foreign keys once every index is in and every table but the largest complete, one ALTER at a time,
    // beside the largest table's loads: all but the largest table's own and those referencing it, which
    // the import adds (deferred-keys.ts).
    const largest = tables[0] ? tableKey(tables[0]) : '';
    const defer = (db: string, name: string): DeferMode => (`${db}.${name}` === largest ? 'foreign keys' : 'all');
    const byKey = new Map(tables.map((t) => [tableKey(t), t]));
    others = [...byKey.keys()].filter((k) => k !== largest);
    for (const s of schemas) {
      for (const x of s.objects) {
        const t = byKey.get(`${s.database}.${x.name}`);
        if (x.kind !== 'table' || !t) continue;
        const keys = splitDeferred(x.ddl, defer(s.database, x.name)).deferred;
        const idx = keys.filter((k) => k.kind === 'index');
        if (idx.length) indexes.set(tableKey(t), idx);
        const fks = tableKey(t) === largest ? [] : keys.filter((k) => k.kind === 'foreign key' && others.includes(referenced(k, s.database)));
        if (fks.length) foreignKeys.push({ t, keys: fks });
      }
    }
    await withConnection(pool, (c) => createTables(c, o.target, schemas, defer));
    // A loader that cannot even get its connection stops the copy too (else the export would go on, and with
    // no loader left wait forever for its chunks); every loader has returned before the pool is ended.
    const target = o.target;
    loaders = Promise.allSettled(Array.from({ length: parallelism }, () => loader().catch((e: unknown) => {
      stop(e instanceof FerryError ? e : describeConnectError(e, target));
    }))).then(() => undefined);
  };
  const onChunk = (t: TableInfo, chunk: ChunkEntry, path: string) => new Promise<void>((done) => {
    if (!pool || failure) { done(); return; }
    pending.set(tableKey(t), (pending.get(tableKey(t)) ?? 0) + 1);
    jobs.push({ t, chunk, path, done });
    wake();
  });
  const onTableExported = (t: TableInfo) => {
    if (!pool) return;
    exported.add(tableKey(t));
    settle(t);
  };

  let manifest: Manifest;
  try {
    // A loader's failure aborts the export with that failure as the reason: what went wrong first is thrown.
    manifest = await exportMysql({ ...o, signal, onSchema, onChunk, onTableExported });
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
/** `db.table` a foreign key clause references (SHOW CREATE TABLE names another database's table as `db`.`t`). */
function referenced(k: DeferredKey, database: string): string {
  const m = /\bREFERENCES `((?:[^`]|``)+)`(?:\.`((?:[^`]|``)+)`)?/.exec(k.clause);
  const un = (x: string) => x.replace(/``/g, '`');
  return !m ? '' : m[2] === undefined ? `${database}.${un(m[1]!)}` : `${un(m[1]!)}.${un(m[2])}`;
}
/** A table's chunk files sort in key order (segment, then index: manifest.ts chunkFile); its indexes come after its chunks anyway. */
const fileOf = (j: Job) => ('chunk' in j ? j.chunk.file : '');
const byFile = (a: Job, b: Job) => (fileOf(a) < fileOf(b) ? -1 : fileOf(a) > fileOf(b) ? 1 : 0);

async function anyTableExists(pool: Pool, schemas: readonly DatabaseSchema[]): Promise<boolean> {
  const names = schemas.flatMap((s) => s.objects.filter((x) => x.kind === 'table').map((x) => [s.database, x.name] as const));
  if (!names.length) return false;
  const [rows] = await pool.query(`SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE (TABLE_SCHEMA, TABLE_NAME) IN (${names.map(() => '(?, ?)').join(', ')})`, names.flat());
  return Number((rows as Array<{ n: unknown }>)[0]?.n ?? 0) > 0;
}
