/**
 * Export: one snapshot shared by the workers and pg_dump; the schema as pg_dump's pre-data and post-data;
 * each table streamed with `COPY … TO STDOUT` through ferry into chunk files of about `chunkBytes`, cut
 * at primary-key ranges, each range read once in key order, its digest the sha256 of what was streamed
 * (checksum.ts; a keyless table's checksum computed by the server in the same snapshot); sequences,
 * roles, materialized views to refresh, large objects. Written to `<dir>.partial` and renamed into place
 * at the end, so `dir` is always whole. Never changes the source (read-only transactions).
 *
 * What the reads cost the source (measured on the second app at scale 250, 2.1M rows): a range read in
 * key order is an index scan, which reads through shared_buffers with no ring: each worker's backend
 * cycles through the whole buffer cache (the app's cached pages are evicted) and, being a new process,
 * maps every buffer page on first touch (~28k minor faults per backend at the default 128 MB). pg_dump's
 * `COPY table TO` of a table bigger than a quarter of shared_buffers is a sequential scan through a
 * 256 KB ring. On warm backends the ordered reads cost about what pg_dump's do (2.0–2.5 vs 2.9–3.7
 * CPU-s); on fresh backends 3.8–5.1, and the whole export 6.0–7.2 — on a VM where a minor fault costs
 * 13–20 µs (bench/machine.ts); on bare metal the faults cost under 0.1 s. Reading whole tables sequentially where the heap is
 * already in key order (checked row by row as it streams) would avoid both; not done.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import type pg from 'pg';
import { FerryError } from '../../core/errors.ts';
import { freeBytes } from '../../util/free-bytes.ts';
import { noProgress, type Progress } from '../../core/progress.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { runWorkers } from '../../util/workers.ts';
import { isPrivilegeError, privilegeError, ql, type PgTarget } from './connect.ts';
import { readLargeObjects, readMatviews, readSequences, readTables, type TableInfo } from './catalog.ts';
import { copyOutSql, rangeChecksum, type KeyRange } from './checksum.ts';
import { copyOutToFile } from './copy-protocol.ts';
import { planChunks } from './chunks.ts';
import { describeSchema } from './describe.ts';
import { chunkFile, MANIFEST_FORMAT, POST_DATA, PRE_DATA, ROLES_FILE, writeManifest, type ChunkEntry, type Manifest } from './manifest.ts';
import { readRoles, type RoleInfo } from './roles.ts';
import { exportIdOf } from './import-log.ts';
import { choosePgDump, dumpSection } from './schema-dump.ts';
import { readServerFacts } from './server.ts';
import { unreadableLargeObjects } from './facts.ts';
import { openSnapshot } from './snapshot.ts';

export interface ExportOptions {
  readonly source: PgTarget;
  /** Artifact directory (replaced as a whole at the end). */
  readonly dir: string;
  /** Workers reading chunks at once. Default 2. */
  readonly parallelism?: number;
  /** Target size of one chunk. Default 16 MiB of table (a big table loads on every worker). */
  readonly chunkBytes?: number;
  readonly progress?: Progress;
  readonly signal?: AbortSignal;
  /** A snapshot exported by a replication slot (follow): the export reads exactly what the slot starts after. */
  readonly snapshot?: string;
  /** The pg_dump to use (the store's pgDump option); default: choosePgDump's choice. */
  readonly pgDump?: string;
  /** A streaming export's view of the export as it goes (stream.ts). */
  readonly hooks?: ExportHooks;
}

/**
 * Called in this order, none awaited except as said: `start` before any chunk, with what the target's
 * database needs first; `planned` for a table before any of its chunks; `preData`, then `postData`, as
 * pg_dump's are out (the data streams meanwhile); `chunk` as each chunk file is complete (its path in
 * the partial directory): the directory is renamed only once every promise it returned settled.
 */
export interface ExportHooks {
  start?(s: { readonly exportId: string; readonly tables: readonly TableInfo[]; readonly roles: readonly RoleInfo[]; readonly encoding: string; readonly matviews: Manifest['matviews'] }): void;
  planned?(t: TableInfo, chunks: number): void;
  preData?(sql: string): void;
  postData?(sql: string): void;
  chunk?(t: TableInfo, entry: ChunkEntry, path: string): Promise<unknown>;
  /** The export failed with `error` (what it rejects with): called once, before it waits for every `chunk` promise to settle. */
  failed?(error: unknown): void;
}

/** What the export account needs (superuser additionally carries role password hashes). */
export const EXPORT_GRANT = 'GRANT CONNECT ON DATABASE {db} TO {user}; GRANT pg_read_all_data TO {user}  -- PostgreSQL ≥ 14; before: GRANT SELECT ON ALL TABLES IN SCHEMA <each schema> TO {user}; large objects are not covered by either: GRANT SELECT ON LARGE OBJECT <oid> TO {user} (preflight lists them)';

export async function exportPostgres(o: ExportOptions): Promise<Manifest> {
  const parallelism = Math.max(1, o.parallelism ?? 2);
  const progress = o.progress ?? noProgress;
  const chunkBytes = o.chunkBytes ?? 16 << 20;
  const partial = `${o.dir}.partial`;
  const hooks = o.hooks ?? {};
  const createdAt = new Date().toISOString();
  const started = performance.now();
  const timings: Record<string, number> = {};
  let mark = started;
  const lap = (name: string) => { const now = performance.now(); timings[name] = Math.round(now - mark) / 1000; mark = now; };
  const snap = await openSnapshot(o.source, parallelism, o.snapshot);
  const streamed: Array<Promise<unknown>> = [];
  /** The leader's reads, which write roles.json into the partial directory: settled before it is removed. */
  const writing: Array<Promise<unknown>> = [];
  try {
    const lead = snap.leader;
    // A chunk is read in key order (checksum.ts): where the planner sorts (a text key in "C" order, an
    // uncorrelated heap) a 16 MiB chunk sorts in memory rather than in temporary files (default 4 MB); no
    // parallel workers (the export's workers are the parallelism; more processes on the app's host only
    // add CPU). Session settings of ferry's own read-only workers.
    await Promise.all(snap.workers.map((w) => w.query("SET work_mem = '64MB'; SET max_parallel_workers_per_gather = 0")));
    const server = await readServerFacts(lead);
    // Large objects are read last: one the account may not read is refused now, all of them named, not after
    // the data; a relation it may not read too is named first (the workers' COPY would meet it first).
    const hiddenLos = await unreadableLargeObjects(lead, server.versionNum);
    if (hiddenLos.length) {
      const rels = await lead.query<{ name: string }>(`SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'm', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)' AND NOT has_table_privilege(c.oid, 'SELECT') ORDER BY 1`);
      if (rels.rows.length) {
        throw privilegeError(new Error(`permission denied for ${rels.rows.slice(0, 10).map((r) => r.name).join(', ')}`), o.source, `exporting ${o.source.database}`, EXPORT_GRANT);
      }
      const more = hiddenLos.length > 1 ? ` (and ${hiddenLos.length - 1} more: ${hiddenLos.slice(1, 10).join(', ')}${hiddenLos.length > 10 ? ', …' : ''})` : '';
      throw privilegeError(new Error(`permission denied for large object ${hiddenLos[0]}`), o.source, `reading large object ${hiddenLos[0]}${more}`, largeObjectGrant(o.source.user));
    }
    await assertDiskSpace(dirname(o.dir), server.databaseBytes, o.source);
    // pg_dump is chosen (a --version run, maybe a docker image's) while the tables are read and planned.
    const tool = choosePgDump(server.major, o.source, o.pgDump ? { override: o.pgDump } : {});
    tool.catch(() => undefined);
    await rm(partial, { recursive: true, force: true });
    await mkdir(join(partial, 'schema'), { recursive: true });
    const files: Record<string, string> = {};
    const put = async (rel: string, text: string, mode = 0o644) => {
      await writeFileAtomic(join(partial, rel), text, mode);
      files[rel] = createHash('sha256').update(text).digest('hex');
    };
    // pg_dump runs in its own processes, in the snapshot, while the workers stream the data.
    // Pre-data first (a streaming export applies it on the target as soon as it is out), then post-data.
    // The hooks in their order: `preData` only after `start` (pg_dump may be out before the tables are read).
    let announce!: () => void;
    const announced = new Promise<void>((res) => { announce = res; });
    const schemaDump = tool.then(async (x) => {
      const pre = await dumpSection(x, o.source, 'pre-data', snap.id, o.signal);
      await announced;
      hooks.preData?.(pre);
      const post = await dumpSection(x, o.source, 'post-data', snap.id, o.signal);
      hooks.postData?.(post);
      return [pre, post] as const;
    });
    schemaDump.catch(() => undefined);
    const tables = await readTables(lead, server.major >= 14);
    // Roles and materialized views are read first (a streaming export needs them with the pre-data), one
    // query at a time on the leader's session, then the planning.
    const roles = await readRoles(lead, server.superuser);
    const matviews = await readMatviews(lead);
    // Work items: every chunk of every table, biggest tables first, so the tail is short. The workers
    // start on the first table's chunks while the leader plans the next ones, then reads the schema
    // facts, roles, sequences and materialized views (its own session, the same snapshot) as they stream.
    tables.sort((a, b) => b.bytes - a.bytes);
    hooks.start?.({ exportId: exportIdOf({ snapshot: snap, createdAt }), tables, roles: roles.roles, encoding: server.encoding, matviews });
    announce();
    const jobs: Array<{ t: TableInfo; range: KeyRange; index: number; out: ChunkEntry[] }> = [];
    const perTable = new Map<TableInfo, ChunkEntry[]>();
    let planned: { error?: unknown } | undefined;
    let waiters: Array<() => void> = [];
    const wake = () => { const w = waiters; waiters = []; for (const f of w) f(); };
    const planning = (async () => {
      try {
        for (const t of tables) {
          const ranges = await planChunks(lead, t, chunkBytes);
          hooks.planned?.(t, ranges.length);
          const out: ChunkEntry[] = [];
          perTable.set(t, out);
          ranges.forEach((range, index) => jobs.push({ t, range, index, out }));
          wake();
        }
        planned = {};
      } catch (error) {
        planned = { error };
      }
      wake();
      if (planned.error) throw planned.error;
    })();
    const leaderReads = planning.then(async () => {
      lap('plan');
      const facts = await describeSchema(lead);
      await put(ROLES_FILE, JSON.stringify(roles.roles, null, 1) + '\n', 0o600);
      return { facts, sequences: await readSequences(lead) };
    });
    leaderReads.catch(() => undefined);
    writing.push(leaderReads);
    const totalEst = tables.reduce((s, t) => s + Math.max(0, t.estRows), 0);
    const done = { rows: 0, bytes: 0 };
    let next = 0;
    // The first worker's error stops the others at their next chunk; every one has returned (no chunk
    // still being written into the partial directory) before the error is thrown and the directory removed.
    await runWorkers(snap.workers.length, async (i, stopped) => {
      const w = snap.workers[i]!;
      for (;;) {
        if (stopped()) return;
        o.signal?.throwIfAborted();
        const job = jobs[next];
        if (!job) {
          if (planned) return;
          await new Promise<void>((res) => waiters.push(res));
          continue;
        }
        next++;
        const entry = await exportChunk(w, job.t, job.range, job.index, partial);
        job.out[job.index] = entry;
        if (hooks.chunk) streamed.push(hooks.chunk(job.t, entry, join(partial, entry.file)));
        done.rows += entry.rows; done.bytes += entry.bytes;
        progress.update({ unit: 'rows', done: done.rows, total: Math.max(totalEst, done.rows), bytes: done.bytes, label: `table ${job.t.schema}.${job.t.name}` });
      }
    }, wake);
    const { facts, sequences } = await leaderReads;
    lap('data');
    const [pre, post] = await schemaDump;
    await put(PRE_DATA, pre);
    await put(POST_DATA, post);
    lap('schema');
    const largeObjects = await exportLargeObjects(lead, partial, o.source);
    lap('largeObjects');
    // A streaming export's loads read the chunk files where they are: every one has settled before the rename.
    await Promise.all(streamed);
    o.signal?.throwIfAborted();
    const entries = tables.map((t) => {
      const chunks = perTable.get(t)!;
      return { table: t, rows: sum(chunks.map((c) => c.rows)), bytes: sum(chunks.map((c) => c.bytes)), chunks };
    }).sort((a, b) => `${a.table.schema}.${a.table.name}`.localeCompare(`${b.table.schema}.${b.table.name}`));
    const manifest: Manifest = {
      format: MANIFEST_FORMAT, createdAt,
      source: { host: o.source.host, port: o.source.port, user: o.source.user, database: o.source.database },
      server, snapshot: { id: snap.id, workers: snap.workers.length }, pgDump: (await tool).label, facts,
      roles: { names: roles.roles.map((r) => r.name), hashes: roles.hashes, notCarried: roles.roles.flatMap((r) => r.dropped.map((d) => `${r.name} ${d}`)) },
      tables: entries, sequences, matviews, largeObjects, files, timings,
      totals: { rows: sum(entries.map((e) => e.rows)), bytes: sum(entries.map((e) => e.bytes)), chunks: sum(entries.map((e) => e.chunks.length)) },
    };
    await writeManifest(partial, manifest);
    await rm(o.dir, { recursive: true, force: true });
    await rename(partial, o.dir);
    return manifest;
  } catch (e) {
    const error = isPrivilegeError(e) ? privilegeError(e, o.source, `exporting ${o.source.database}`, EXPORT_GRANT) : e;
    // A streaming export's loads read chunk files from the partial directory: stopped and settled before it goes
    // (a chunk waiting for a plan that will never start, its pre-data not out, settles only through `failed`).
    hooks.failed?.(error);
    await Promise.allSettled([...streamed, ...writing]);
    await rm(partial, { recursive: true, force: true }).catch(() => undefined);
    throw error;
  } finally {
    await snap.close();
  }
}

export { copyFormat, copyOutSql } from './checksum.ts';

/**
 * Stream one range into its file, sha256 on the way (copy-protocol.ts). A keyed table's range is read once: its ordered COPY
 * stream is the chunk's digest (checksum.ts), so checksum = sha256. A keyless table's whole-table chunk
 * gets the server-side row-hash sum in the same snapshot after its COPY.
 */
async function exportChunk(w: pg.Client, t: TableInfo, range: KeyRange, index: number, dir: string): Promise<ChunkEntry> {
  const file = chunkFile(t.schema, t.name, index);
  await mkdir(join(dir, dirname(file)), { recursive: true });
  const { rows, bytes, sha256 } = await copyOutToFile(w, copyOutSql(t, range), join(dir, file));
  if (t.key.length) return { ...range, file, rows, bytes, sha256, checksum: sha256 };
  const sum = await rangeChecksum(w, t, range);
  if (sum.rows !== rows) {
    throw new FerryError('E_PG_EXPORT', `${t.schema}.${t.name}: COPY streamed ${rows} rows but the snapshot counts ${sum.rows}`, { hint: 'this is a bug in ferry: keep the output for a report' });
  }
  return { ...range, file, rows: sum.rows, bytes, sha256, checksum: sum.sum };
}

const LO_PIECE = 1 << 20;

/** Each large object into `large-objects/<oid>.bin`, read in 1 MiB pieces (memory flat). */
async function exportLargeObjects(c: pg.Client, dir: string, source: PgTarget): Promise<Manifest['largeObjects']> {
  const out: Array<Manifest['largeObjects'][number]> = [];
  const los = await readLargeObjects(c);
  if (los.length) await mkdir(join(dir, 'large-objects'), { recursive: true });
  for (const lo of los) {
    const file = join('large-objects', `${lo.oid}.bin`);
    const hash = createHash('sha256');
    const ws = createWriteStream(join(dir, file));
    for (let off = 0; off < lo.bytes; off += LO_PIECE) {
      const r = await c.query<{ b: Buffer }>('SELECT lo_get($1::oid, $2::int8, $3::int4) AS b', [lo.oid, off, LO_PIECE])
        .catch((e: unknown) => { throw isPrivilegeError(e) ? largeObjectPrivilegeError(e, source, lo.oid) : e; });
      hash.update(r.rows[0]!.b);
      if (!ws.write(r.rows[0]!.b)) await new Promise<void>((res) => ws.once('drain', () => res()));
    }
    await new Promise<void>((res, rej) => ws.end((e?: Error | null) => (e ? rej(e) : res())));
    out.push({ ...lo, file, sha256: hash.digest('hex') });
  }
  return out;
}

/**
 * pg_read_all_data does not cover large objects: each needs SELECT granted on it (or its owner, a
 * superuser, or lo_compat_privileges on). The hint grants SELECT on every large object (one statement).
 */
function largeObjectPrivilegeError(e: unknown, source: PgTarget, oid: number): FerryError {
  return privilegeError(e, source, `reading large object ${oid}`, largeObjectGrant(source.user));
}

/** The one statement granting `user` SELECT on every large object (preflight's hint too). */
export function largeObjectGrant(user: string): string {
  return `DO $$DECLARE o oid; BEGIN FOR o IN SELECT oid FROM pg_largeobject_metadata LOOP EXECUTE format('GRANT SELECT ON LARGE OBJECT %s TO %I', o, ${ql(user)}); END LOOP; END$$;`;
}

async function assertDiskSpace(dir: string, need: number, t: PgTarget): Promise<void> {
  await mkdir(dir, { recursive: true });
  const free = await freeBytes(dir);
  if (free < need * 1.1) {
    throw new FerryError('E_DISK_SPACE', `${dir} has ${mib(free)} free; the export of ${t.host}:${t.port}/${t.database} needs about ${mib(need)}`, {
      hint: 'free space there or point the state directory at a larger disk',
    });
  }
}

const mib = (b: number) => `${Math.round(b / 1048576)} MiB`;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
