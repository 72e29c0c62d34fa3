/**
 * Import into the target server: roles, the database, pre-data, every chunk with `COPY … FROM STDIN` in
 * parallel workers, post-data (builds in parallel, then links), sequences, materialized-view refreshes,
 * large objects, then ANALYZE of what was loaded. Resumable: each unit is one transaction, recorded in
 * `<stateDir>/import.log` after it commits; a re-run skips what the log lists, and a chunk not listed is
 * checked on the target first — its checksum matches: skipped; anything else in its key range (a half-loaded
 * chunk): deleted and loaded again; a schema entry not listed whose object exists was committed by the
 * killed run. A target that already holds the database is refused unless `replace` (then it is dropped
 * first). Every other error is fatal: nothing is ignored the way `pg_restore` can. Roles it creates are
 * recorded (`created-roles`) so clearTarget can remove them.
 */
import { createReadStream } from 'node:fs';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { FerryError } from '../../core/errors.ts';
import { noProgress, type Progress } from '../../core/progress.ts';
import { connectPg, oneLine, qi, ql, qn, withDatabase, type PgTarget } from './connect.ts';
import { storedColumns, type TableInfo } from './catalog.ts';
import { rangeChecksum, rangeWhere } from './checksum.ts';
import { POST_DATA, PRE_DATA, readManifest, ROLES_FILE, type ChunkEntry, type Manifest } from './manifest.ts';
import { parsePostData, type PostDataEntry } from './post-data.ts';
import { copyFormat } from './export.ts';
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
  const { loaded, skipped, rows } = await loadChunks(o, m, log, parallelism, progress);
  lap('chunks');
  await runPostData(o, await readFile(join(o.dir, POST_DATA), 'utf8'), log, parallelism);
  lap('postData');
  const f = await connectPg(o.target, { applicationName: 'ferry import' });
  try {
    for (const s of m.sequences) await f.query(`SELECT setval(${ql(qn(s.schema, s.name))}, ${s.lastValue}, ${s.isCalled})`);
    for (const lo of m.largeObjects) {
      if (log.has(`lo ${lo.oid}`)) continue;
      await loadLargeObject(f, o.dir, lo);
      await log.add(`lo ${lo.oid}`);
    }
    for (const v of m.matviews) await f.query(`REFRESH MATERIALIZED VIEW ${qn(v.schema, v.name)}`);
  } finally {
    await f.end();
  }
  lap('finish');
  if (!log.has('analyze')) {
    await analyzeTables(o.target, parallelism);
    await log.add('analyze');
  }
  await log.add('done');
  lap('analyze');
  return { rows, chunksLoaded: loaded, chunksSkipped: skipped, resumed: log.resumed, rolesCreated, seconds: (performance.now() - started) / 1000, phases };
}

async function loadChunks(o: ImportOptions, m: Manifest, log: ProgressLog, parallelism: number, progress: Progress) {
  const jobs = m.tables.flatMap((t) => t.chunks.map((ch) => ({ t: t.table, ch, bytes: t.bytes })))
    .sort((a, b) => b.bytes - a.bytes);
  const total = m.totals.rows;
  const counts = { loaded: 0, skipped: 0, rows: 0 };
  // A worker takes the largest chunk of a table no other worker is loading (two COPYs into one table
  // contend for its extension lock); only when every remaining chunk is busy elsewhere does it share one.
  const busy = new Map<string, number>();
  const keyOf = (t: TableInfo) => `${t.schema}.${t.name}`;
  const take = () => {
    const i = jobs.findIndex((j) => !busy.get(keyOf(j.t)));
    return i < 0 ? jobs.shift() : jobs.splice(i, 1)[0];
  };
  await Promise.all(Array.from({ length: Math.min(parallelism, jobs.length) }, async () => {
    const c = await connectPg(o.target, { applicationName: 'ferry import' });
    try {
      for (let job = take(); job; job = take()) {
        const k = keyOf(job.t);
        busy.set(k, (busy.get(k) ?? 0) + 1);
        try {
          await loadJob(job);
        } finally {
          busy.set(k, busy.get(k)! - 1);
        }
      }
    } finally {
      await c.end();
    }
    async function loadJob(job: (typeof jobs)[number]): Promise<void> {
      o.signal?.throwIfAborted();
      if (log.has(`chunk ${job.ch.file}`)) { counts.skipped++; counts.rows += job.ch.rows; return; }
      const loaded = await loadChunk(c, o.dir, job.t, job.ch, log.resumed);
      await log.add(`chunk ${job.ch.file}`);
      if (loaded) counts.loaded++; else counts.skipped++;
      counts.rows += job.ch.rows;
      progress.update({ unit: 'rows', done: counts.rows, total, label: `table ${job.t.schema}.${job.t.name}` });
    }
  }));
  return counts;
}

/**
 * Load one chunk in one transaction. On a resumed import the range is checked first: equal → false
 * (skipped); rows there that differ (a half-loaded chunk from another tool, a crash) → deleted first.
 */
async function loadChunk(c: pg.Client, dir: string, t: TableInfo, ch: ChunkEntry, check: boolean): Promise<boolean> {
  const where = rangeWhere(t, ch);
  let clear = false;
  if (check) {
    const have = await rangeChecksum(c, t, ch);
    if (have.rows === ch.rows && have.sum === ch.checksum) return false;
    clear = have.rows > 0;
  }
  const cols = storedColumns(t).map((x) => qi(x.name)).join(', ');
  const hash = createHash('sha256');
  const tap = new Transform({ transform(b: Buffer, _e, cb) { hash.update(b); cb(null, b); } });
  await c.query('BEGIN');
  try {
    if (clear) await c.query(where === 'true' ? `DELETE FROM ONLY ${qn(t.schema, t.name)}` : `DELETE FROM ONLY ${qn(t.schema, t.name)} WHERE ${where}`);
    const sink = c.query(copyFrom(`COPY ${qn(t.schema, t.name)} (${cols}) FROM STDIN${copyFormat(t)}`));
    await pipeline(createReadStream(join(dir, ch.file)), tap, sink);
    const sha = hash.digest('hex');
    if (sha !== ch.sha256) {
      throw new FerryError('E_PG_ARTIFACT', `${ch.file} does not match its sha256 in the manifest (the artifact was changed or damaged)`, { hint: 'export again' });
    }
    if (sink.rowCount !== ch.rows) {
      throw new FerryError('E_PG_IMPORT', `${t.schema}.${t.name}: ${ch.file} loaded ${sink.rowCount} rows, the manifest lists ${ch.rows}`, { hint: 'export again; if it repeats, keep the artifact for a bug report' });
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
 * Planner statistics for what was loaded (as pg_restore's users run ANALYZE after it): COPY leaves the
 * tables without any, and until autovacuum comes round the app's first queries plan on guesses. Every
 * table, partitioned table (its ANALYZE covers its partitions; autovacuum never analyzes the parent) and
 * materialized view of the database, which this import created.
 */
async function analyzeTables(t: PgTarget, parallelism: number): Promise<void> {
  const c0 = await connectPg(t, { applicationName: 'ferry import' });
  let queue: Array<{ schema: string; name: string }>;
  try {
    queue = (await c0.query<{ schema: string; name: string }>(`SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'm') AND NOT c.relispartition AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'
      ORDER BY pg_total_relation_size(c.oid) DESC`)).rows;
  } finally {
    await c0.end();
  }
  await Promise.all(Array.from({ length: Math.min(parallelism, queue.length) }, async () => {
    const c = await connectPg(t, { applicationName: 'ferry import' });
    try {
      for (let x = queue.shift(); x; x = queue.shift()) await c.query(`ANALYZE ${qn(x.schema, x.name)}`);
    } finally {
      await c.end();
    }
  }));
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

/** Memory per index-building session (two sessions at parallelism 2). */
const BUILD_MEMORY = '256MB';

/** Builds (constraints, indexes) in parallel, a table's builds one at a time; then links in dump order. */
async function runPostData(o: ImportOptions, sql: string, log: ProgressLog, parallelism: number): Promise<void> {
  const post = parsePostData(sql);
  const pending = post.entries.filter((e) => !log.has(`post ${e.index}`));
  const groups = new Map<string, PostDataEntry[]>();
  for (const e of pending.filter((x) => x.phase === 'build')) groups.set(e.table!, [...(groups.get(e.table!) ?? []), e]);
  const queue = [...groups.values()];
  const run = async (c: pg.Client, e: PostDataEntry) => {
    await runScript(c, e.sql, `post-data entry "${e.name}" (${e.type})`, log.resumed);
    await log.add(`post ${e.index}`);
  };
  await Promise.all(Array.from({ length: Math.min(parallelism, queue.length) }, async () => {
    const c = await connectPg(o.target, { applicationName: 'ferry import' });
    try {
      await c.query(post.header);
      // Index builds sort in memory rather than in temporary files (the server default is 64 MB).
      await c.query(`SET maintenance_work_mem = '${BUILD_MEMORY}'`);
      for (let g = queue.shift(); g; g = queue.shift()) for (const e of g) await run(c, e);
    } finally {
      await c.end();
    }
  }));
  const c = await connectPg(o.target, { applicationName: 'ferry import' });
  try {
    await c.query(post.header);
    for (const e of pending.filter((x) => x.phase === 'link')) await run(c, e);
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
