/**
 * Import into the target server: roles, the database, pre-data, then one plan on parallel workers —
 * every chunk with `COPY … FROM STDIN` (copy-protocol.ts), each table's index and constraint builds as
 * soon as its data is in, materialized-view refreshes, ANALYZE of each table once built, foreign keys
 * between plain tables once both are (load-plan.ts) — then post-data's other links, sequences, large
 * objects. A streaming export (stream.ts) runs the same units up to the plan while it exports, and this
 * import finds them logged. Resumable: each unit is one transaction, recorded in
 * `<stateDir>/import.log` (import-log.ts) after it commits; a re-run skips what the log lists, and a chunk not listed is
 * checked on the target first — its digest (checksum.ts: the same ordered COPY the export hashed) matches: skipped; anything else in its key range (a half-loaded
 * chunk): deleted and loaded again; a schema entry not listed whose object exists was committed by the
 * killed run. A target that already holds the database is refused unless `replace` (then it is dropped
 * first). Every other error is fatal: nothing is ignored the way `pg_restore` can. Roles it creates are
 * recorded (`created-roles`) so clearTarget can remove them.
 */
import { createReadStream } from 'node:fs';
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';
import { FerryError } from '../../core/errors.ts';
import type { Progress } from '../../core/progress.ts';
import { connectPg, hasDatabase, qi, ql, qn, withDatabase, type PgTarget } from './connect.ts';
import { POST_DATA, PRE_DATA, readManifest, ROLES_FILE, type Manifest } from './manifest.ts';
import { parsePostData, type PostData } from './post-data.ts';
import { applyRoles, type RoleInfo } from './roles.ts';
import { exportIdOf, openLog, type ProgressLog } from './import-log.ts';
import { lostOr, SESSION_SETTINGS, startPlan, targetError } from './load-plan.ts';
import { runScript } from './run-script.ts';

export { alreadyThere } from './run-script.ts';
export { IMPORT_LOG } from './import-log.ts';

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
  // The log records what is in one database: gone since (dropped, the stack's volume recreated), none of it holds.
  const log = await openLog(o.stateDir, exportIdOf(m), { pre: m.files[PRE_DATA]!, post: m.files[POST_DATA]! }, { fresh: !(await databaseExists(o.target)) });
  if (log.resumed && log.has('done')) return { rows: m.totals.rows, chunksLoaded: 0, chunksSkipped: m.totals.chunks, resumed: true, rolesCreated: [], seconds: 0, phases };
  const roles = JSON.parse(await readFile(join(o.dir, ROLES_FILE), 'utf8')) as RoleInfo[];
  const rolesCreated = await createTarget(o, log, roles, m.server.encoding);
  lap('database');
  await applyPreData(o, log, await readFile(join(o.dir, PRE_DATA), 'utf8'));
  lap('preData');
  const post = parsePostData(await readFile(join(o.dir, POST_DATA), 'utf8'));
  const plan = await startPlan({
    target: o.target, log, post, tables: m.tables, matviews: m.matviews, parallelism, totalRows: m.totals.rows,
    ...(o.progress ? { progress: o.progress } : {}), ...(o.signal ? { signal: o.signal } : {}),
  });
  for (const t of m.tables) plan.planned(t.table, t.chunks.length);
  for (const t of [...m.tables].sort((a, b) => b.bytes - a.bytes)) for (const ch of t.chunks) void plan.chunk(t.table, ch, join(o.dir, ch.file));
  plan.close();
  const { loaded, skipped, rows } = await plan.done;
  lap('loadBuildAnalyze');
  await runLinks(o, post, log);
  lap('links');
  const f = await connectPg(o.target, { applicationName: 'ferry import' });
  try {
    for (const s of m.sequences) {
      await f.query(`SELECT setval(${ql(qn(s.schema, s.name))}, ${s.lastValue}, ${s.isCalled})`).catch((e: unknown) => { throw targetError(e, o.target, `setting the sequence ${s.schema}.${s.name}`); });
    }
    for (const lo of m.largeObjects) {
      if (log.has(`lo ${lo.oid}`)) continue;
      await loadLargeObject(f, o.dir, lo).catch((e: unknown) => { throw targetError(e, o.target, `loading large object ${lo.oid}`); });
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
 * The import's first unit (`begin`): the roles (created ones recorded first), then the database. A target
 * that already holds it is refused unless `replace` (dropped first), or the log resumes an import that
 * began it, or `adopt` (a streaming export found it empty, begun by this store's import).
 */
export async function createTarget(o: Pick<ImportOptions, 'target' | 'stateDir' | 'replace' | 'createClause'>, log: ProgressLog, roles: readonly RoleInfo[], encoding: string, adopt = false): Promise<string[]> {
  const db = o.target.database;
  const admin = await connectPg(withDatabase(o.target, 'postgres'), { applicationName: 'ferry import' });
  try {
    const exists = await hasDatabase(admin, db);
    if (exists && !log.resumed && !adopt) {
      if (!o.replace) {
        throw new FerryError('E_PG_TARGET_EXISTS', `The target ${o.target.host}:${o.target.port} already holds the database ${db}`, {
          hint: 'import into an empty server, or set replace: true on the store to drop it first (its data is lost)',
        });
      }
      await admin.query(`DROP DATABASE ${qi(db)} WITH (FORCE)`);
    }
    await log.add('begin');
    const created = await applyRoles(admin, roles, (name) => appendFile(join(o.stateDir, CREATED_ROLES), `${name}\n`));
    if (!(await hasDatabase(admin, db))) {
      await admin.query(`CREATE DATABASE ${qi(db)} TEMPLATE template0 ENCODING ${ql(encoding)}${o.createClause ? ` ${o.createClause}` : ''}`);
    }
    return created;
  } finally {
    await admin.end();
  }
}

async function databaseExists(t: PgTarget): Promise<boolean> {
  const admin = await connectPg(withDatabase(t, 'postgres'), { applicationName: 'ferry import' });
  try {
    return await hasDatabase(admin, t.database);
  } finally {
    await admin.end();
  }
}

/** pg_dump's pre-data in one transaction (`pre`). */
export async function applyPreData(o: Pick<ImportOptions, 'target'>, log: ProgressLog, pre: string): Promise<void> {
  if (log.has('pre')) return;
  const c = await connectPg(o.target, { applicationName: 'ferry import' });
  try {
    await runScript(c, pre, 'pre-data', log.resumed);
    await log.add('pre');
  } finally {
    await c.end();
  }
}

/** The links (foreign keys, index attachments, triggers, policies, default privileges), in dump order. */
async function runLinks(o: ImportOptions, post: PostData, log: ProgressLog): Promise<void> {
  const pending = post.entries.filter((e) => e.phase === 'link' && !log.has(`post ${e.index}`));
  if (!pending.length) return;
  const c = await connectPg(o.target, { applicationName: 'ferry import' });
  try {
    await c.query(`${SESSION_SETTINGS}; ${post.header}`).catch((e: unknown) => { throw targetError(e, o.target, 'setting a session up for post-data'); });
    for (const e of pending) {
      await runScript(c, e.sql, `post-data entry "${e.name}" (${e.type})`, log.resumed).catch((x: unknown) => { throw lostOr(x, o.target, `adding ${e.name} (${e.type})`); });
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

