/**
 * Import an export directory into a target server: schema first, data next (chunks in parallel, foreign
 * key and unique checks off, the source's sql_mode without strictness: load-warnings.ts), then triggers,
 * routines, views and events. Warnings a load raised are kept per chunk and returned grouped.
 * Resumable per chunk: progress lives in `stateFile` (written atomically after each chunk); a chunk not
 * recorded there is checked on the target (its lines' sha256, chunk-compare.ts) and skipped, or its range
 * cleared, every range before any chunk loads (clearStale), then loaded.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pool, PoolConnection } from 'mysql2/promise';
import { noProgress, type Progress } from '../../core/progress.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { FerryError } from '../../core/errors.ts';
import { runWorkers } from '../../util/workers.ts';
import { connectMysql, isPrivilegeError, oneLine, privilegeError, q, withConnection, withMysql, type MysqlTarget } from './connect.ts';
import { holdsChunk } from './chunk-compare.ts';
import { rangeWhere } from './checksum.ts';
import { describeRange } from './bisect.ts';
import { loadChunk, type LoadPath } from './load-chunk.ts';
import { readManifest, type ChunkEntry, type Manifest, type TableEntry } from './manifest.ts';
import type { DatabaseSchema } from './schema-export.ts';
import { readServerFacts } from './server.ts';
import { accountSql, readAccountsExport } from './accounts.ts';
import { applyAccounts, applyObjectGrants } from './accounts-apply.ts';
import { dataLoadSqlMode, groupWarnings, MAX_WARNINGS, type LoadWarning, type LoadWarningGroup } from './load-warnings.ts';
import { createObjects } from './objects.ts';
import { addAllDeferredKeys, splitDeferred, type DeferMode } from './deferred-keys.ts';
import { loadersShareTables, runLoads } from './load-order.ts';
import { safeServerError } from './server-message.ts';

export interface ImportOptions {
  readonly target: MysqlTarget;
  readonly dir: string;
  /** Per-chunk progress file (JSON), e.g. `<stateDir>/mysql/import-progress.json`. */
  readonly stateFile: string;
  readonly parallelism?: number;
  /** 'auto' (default): LOAD DATA LOCAL INFILE, enabling local_infile for the migration if allowed, else INSERTs. */
  readonly via?: 'auto' | LoadPath;
  readonly progress?: Progress;
  readonly signal?: AbortSignal;
  /**
   * Create secondary indexes and foreign keys after the data (deferred-keys.ts). Default false: on
   * Vedfolnir's data (scale 200, MariaDB 10.11, autoinc lock mode 1) it saved ~8% of the target's CPU
   * on the big table's load but the index build after it is one more serial ALTER on that table, so
   * the import took as long or longer. (The streaming copy defers every other table's: copy.ts.)
   */
  readonly deferKeys?: boolean;
  /**
   * The target is ferry's own (the forward import): end by adding any deferred key (deferred-keys.ts) a
   * table lacks, whatever created it: the streaming copy creates tables without them, and a run killed
   * before they were added goes on from here. Not for the host's server (rollback): its tables are left as they are.
   */
  readonly addMissingKeys?: boolean;
  /**
   * Keep the load out of the target's binary log (`sql_log_bin = 0`) when it keeps one and the account may:
   * MySQL 8 logs by default, so every row would be written twice. For a fresh stack target only (the
   * forward import); never into a host server (rollback), whose replicas must see what it is given.
   */
  readonly skipBinlog?: boolean;
  /** Notes for the report ("local_infile was OFF: enabled for the migration"). */
  readonly note?: (message: string) => void;
  /** The password of a carried account whose plugin the target lacks (from the stack's secret file), if known. */
  readonly passwordFor?: (account: { user: string; host: string }) => Promise<string | undefined>;
}

/** What happened to a carried account (no hash or password in it). */
export interface AccountOutcome {
  readonly account: string;
  readonly action: 'keep' | 'create' | 'create-with-password' | 'cannot';
  readonly reason: string;
  /** The statements run, credentials as placeholders. */
  readonly statements: readonly string[];
  /** Grants not carried (global, other databases, roles), with why. */
  readonly notCarried: readonly string[];
}

export interface ImportResult {
  readonly via: LoadPath;
  readonly chunksLoaded: number;
  readonly chunksSkipped: number;
  readonly rows: number;
  readonly bytes: number;
  readonly seconds: number;
  /** Warnings the loads raised on values the target holds exactly, once per table, column and code (this run's and earlier runs'). */
  readonly warnings: readonly LoadWarningGroup[];
  /** The accounts the objects and the app need (accounts.ts). */
  readonly accounts: readonly AccountOutcome[];
}

interface ImportState {
  readonly export: string; readonly target: string; loaded: Record<string, string>;
  /** Per chunk file: the warnings its accepted load raised. */
  warnings?: Record<string, LoadWarning[]>;
  /** Accounts this import created (`user@host`); any other account on the target is never touched. */
  accounts?: string[];
}

export async function importMysql(o: ImportOptions): Promise<ImportResult> {
  const started = performance.now();
  const m = await readManifest(o.dir);
  const parallelism = o.parallelism ?? 2;
  const progress = o.progress ?? noProgress;
  const session = [...loadSession(m.server.sqlMode), ...(o.skipBinlog ? await binlogOff(o.target, o.note) : [])];
  const pool = await connectMysql(o.target, { connections: parallelism + 1, session });
  const restore: string[] = [];
  try {
    const via = await choosePath(pool, o, restore);
    const state = await readState(o, m);
    await withConnection(pool, (c) => createTables(c, o.target, m.schemas, () => (o.deferKeys ? 'all' : 'none')));
    // Chunks of the largest tables first, one loader per table unless the target lets loaders share one
    // (load-order.ts: an empty table's first chunk alone, then two where LOAD DATA takes no table lock).
    const tables = m.tables.filter((t) => t.chunks.length > 0).sort((a, b) => sum(b.chunks, (x) => x.bytes) - sum(a.chunks, (x) => x.bytes));
    const jobs = tables.flatMap((t) => t.chunks.map((chunk) => ({ t, chunk })));
    const total = { rows: m.totals.rows, done: 0, bytes: 0, loaded: 0, skipped: 0 };
    let saving = Promise.resolve();
    const save = () => (saving = saving.then(() => writeFileAtomic(o.stateFile, JSON.stringify(state))));
    const conns = await Promise.all(Array.from({ length: parallelism }, () => pool.getConnection()));
    /** Tables a chunk was loaded into by this run (the first is loaded with unique_checks on: load-chunk.ts). */
    const begun = new Set<string>();
    try {
      const stale = await clearStale(conns, jobs, state, o.signal);
      if (stale.size < jobs.length) await save();
      for (const { t, chunk } of jobs.filter((j) => !stale.has(j))) {
        o.signal?.throwIfAborted();
        total.skipped++; total.done += chunk.rows; total.bytes += chunk.bytes;
        progress.update({ unit: 'rows', done: total.done, total: total.rows, bytes: total.bytes, label: `table ${t.table.name}` });
      }
      await runLoads(jobs.filter((j) => stale.has(j)), (j) => `${j.t.table.database}.${j.t.table.name}`, await loadersShareTables(pool), parallelism, async ({ t, chunk }, worker) => {
        o.signal?.throwIfAborted();
        const key = `${t.table.database}.${t.table.name}`;
        await loadStale(conns[worker]!, t, chunk, state, o.dir, via, !begun.has(key));
        begun.add(key);
        total.loaded++; state.loaded[chunk.file] = chunk.checksum; await save();
        total.done += chunk.rows; total.bytes += chunk.bytes;
        progress.update({ unit: 'rows', done: total.done, total: total.rows, bytes: total.bytes, label: `table ${t.table.name}` });
      });
    } finally {
      for (const c of conns) c.release();
    }
    await saving;
    // Secondary indexes and foreign keys last (deferred-keys.ts), once every chunk is in: whichever a table
    // lacks (deferKeys here; on ferry's own target also what the streaming copy or a killed run left out).
    const deferred = !o.deferKeys && !o.addMissingKeys ? []
      : m.schemas.flatMap((s) => s.objects.filter((x) => x.kind === 'table').map((x) => ({ db: s.database, name: x.name, keys: splitDeferred(x.ddl).deferred })));
    await addAllDeferredKeys(pool, deferred, parallelism);
    // Accounts before the objects that name them as DEFINER; grants on objects once they exist.
    const x = await readAccountsExport(o.dir);
    state.accounts ??= [];
    const owned = new Set(state.accounts);
    const plans = await withConnection(pool, (c) => applyAccounts(c, x, {
      owned, own: async (k) => { if (!owned.has(k)) { owned.add(k); state.accounts!.push(k); await save(); await saving; } },
      ...(o.passwordFor ? { passwordFor: o.passwordFor } : {}),
    }));
    await withConnection(pool, (c) => createObjects(c, m));
    await withConnection(pool, (c) => applyObjectGrants(c, x, owned));
    const accounts: AccountOutcome[] = plans.map((p) => ({
      account: accountSql(p.account), action: p.action, reason: p.reason, statements: p.statements,
      notCarried: [...p.account.notCarried.map((n) => `${n.grant} (${n.why})`), ...p.dropped.map((d) => `${d} (an account option the target lacks)`)],
    }));
    for (const a of accounts) for (const n of a.notCarried) o.note?.(`${a.account}: not carried: ${n}`);
    const warnings = groupWarnings(Object.values(state.warnings ?? {}).flat());
    return { via, chunksLoaded: total.loaded, chunksSkipped: total.skipped, rows: total.done, bytes: total.bytes, seconds: (performance.now() - started) / 1000, warnings, accounts };
  } finally {
    for (const s of restore) await pool.query(s).catch(() => undefined);
    await pool.end();
  }
}

/**
 * Databases and tables (no triggers: a chunk reloaded on a re-run must not fire them; they come after the
 * data), each without the keys `defer` names for it (deferred-keys.ts: the import adds them at its end).
 */
export async function createTables(c: PoolConnection, target: MysqlTarget, schemas: readonly DatabaseSchema[], defer: (database: string, table: string) => DeferMode): Promise<void> {
  for (const s of schemas) {
    await guard(target, `CREATE DATABASE ${s.database}`, () => c.query(s.createDatabase));
    await c.query(`USE ${q(s.database)}`);
    for (const t of s.objects.filter((x) => x.kind === 'table')) await c.query(splitDeferred(t.ddl, defer(s.database, t.name)).create);
    for (const t of s.objects.filter((x) => x.kind === 'trigger')) await c.query(`DROP TRIGGER IF EXISTS ${q(t.name)}`);
  }
}

/** The session every loading connection runs: the source's sql_mode without strictness, checks off. */
export const loadSession = (sourceSqlMode: string): string[] => [`SET SESSION sql_mode = '${dataLoadSqlMode(sourceSqlMode)}'`, 'SET SESSION foreign_key_checks = 0',
  'SET SESSION unique_checks = 0', 'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED', `SET SESSION max_error_count = ${MAX_WARNINGS}`];

/**
 * `SET SESSION sql_log_bin = 0` when the target writes a binary log and the account may turn it off for
 * its session (MySQL 8: SYSTEM_VARIABLES_ADMIN or SESSION_VARIABLES_ADMIN; MariaDB: BINLOG ADMIN or SUPER), else nothing.
 */
export async function binlogOff(target: MysqlTarget, note?: (message: string) => void): Promise<string[]> {
  return withMysql(target, async (c) => {
    const [rows] = await c.query('SELECT @@log_bin AS b');
    if (Number((rows as Array<{ b: unknown }>)[0]?.b ?? 0) !== 1) return [];
    try {
      await c.query('SET SESSION sql_log_bin = 0');
      note?.(`the load into ${target.host}:${target.port} is kept out of its binary log (sql_log_bin = 0): a replica of it set up before the import would not see these rows`);
      return ['SET SESSION sql_log_bin = 0'];
    } catch (e) {
      note?.(`${target.user} may not turn off the binary log on ${target.host}:${target.port} (${oneLine(e)}): every loaded row is logged as well`);
      return [];
    }
  });
}

type Job = { readonly t: TableEntry; readonly chunk: ChunkEntry };

/**
 * The chunks to load: each one neither recorded nor held by the target, its range cleared of what the target
 * holds there. Every range is checked and cleared before any chunk loads: the target may hold an older
 * export's rows (a killed run, the source changed since), and a unique value that moved to a lower key on
 * the source would meet its old row, not cleared yet, as a duplicate (LOAD DATA LOCAL then skips the row:
 * the same failure on every re-run). The first error stops the other connection after its chunk.
 */
async function clearStale(conns: readonly PoolConnection[], jobs: readonly Job[], state: ImportState, signal?: AbortSignal): Promise<Set<Job>> {
  const queue = jobs.filter((j) => state.loaded[j.chunk.file] !== j.chunk.checksum);
  const stale = new Set<Job>();
  await runWorkers(conns.length, async (i, stopped) => {
    const c = conns[i]!;
    for (let j = queue.shift(); j && !stopped(); j = queue.shift()) {
      signal?.throwIfAborted();
      const { table } = j.t;
      const held = await holdsChunk(c, table, j.chunk);
      if (held.same) { state.loaded[j.chunk.file] = j.chunk.checksum; continue; }
      if (held.rows > 0) {
        await c.query(`DELETE FROM ${q(table.database)}.${q(table.name)} WHERE ${rangeWhere(table, j.chunk)}`).catch((e: unknown) => {
          throw new FerryError('E_MYSQL_LOAD', `Clearing ${table.database}.${table.name}, key range ${describeRange(table, j.chunk)} on the target failed: ${safeServerError(e)}`, {
            hint: 'fix the cause, then run again: chunks the target holds are kept',
          });
        });
      }
      stale.add(j);
    }
  });
  return stale;
}

/** Load a chunk into its range, which `clearStale` left empty. */
async function loadStale(c: PoolConnection, t: TableEntry, chunk: ChunkEntry, state: ImportState, dir: string, via: LoadPath, first: boolean): Promise<void> {
  const warnings = await loadChunk(c, { table: t.table, range: chunk, path: join(dir, chunk.file), rows: chunk.rows, clear: false, via, expect: chunk, first });
  state.warnings ??= {};
  if (warnings.length) state.warnings[chunk.file] = warnings; else delete state.warnings[chunk.file];
}

function sum<T>(xs: readonly T[], f: (x: T) => number): number {
  return xs.reduce((n, x) => n + f(x), 0);
}

/** LOAD DATA LOCAL where the target allows it (enabling local_infile when permitted; `restore` undoes it), else INSERTs. */
export async function choosePath(pool: Pool, o: Pick<ImportOptions, 'via' | 'target' | 'note'>, restore: string[]): Promise<LoadPath> {
  if (o.via === 'insert') return 'insert';
  const facts = await readServerFacts(pool);
  if (facts.localInfile) return 'local-infile';
  try {
    await pool.query('SET GLOBAL local_infile = 1');
    restore.push('SET GLOBAL local_infile = 0');
    o.note?.(`local_infile was OFF on ${o.target.host}:${o.target.port}: enabled for the migration and restored afterwards`);
    return 'local-infile';
  } catch (e) {
    if (o.via === 'local-infile') throw privilegeError(e, o.target, 'SET GLOBAL local_infile', 'GRANT SYSTEM_VARIABLES_ADMIN ON *.* TO {user}  (MariaDB: GRANT SUPER)');
    o.note?.(`local_infile is OFF on ${o.target.host}:${o.target.port} and ${o.target.user} may not enable it (${oneLine(e)}): loading with multi-row INSERTs`);
    return 'insert';
  }
}

async function readState(o: ImportOptions, m: Manifest): Promise<ImportState> {
  const id = { export: m.createdAt, target: `${o.target.host}:${o.target.port}` };
  try {
    const s = JSON.parse(await readFile(o.stateFile, 'utf8')) as ImportState;
    if (s.export === id.export && s.target === id.target) return s;
  } catch { /* none yet */ }
  return { ...id, loaded: {} };
}

async function guard<T>(t: MysqlTarget, what: string, fn: () => Promise<T>): Promise<T> {
  try { return await fn(); } catch (e) {
    throw isPrivilegeError(e) ? privilegeError(e, t, what, 'GRANT ALL PRIVILEGES ON *.* TO {user}') : e;
  }
}
