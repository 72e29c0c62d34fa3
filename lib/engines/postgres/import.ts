/**
 * Import into the target server: roles, the database, pre-data, then one plan on parallel workers —
 * every chunk with `COPY … FROM STDIN` (copy-protocol.ts), each table's index and constraint builds as
 * soon as its data is in, materialized-view refreshes, ANALYZE of each table once built, foreign keys
 * between plain tables once both are (loadBuildAnalyze) — then post-data's other links, sequences, large
 * objects. Resumable: each unit is one transaction, recorded in
 * `<stateDir>/import.log` after it commits; a re-run skips what the log lists, and a chunk not listed is
 * checked on the target first — its digest (checksum.ts: the same ordered COPY the export hashed) matches: skipped; anything else in its key range (a half-loaded
 * chunk): deleted and loaded again; a schema entry not listed whose object exists was committed by the
 * killed run. A target that already holds the database is refused unless `replace` (then it is dropped
 * first). Every other error is fatal: nothing is ignored the way `pg_restore` can. Roles it creates are
 * recorded (`created-roles`) so clearTarget can remove them.
 */
import { createReadStream } from 'node:fs';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';
import { copyInFromFile } from './copy-protocol.ts';
import { FerryError } from '../../core/errors.ts';
import { noProgress, type Progress } from '../../core/progress.ts';
import { connectPg, oneLine, qi, ql, qn, withDatabase, type PgTarget } from './connect.ts';
import { storedColumns, type TableInfo } from './catalog.ts';
import { copyFormat, rangeDigest, rangeWhere } from './checksum.ts';
import { POST_DATA, PRE_DATA, readManifest, ROLES_FILE, type ChunkEntry, type Manifest } from './manifest.ts';
import { foreignKeyTables, parsePostData, type PostData, type PostDataEntry } from './post-data.ts';
import { runPool, type PoolTask } from './task-pool.ts';
import { applyRoles, type RoleInfo } from './roles.ts';

export interface ImportOptions {
  readonly target: PgTarget;
  readonly dir: string;
  /** Where the progress log lives (`import.log`). */
  readonly stateDir: string;
  readonly parallelism?: number;
  /** Drop a target database that ferry did not create in this import. */
  readonly replace?: boolean;
  /** Appended to CREATE DATABASE (owner, locale: reverse recreates the host's database as it was). */
  readonly createClause?: string;
  readonly progress?: Progress;
  readonly signal?: AbortSignal;
}

export interface ImportResult {
  readonly rows: number;
  readonly chunksLoaded: number;
  readonly chunksSkipped: number;
  readonly resumed: boolean;
  readonly rolesCreated: readonly string[];
  readonly seconds: number;
  /** Seconds per phase: roles and database, pre-data, chunks, post-data, sequences/large objects/refreshes, analyze. */
  readonly phases: Readonly<Record<string, number>>;
}

export const IMPORT_LOG = 'import.log';
/** Roles ferry created on the target, one per line, written before each CREATE ROLE (clearTarget drops them). */
export const CREATED_ROLES = 'created-roles';

/** The roles an import into `stateDir` created (across imports and resumes). */
export async function readCreatedRoles(stateDir: string): Promise<string[]> {
  const text = await readFile(join(stateDir, CREATED_ROLES), 'utf8').catch(() => '');
  return [...new Set(text.split('\n').filter(Boolean))];
}

export async function importPostgres(o: ImportOptions): Promise<ImportResult> {
  const started = performance.now();
  const phases: Record<string, number> = {};
  let mark = started;
  const lap = (name: string) => { const now = performance.now(); phases[name] = Math.round(now - mark) / 1000; mark = now; };
  const m = await readManifest(o.dir);
  const parallelism = Math.max(1, o.parallelism ?? 2);
  const progress = o.progress ?? noProgress;
  const log = await openLog(o.stateDir, `${m.snapshot.id} ${m.createdAt}`);
  if (log.resumed && log.has('done')) return { rows: m.totals.rows, chunksLoaded: 0, chunksSkipped: m.totals.chunks, resumed: true, rolesCreated: [], seconds: 0, phases };
  const db = o.target.database;
  const admin = await connectPg(withDatabase(o.target, 'postgres'), { applicationName: 'ferry import' });
  let rolesCreated: string[] = [];
  try {
    const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [db])).rowCount === 1;
    if (exists && !log.resumed) {
      if (!o.replace) {
        throw new FerryError('E_PG_TARGET_EXISTS', `The target ${o.target.host}:${o.target.port} already holds the database ${db}`, {
          hint: 'import into an empty server, or set replace: true on the store to drop it first (its data is lost)',
        });
      }
      await admin.query(`DROP DATABASE ${qi(db)} WITH (FORCE)`);
    }
    await log.add('begin');
    const roles = JSON.parse(await readFile(join(o.dir, ROLES_FILE), 'utf8')) as RoleInfo[];
    rolesCreated = await applyRoles(admin, roles, (name) => appendFile(join(o.stateDir, CREATED_ROLES), `${name}\n`));
    if ((await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [db])).rowCount === 0) {
      await admin.query(`CREATE DATABASE ${qi(db)} TEMPLATE template0 ENCODING ${ql(m.server.encoding)}${o.createClause ? ` ${o.createClause}` : ''}`);
    }
  } finally {
    await admin.end();
  }
  lap('database');
  const c = await connectPg(o.target, { applicationName: 'ferry import' });
  try {
    if (!log.has('pre')) {
      await runScript(c, await readFile(join(o.dir, PRE_DATA), 'utf8'), 'pre-data', log.resumed);
      await log.add('pre');
    }
  } finally {
    await c.end();
  }
  lap('preData');
  const post = parsePostData(await readFile(join(o.dir, POST_DATA), 'utf8'));
  const { loaded, skipped, rows } = await loadBuildAnalyze(o, m, post, log, parallelism, progress);
  lap('loadBuildAnalyze');
  await runLinks(o, post, log);
  lap('links');
  const f = await connectPg(o.target, { applicationName: 'ferry import' });
  try {
    for (const s of m.sequences) await f.query(`SELECT setval(${ql(qn(s.schema, s.name))}, ${s.lastValue}, ${s.isCalled})`);
    for (const lo of m.largeObjects) {
      if (log.has(`lo ${lo.oid}`)) continue;
      await loadLargeObject(f, o.dir, lo);
      await log.add(`lo ${lo.oid}`);
    }
  } finally {
    await f.end();
  }
  await log.add('analyze');
  await log.add('done');
  lap('finish');
  return { rows, chunksLoaded: loaded, chunksSkipped: skipped, resumed: log.resumed, rolesCreated, seconds: (performance.now() - started) / 1000, phases };
}

/**
 * Chunks, builds, refreshes and ANALYZE as one plan on `parallelism` sessions, each unit as soon as what it
 * needs is in (pg_restore -j's way, plus the statistics), instead of phase after phase with a worker idle
 * at each phase's tail:
 * - a table's builds once all its chunks are loaded (a partitioned table's: once its partitions' are):
 *   its constraints one at a time, then its indexes side by side; taken before anything else: the
 *   biggest table's builds are the longest chain and start while other tables still load;
 * - materialized views refreshed (in the manifest's order) once every chunk is in and their own indexes
 *   are built;
 * - ANALYZE of each table, partitioned table (its ANALYZE covers its partitions; autovacuum never
 *   analyzes the parent) and materialized view once it and everything under it is loaded, built,
 *   refreshed — overlapping the other tables' loads rather than serial at the end (COPY leaves no
 *   statistics, and until autovacuum comes round the app's first queries would plan on guesses);
 * - preference order: builds, refresh, chunks (biggest tables first, a table no other worker is loading
 *   first: its rows land in key order, as on the source), foreign keys, ANALYZE — the ANALYZEs gate only
 *   foreign keys, so every chunk goes in first and the refresh (which waits for all of them) is not left
 *   to the tail;
 * - a foreign key between two plain tables once both are loaded, built and analyzed, one key at a time:
 *   its validation (a scan of both tables) overlaps other work instead of queueing at the end.
 * The other links (keys on partitioned tables, index attachments, policies…) run after all of it
 * (runLinks): they lock a partition tree, which could deadlock with an ANALYZE walking the same tree.
 * Session choices, per connection (SESSION_SETTINGS; a restore by pg_restore runs on the server's
 * defaults): maintenance_work_mem 256MB (index builds sort in memory rather than in temporary files; the
 * server default is 64 MB; a foreign key's validation query runs with it too); work_mem 64MB and
 * max_parallel_workers_per_gather 0 (a matview refresh aggregated in memory by the session itself: the
 * second app's refresh took 0.35 CPU-s as a parallel plan sorting through temporary files at the 4 MB
 * default, 0.19 so); max_parallel_maintenance_workers 0 (ferry's sessions are the parallelism: a
 * parallel btree build beside another session's work only adds processes — about 5% more CPU here);
 * pg_dump's post-data header before the first build.
 * Not chosen: COPY … FREEZE for a table's only chunk (TRUNCATE in the loading transaction) — measured on
 * the bench's orders: no CPU saved in the load, the index builds or ANALYZE after it (hint bits cost
 * little next to the rest), for an ACCESS EXCLUSIVE lock and a TRUNCATE on the resume path.
 * After each chunk (and the refreshes) the session flushes its table statistics counters
 * (pg_stat_force_next_flush, PostgreSQL ≥ 15): a backend holds its inserted-row counts up to a minute
 * while it stays busy, and counts arriving after ferry's ANALYZE made autovacuum analyze those tables
 * again right after the import (seen on every small table).
 * Not chosen: synchronous_commit = off — a chunk is recorded loaded once its COMMIT returns, and a
 * server crash must not lose a commit the log already lists (the resumed import would skip that chunk).
 */
type Session = { c: pg.Client; header: boolean };

async function loadBuildAnalyze(o: ImportOptions, m: Manifest, post: PostData, log: ProgressLog, parallelism: number, progress: Progress) {
  const total = m.totals.rows;
  const counts = { loaded: 0, skipped: 0, rows: 0 };
  // The sessions connect (at once) while the plan is read and made.
  const want = Math.max(1, parallelism);
  const opened: Session[] = [];
  const connecting = Promise.allSettled(Array.from({ length: want }, async () => {
    const c = await connectPg(o.target, { applicationName: 'ferry import' });
    const s: Session = { c, header: false };
    opened.push(s);
    await c.query(SESSION_SETTINGS);
    return s;
  }));
  const { rels, flushStats } = await readRelations(o.target).catch(async (e: unknown) => {
    await connecting;
    await Promise.all(opened.map((s) => s.c.end().catch(() => undefined)));
    throw e;
  });
  const flush = async (s: Session) => { if (flushStats) await s.c.query('SELECT pg_stat_force_next_flush()'); };
  const chunksLeft = new Map<string, number>();
  for (const t of m.tables) chunksLeft.set(qn(t.table.schema, t.table.name), t.chunks.length);
  // Per table: its constraints (primary key, unique, check: ALTER TABLE takes an exclusive lock) one at a
  // time, then its plain indexes, each its own task (CREATE INDEX takes a SHARE lock: two build on one
  // table at once, as pg_restore -j does).
  const constraints = new Map<string, PostDataEntry[]>();
  const indexes = new Map<string, PostDataEntry[]>();
  for (const e of post.entries) {
    if (e.phase !== 'build' || log.has(`post ${e.index}`)) continue;
    const into = e.type === 'INDEX' ? indexes : constraints;
    into.set(e.table!, [...(into.get(e.table!) ?? []), e]);
  }
  const buildsLeft = new Map<string, number>();
  for (const m of [constraints, indexes]) for (const [rel, es] of m) buildsLeft.set(rel, (buildsLeft.get(rel) ?? 0) + es.length);
  const isBuilt = (rel: string) => !buildsLeft.get(rel);
  const constrained = (rel: string) => !constraints.has(rel) || constraints.get(rel)!.length === 0;
  const loadedAll = (rel: string) => !chunksLeft.get(rel) && (rels.get(rel)?.below ?? []).every((x) => !chunksLeft.get(x));
  const matviews = new Set(m.matviews.map((v) => qn(v.schema, v.name)));
  let refreshed = m.matviews.length === 0;
  const allLoaded = () => [...chunksLeft.values()].every((n) => n === 0);
  const analyzedAll = log.has('analyze');
  const analyzed = new Set([...rels.keys()].filter((rel) => log.has(`analyze ${rel}`)));
  const plain = (rel: string) => { const r = rels.get(rel); return !!r && !r.partition && r.below.length === 0 && !matviews.has(rel); };
  const foreignKeys = post.entries.flatMap((e) => {
    if (e.type !== 'FK CONSTRAINT' || log.has(`post ${e.index}`)) return [];
    const k = foreignKeyTables(e.sql);
    return k && plain(k.table) && plain(k.references) ? [{ entry: e, ...k }] : [];
  });
  const withHeader = async (s: Session) => { if (!s.header) { await s.c.query(post.header); s.header = true; } };
  const tasks: Array<PoolTask<Session>> = [];
  const bySize = new Map(m.tables.map((t) => [qn(t.table.schema, t.table.name), t.bytes]));
  const size = (rel: string) => bySize.get(rel) ?? (rels.get(rel)?.below ?? []).reduce((a, x) => a + (bySize.get(x) ?? 0), 0);
  const build = async (s: Session, rel: string, e: PostDataEntry) => {
    await withHeader(s);
    await runScript(s.c, e.sql, `post-data entry "${e.name}" (${e.type})`, log.resumed);
    await log.add(`post ${e.index}`);
    buildsLeft.set(rel, buildsLeft.get(rel)! - 1);
  };
  for (const [rel, entries] of [...constraints].sort((a, b) => size(b[0]) - size(a[0]))) {
    tasks.push({
      id: `constraints ${rel}`, ready: () => loadedAll(rel),
      run: async (s) => {
        while (entries.length) { await build(s, rel, entries[0]!); entries.shift(); }
      },
    });
  }
  for (const [rel, entries] of [...indexes].sort((a, b) => size(b[0]) - size(a[0]))) {
    for (const e of entries) tasks.push({ id: `index ${e.name}`, ready: () => loadedAll(rel) && constrained(rel), run: (s) => build(s, rel, e) });
  }
  if (m.matviews.length) {
    tasks.push({
      id: 'refresh', ready: () => allLoaded() && [...matviews].every(isBuilt),
      run: async (s) => {
        for (const v of m.matviews) await s.c.query(`REFRESH MATERIALIZED VIEW ${qn(v.schema, v.name)}`);
        await flush(s);
        refreshed = true;
      },
    });
  }
  const jobs = m.tables.flatMap((t) => t.chunks.map((ch) => ({ t: t.table, ch, bytes: t.bytes }))).sort((a, b) => b.bytes - a.bytes);
  for (const job of jobs) {
    const rel = qn(job.t.schema, job.t.name);
    tasks.push({
      id: `chunk ${job.ch.file}`, share: rel, ready: () => true,
      run: async (s) => {
        if (!log.has(`chunk ${job.ch.file}`)) {
          const loaded = await loadChunk(s.c, o.dir, job.t, job.ch, log.resumed);
          await flush(s);
          await log.add(`chunk ${job.ch.file}`);
          if (loaded) counts.loaded++; else counts.skipped++;
        } else {
          counts.skipped++;
        }
        chunksLeft.set(rel, chunksLeft.get(rel)! - 1);
        counts.rows += job.ch.rows;
        progress.update({ unit: 'rows', done: counts.rows, total, label: `table ${job.t.schema}.${job.t.name}` });
      },
    });
  }
  // Foreign keys between two plain tables, each once both tables are loaded, built and analyzed (no lock
  // shared with a build or an ANALYZE of either), one at a time (two keys locking the same two tables in
  // opposite orders could deadlock): their validation scans overlap the other tables' work instead of
  // queueing in the links at the end. Any other link (keys on partitioned tables, index attachments,
  // triggers, policies) stays in runLinks, in the dump's order.
  let keyRunning = false;
  for (const k of foreignKeys) {
    const both = [k.table, k.references];
    tasks.push({
      id: `foreign key ${k.entry.name}`,
      ready: () => !keyRunning && both.every((x) => loadedAll(x) && isBuilt(x) && (analyzedAll || analyzed.has(x))),
      run: async (s) => {
        keyRunning = true;
        try {
          await withHeader(s);
          await runScript(s.c, k.entry.sql, `post-data entry "${k.entry.name}" (${k.entry.type})`, log.resumed);
          await log.add(`post ${k.entry.index}`);
        } finally {
          keyRunning = false;
        }
      },
    });
  }
  if (!log.has('analyze')) {
    for (const [rel, r] of [...rels].sort((a, b) => size(b[0]) - size(a[0]))) {
      if (r.partition || log.has(`analyze ${rel}`)) continue;
      const under = [rel, ...r.below];
      tasks.push({
        id: `analyze ${rel}`, ready: () => under.every((x) => !chunksLeft.get(x) && isBuilt(x)) && (!matviews.has(rel) || refreshed),
        run: async (s) => {
          await s.c.query(`ANALYZE ${rel}`);
          await log.add(`analyze ${rel}`);
          analyzed.add(rel);
        },
      });
    }
  }
  try {
    const joined = await connecting;
    const failed = joined.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    await runPool(tasks, opened.slice(0, Math.max(1, Math.min(want, tasks.length))), o.signal);
  } finally {
    await Promise.all(opened.map((s) => s.c.end().catch(() => undefined)));
  }
  return counts;
}

interface Relation {
  /** A partition (analyzed through its root). */
  readonly partition: boolean;
  /** Everything under a partitioned table (sub-partitioned tables and leaves), quoted. */
  readonly below: readonly string[];
}

/**
 * The target database's tables, partitioned tables and materialized views (after pre-data), by quoted
 * name; `flushStats`: the server has pg_stat_force_next_flush (PostgreSQL ≥ 15).
 */
async function readRelations(t: PgTarget): Promise<{ rels: Map<string, Relation>; flushStats: boolean }> {
  const c = await connectPg(t, { applicationName: 'ferry import' });
  try {
    const r = await c.query<{ schema: string; name: string; partition: boolean; below: Array<[string, string]> }>(`
      SELECT n.nspname AS schema, c.relname AS name, c.relispartition AS partition,
        CASE WHEN c.relkind = 'p' THEN coalesce((SELECT json_agg(json_build_array(ln.nspname, l.relname)) FROM pg_partition_tree(c.oid) p
          JOIN pg_class l ON l.oid = p.relid JOIN pg_namespace ln ON ln.oid = l.relnamespace WHERE p.relid <> c.oid), '[]') ELSE '[]' END AS below
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'`);
    const version = Number((await c.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v);
    return { rels: new Map(r.rows.map((x) => [qn(x.schema, x.name), { partition: x.partition, below: x.below.map(([s, n]) => qn(s, n)) }])), flushStats: version >= 150000 };
  } finally {
    await c.end();
  }
}

/**
 * Load one chunk in one transaction. On a resumed import the range is checked first: equal → false
 * (skipped); rows there that differ (a half-loaded chunk from another tool, a crash) → deleted first.
 */
async function loadChunk(c: pg.Client, dir: string, t: TableInfo, ch: ChunkEntry, check: boolean): Promise<boolean> {
  const where = rangeWhere(t, ch);
  let clear = false;
  if (check) {
    const have = await rangeDigest(c, t, ch);
    if (have.rows === ch.rows && have.sum === ch.checksum) return false;
    clear = have.rows > 0;
  }
  const cols = storedColumns(t).map((x) => qi(x.name)).join(', ');
  await c.query('BEGIN');
  try {
    if (clear) await c.query(where === 'true' ? `DELETE FROM ONLY ${qn(t.schema, t.name)}` : `DELETE FROM ONLY ${qn(t.schema, t.name)} WHERE ${where}`);
    const sent = await copyInFromFile(c, `COPY ${qn(t.schema, t.name)} (${cols}) FROM STDIN${copyFormat(t)}`, join(dir, ch.file));
    if (sent.sha256 !== ch.sha256) {
      throw new FerryError('E_PG_ARTIFACT', `${ch.file} does not match its sha256 in the manifest (the artifact was changed or damaged)`, { hint: 'export again' });
    }
    if (sent.rows !== ch.rows) {
      throw new FerryError('E_PG_IMPORT', `${t.schema}.${t.name}: ${ch.file} loaded ${sent.rows} rows, the manifest lists ${ch.rows}`, { hint: 'export again; if it repeats, keep the artifact for a bug report' });
    }
    await c.query('COMMIT');
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    if (e instanceof FerryError) throw e;
    throw new FerryError('E_PG_IMPORT', `Loading ${t.schema}.${t.name} (${ch.file}) failed: ${oneLine(e)}`, { hint: 'read the server message; the chunk was rolled back and the import can be re-run', cause: e });
  }
  return true;
}

/**
 * A whole script in one simple query: one implicit transaction, all or nothing. `resumed`: a run killed
 * between its commit and the log line left it applied, so "already exists" means done (the database is
 * the one this import created: nothing else put objects there); any other error is fatal.
 */
async function runScript(c: pg.Client, sql: string, what: string, resumed: boolean): Promise<void> {
  try {
    await c.query(sql);
  } catch (e) {
    if (resumed && alreadyThere(e)) return;
    throw new FerryError('E_PG_SCHEMA', `The ${what} schema failed on the target: ${oneLine(e)}`, {
      hint: 'read the server message (a missing extension or role is named there); nothing of this script was applied', cause: e,
    });
  }
}

/** 42P07 relation, 42710 object, 42P06 schema already exists; 42P16 "multiple primary keys" (a primary key added twice). */
export function alreadyThere(e: unknown): boolean {
  const x = e as { code?: string; message?: string };
  return x.code === '42P07' || x.code === '42710' || x.code === '42P06' || (x.code === '42P16' && /multiple primary keys/.test(x.message ?? ''));
}

/** What the import's sessions run first (loadBuildAnalyze's comment says why); two sessions at parallelism 2. */
const SESSION_SETTINGS = "SET maintenance_work_mem = '256MB'; SET work_mem = '64MB'; SET max_parallel_maintenance_workers = 0; SET max_parallel_workers_per_gather = 0";

/** The links (foreign keys, index attachments, triggers, policies, default privileges), in dump order. */
async function runLinks(o: ImportOptions, post: PostData, log: ProgressLog): Promise<void> {
  const pending = post.entries.filter((e) => e.phase === 'link' && !log.has(`post ${e.index}`));
  if (!pending.length) return;
  const c = await connectPg(o.target, { applicationName: 'ferry import' });
  try {
    await c.query(`${SESSION_SETTINGS}; ${post.header}`);
    for (const e of pending) {
      await runScript(c, e.sql, `post-data entry "${e.name}" (${e.type})`, log.resumed);
      await log.add(`post ${e.index}`);
    }
  } finally {
    await c.end();
  }
}

const LO_PIECE = 1 << 20;

async function loadLargeObject(c: pg.Client, dir: string, lo: Manifest['largeObjects'][number]): Promise<void> {
  await c.query('BEGIN');
  try {
    await c.query('SELECT lo_unlink(oid) FROM pg_largeobject_metadata WHERE oid = $1::oid', [lo.oid]);
    await c.query('SELECT lo_create($1::oid)', [lo.oid]);
    let off = 0;
    for await (const piece of createReadStream(join(dir, lo.file), { highWaterMark: LO_PIECE })) {
      await c.query('SELECT lo_put($1::oid, $2::int8, $3::bytea)', [lo.oid, off, piece]);
      off += (piece as Buffer).length;
    }
    await c.query(`ALTER LARGE OBJECT ${lo.oid} OWNER TO ${qi(lo.owner)}`);
    await c.query('COMMIT');
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

interface ProgressLog {
  /** True when this import continues one begun earlier for the same export. */
  readonly resumed: boolean;
  has(entry: string): boolean;
  add(entry: string): Promise<void>;
}

/** The import's progress: one line per finished unit, appended after its transaction commits. */
async function openLog(stateDir: string, exportId: string): Promise<ProgressLog> {
  await mkdir(stateDir, { recursive: true });
  const path = join(stateDir, IMPORT_LOG);
  const lines = (await readFile(path, 'utf8').catch(() => '')).split('\n').filter(Boolean);
  const resumed = lines[0] === `export ${exportId}` && lines.includes('begin');
  const seen = new Set(resumed ? lines : []);
  if (!resumed) await writeFile(path, `export ${exportId}\n`);
  return {
    resumed,
    has: (e) => seen.has(e),
    add: async (e) => { seen.add(e); await appendFile(path, `${e}\n`); },
  };
}
