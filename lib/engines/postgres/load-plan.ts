/**
 * The import's plan (import.ts and a streaming export, stream.ts, run the same one): chunks, builds,
 * refreshes, ANALYZE and foreign keys between plain tables on `parallelism` sessions, each unit as soon as
 * what it needs is in. An import knows every chunk at the start; a streaming export hands each chunk over
 * as its file completes (`chunk`), each table's count once its ranges are planned (`planned`), and
 * `close` once the export is out — a table's builds and ANALYZE start as its last chunk lands.
 */
import type pg from 'pg';
import { copyInFromFile } from './copy-protocol.ts';
import { FerryError } from '../../core/errors.ts';
import { noProgress, type Progress } from '../../core/progress.ts';
import { connectPg, oneLine, qi, qn, type PgTarget } from './connect.ts';
import { storedColumns, type TableInfo } from './catalog.ts';
import { copyFormat, rangeDigest, rangeWhere } from './checksum.ts';
import type { ChunkEntry, Manifest } from './manifest.ts';
import { foreignKeyTables, type PostData, type PostDataEntry } from './post-data.ts';
import { runPool, type PoolTask } from './task-pool.ts';
import type { ProgressLog } from './import-log.ts';
import { runScript } from './run-script.ts';

export interface PlanOptions {
  readonly target: PgTarget;
  readonly log: ProgressLog;
  /** pg_dump's post-data, parsed; or later, through `postData` (a streaming export). */
  readonly post?: PostData;
  /** Every table with data in the export (its chunk count comes with `planned`). */
  readonly tables: ReadonlyArray<{ readonly table: TableInfo; readonly bytes: number }>;
  readonly matviews: Manifest['matviews'];
  readonly parallelism: number;
  /** For progress (rows). */
  readonly totalRows?: number;
  readonly progress?: Progress;
  readonly signal?: AbortSignal;
  /**
   * The chunk files were written by this process moments before (a streaming export): not hashed again on
   * the way in (the export hashed those very bytes; verify compares the target with that digest anyway).
   */
  readonly fresh?: boolean;
}

export interface PlanCounts {
  readonly loaded: number;
  readonly skipped: number;
  readonly rows: number;
}

export interface LoadPlan {
  /** A table's number of chunks (before any of them is handed over). */
  planned(t: TableInfo, chunks: number): void;
  /** Load a chunk from the file at `path`; settles once it is loaded and logged (true), or the plan ended without it (false). */
  chunk(t: TableInfo, ch: ChunkEntry, path: string): Promise<boolean>;
  /** pg_dump's post-data, when the plan started without it: its builds, refresh, foreign keys and ANALYZEs join the plan. */
  postData(post: PostData): void;
  /** No more chunks (the plan ends once everything ran, post-data's units included). */
  close(): void;
  /** Everything ran (or the first failure); the sessions are closed. */
  readonly done: Promise<PlanCounts>;
}

/**
 * How the plan orders its units: each as soon as what it needs is in (pg_restore -j's way, plus the
 * statistics), instead of phase after phase with a worker idle at each phase's tail:
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

/** Connect the sessions and read the target's relations (after pre-data), then run the plan as chunks come. */
export async function startPlan(o: PlanOptions): Promise<LoadPlan> {
  const { log } = o;
  const progress = o.progress ?? noProgress;
  const counts = { loaded: 0, skipped: 0, rows: 0 };
  // The sessions connect (at once) while the plan is read and made.
  const want = Math.max(1, o.parallelism);
  const opened: Session[] = [];
  const connecting = Promise.allSettled(Array.from({ length: want }, async () => {
    const c = await connectPg(o.target, { applicationName: 'ferry import' });
    const s: Session = { c, header: false };
    opened.push(s);
    await c.query(SESSION_SETTINGS);
    return s;
  }));
  const closeAll = async () => { await connecting; await Promise.all(opened.map((s) => s.c.end().catch(() => undefined))); };
  const { rels, flushStats, superuser, guards } = await readRelations(o.target).catch(async (e: unknown) => { await closeAll(); throw e; });
  const flush = async (s: Session) => { if (flushStats) await s.c.query('SELECT pg_stat_force_next_flush()'); };
  // Per table with data: its chunk count once planned, and the chunks loaded (or found there) so far.
  const expected = new Map<string, number>();
  const landed = new Map<string, number>();
  for (const t of o.tables) landed.set(qn(t.table.schema, t.table.name), 0);
  const tableLoaded = (rel: string) => !landed.has(rel) || landed.get(rel) === expected.get(rel);
  // Everything but the chunks comes from post-data (builds, foreign keys) and needs it: a streaming
  // export hands it over (postData) once pg_dump's is out, its chunks loading meanwhile.
  const bySize = new Map(o.tables.map((t) => [qn(t.table.schema, t.table.name), t.bytes]));
  const size = (rel: string) => bySize.get(rel) ?? (rels.get(rel)?.below ?? []).reduce((a, x) => a + (bySize.get(x) ?? 0), 0);
  const schemaTasks = (post: PostData): Array<PoolTask<Session>> => {
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
    const loadedAll = (rel: string) => tableLoaded(rel) && (rels.get(rel)?.below ?? []).every(tableLoaded);
    const matviews = new Set(o.matviews.map((v) => qn(v.schema, v.name)));
    let refreshed = o.matviews.length === 0 || log.has('refresh');
    const allLoaded = () => [...landed.keys()].every(tableLoaded);
    const analyzedAll = log.has('analyze');
    const analyzed = new Set([...rels.keys()].filter((rel) => log.has(`analyze ${rel}`)));
    const plain = (rel: string) => { const r = rels.get(rel); return !!r && !r.partition && r.below.length === 0 && !matviews.has(rel); };
    const foreignKeys = post.entries.flatMap((e) => {
      if (e.type !== 'FK CONSTRAINT' || log.has(`post ${e.index}`)) return [];
      const k = foreignKeyTables(e.sql);
      return k && plain(k.table) && plain(k.references) ? [{ entry: e, ...k }] : [];
    });
    const withHeader = async (s: Session) => {
      if (s.header) return;
      await s.c.query(post.header).catch((e: unknown) => { throw targetError(e, o.target, 'setting a session up for post-data'); });
      s.header = true;
    };
    // Ranks keep the preference order as chunks are added: builds and the refresh, chunks, foreign keys, ANALYZE.
    const tasks: Array<PoolTask<Session>> = [];
    const build = async (s: Session, rel: string, e: PostDataEntry) => {
      await withHeader(s);
      await runScript(s.c, e.sql, `post-data entry "${e.name}" (${e.type})`, log.resumed).catch((x: unknown) => { throw lostOr(x, o.target, `building ${e.name} (${e.type}) on ${rel}`); });
      await log.add(`post ${e.index}`);
      buildsLeft.set(rel, buildsLeft.get(rel)! - 1);
    };
    for (const [rel, entries] of [...constraints].sort((a, b) => size(b[0]) - size(a[0]))) {
      tasks.push({
        id: `constraints ${rel}`, rank: 0, ready: () => loadedAll(rel),
        run: async (s) => {
          while (entries.length) { await build(s, rel, entries[0]!); entries.shift(); }
        },
      });
    }
    for (const [rel, entries] of [...indexes].sort((a, b) => size(b[0]) - size(a[0]))) {
      for (const e of entries) tasks.push({ id: `index ${e.name}`, rank: 0, ready: () => loadedAll(rel) && constrained(rel), run: (s) => build(s, rel, e) });
    }
    if (!refreshed) {
      tasks.push({
        id: 'refresh', rank: 0, ready: () => allLoaded() && [...matviews].every(isBuilt),
        run: async (s) => {
          for (const v of o.matviews) {
            await s.c.query(`REFRESH MATERIALIZED VIEW ${qn(v.schema, v.name)}`).catch((e: unknown) => { throw targetError(e, o.target, `refreshing the materialized view ${v.schema}.${v.name}`); });
          }
          await flush(s).catch((e: unknown) => { throw targetError(e, o.target, 'flushing the statistics after the refreshes'); });
          await log.add('refresh');
          refreshed = true;
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
        id: `foreign key ${k.entry.name}`, rank: 2,
        ready: () => !keyRunning && both.every((x) => loadedAll(x) && isBuilt(x) && (analyzedAll || analyzed.has(x))),
        run: async (s) => {
          keyRunning = true;
          try {
            await withHeader(s);
            await runScript(s.c, k.entry.sql, `post-data entry "${k.entry.name}" (${k.entry.type})`, log.resumed)
              .catch((x: unknown) => { throw lostOr(x, o.target, `adding the foreign key ${k.entry.name} on ${k.table}`); });
            await log.add(`post ${k.entry.index}`);
          } finally {
            keyRunning = false;
          }
        },
      });
    }
    if (!analyzedAll) {
      for (const [rel, r] of [...rels].sort((a, b) => size(b[0]) - size(a[0]))) {
        if (r.partition || log.has(`analyze ${rel}`)) continue;
        const under = [rel, ...r.below];
        tasks.push({
          id: `analyze ${rel}`, rank: 3, ready: () => under.every((x) => tableLoaded(x) && isBuilt(x)) && (!matviews.has(rel) || refreshed),
          run: async (s) => {
            await s.c.query(`ANALYZE ${rel}`).catch((e: unknown) => { throw targetError(e, o.target, `analyzing ${rel}`); });
            await log.add(`analyze ${rel}`);
            analyzed.add(rel);
          },
        });
      }
    }
    return tasks;
  };
  // Chunks handed over before the pool runs wait here; each caller's promise settles when its chunk did or the plan ended.
  const waiting: Array<PoolTask<Session>> = [];
  const unsettled = new Set<(loaded: boolean) => void>();
  let add: ((t: PoolTask<Session>) => void) | undefined;
  let close: (() => void) | undefined;
  let closed = false;
  let ended = false;
  let post = o.post;
  // Made now: post-data handed over while the sessions connect goes through `waiting`, not in here too.
  const initial = post ? schemaTasks(post) : [];
  const queue = (t: PoolTask<Session>) => { if (add) add(t); else waiting.push(t); };
  // The pool ends once no chunk is to come and post-data's units are in it.
  const closeWhenDone = () => { if (closed && post) close?.(); };
  const chunkTask = (t: TableInfo, ch: ChunkEntry, path: string, settle: (loaded: boolean) => void): PoolTask<Session> => {
    const rel = qn(t.schema, t.name);
    return {
      id: `chunk ${ch.file}`, share: rel, rank: 1, ready: () => true,
      run: async (s) => {
        if (!log.has(`chunk ${ch.file}`)) {
          const loaded = await loadChunk(s.c, o.target, path, t, ch, log.resumed, !o.fresh, superuser, guards.get(rel));
          await flush(s).catch((e: unknown) => { throw targetError(e, o.target, `flushing the statistics after ${t.schema}.${t.name} (${ch.file}) committed`); });
          await log.add(`chunk ${ch.file}`);
          if (loaded) counts.loaded++; else counts.skipped++;
        } else {
          counts.skipped++;
        }
        landed.set(rel, (landed.get(rel) ?? 0) + 1);
        counts.rows += ch.rows;
        progress.update({ unit: 'rows', done: counts.rows, total: Math.max(o.totalRows ?? 0, counts.rows), label: `table ${t.schema}.${t.name}` });
        unsettled.delete(settle);
        settle(true);
      },
    };
  };
  const done = (async () => {
    try {
      const joined = await connecting;
      const failed = joined.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      await runPool(initial, opened.slice(0, want), o.signal, {
        connect(a, c) {
          add = a;
          close = c;
          for (const t of waiting.splice(0)) a(t);
          closeWhenDone();
        },
      });
      return counts;
    } finally {
      ended = true;
      for (const settle of unsettled) settle(false);
      unsettled.clear();
      await closeAll();
    }
  })();
  done.catch(() => undefined);
  return {
    planned: (t, n) => { expected.set(qn(t.schema, t.name), n); },
    chunk: (t, ch, path) => new Promise<boolean>((settle) => {
      if (ended) { settle(false); return; }
      unsettled.add(settle);
      queue(chunkTask(t, ch, path, settle));
    }),
    postData: (p) => {
      if (post || ended) return;
      post = p;
      for (const t of schemaTasks(p)) queue(t);
      closeWhenDone();
    },
    close: () => { closed = true; closeWhenDone(); },
    done,
  };
}

interface Relation {
  /** A partition (analyzed through its root). */
  readonly partition: boolean;
  /** Everything under a partitioned table (sub-partitioned tables and leaves), quoted. */
  readonly below: readonly string[];
}

/**
 * What a resumed import with an account that is not a superuser must know of a table before it checks and
 * replaces a range: `links`, the foreign keys on it or to it, its enabled triggers and rules (a killed
 * run's links: no replica load without a superuser); `rls`, row-level security hides rows from the account
 * (not the owner, no BYPASSRLS, or forced): its digest of a range would not be the table's.
 */
export interface ReplaceGuard {
  readonly links: readonly string[];
  readonly rls: boolean;
}

/**
 * The target database's tables, partitioned tables and materialized views (after pre-data), by quoted
 * name; `flushStats`: the server has pg_stat_force_next_flush (PostgreSQL ≥ 15); `superuser`: ferry's
 * account may set session_replication_role; `guards`: without it, each table's ReplaceGuard.
 */
async function readRelations(t: PgTarget): Promise<{ rels: Map<string, Relation>; flushStats: boolean; superuser: boolean; guards: Map<string, ReplaceGuard> }> {
  const c = await connectPg(t, { applicationName: 'ferry import' });
  try {
    const r = await c.query<{ schema: string; name: string; partition: boolean; below: Array<[string, string]> }>(`
      SELECT n.nspname AS schema, c.relname AS name, c.relispartition AS partition,
        CASE WHEN c.relkind = 'p' THEN coalesce((SELECT json_agg(json_build_array(ln.nspname, l.relname)) FROM pg_partition_tree(c.oid) p
          JOIN pg_class l ON l.oid = p.relid JOIN pg_namespace ln ON ln.oid = l.relnamespace WHERE p.relid <> c.oid), '[]') ELSE '[]' END AS below
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'`);
    const v = (await c.query<{ v: string; su: string }>("SELECT current_setting('server_version_num') AS v, current_setting('is_superuser') AS su")).rows[0]!;
    const superuser = v.su === 'on';
    const guards = new Map<string, ReplaceGuard>();
    if (!superuser) {
      const g = await c.query<{ schema: string; name: string; links: string[]; rls: boolean }>(`
        SELECT n.nspname AS schema, c.relname AS name,
          ARRAY(SELECT 'foreign key ' || k.conname || ' on ' || k.conrelid::regclass::text FROM pg_constraint k WHERE k.contype = 'f' AND (k.conrelid = c.oid OR k.confrelid = c.oid)
            UNION ALL SELECT 'trigger ' || g.tgname FROM pg_trigger g WHERE g.tgrelid = c.oid AND NOT g.tgisinternal AND g.tgenabled IN ('O', 'A')
            UNION ALL SELECT 'rule ' || w.rulename FROM pg_rewrite w WHERE w.ev_class = c.oid AND w.rulename <> '_RETURN' ORDER BY 1) AS links,
          c.relrowsecurity AND NOT (SELECT rolbypassrls FROM pg_roles WHERE rolname = current_user) AND (c.relforcerowsecurity OR NOT pg_has_role(c.relowner, 'USAGE')) AS rls
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'`);
      for (const x of g.rows) guards.set(qn(x.schema, x.name), { links: x.links, rls: x.rls });
    }
    return { rels: new Map(r.rows.map((x) => [qn(x.schema, x.name), { partition: x.partition, below: x.below.map(([s, n]) => qn(s, n)) }])), flushStats: Number(v.v) >= 150000, superuser, guards };
  } finally {
    await c.end();
  }
}

/**
 * Load one chunk in one transaction. On a resumed import the range is checked first: equal → false
 * (skipped); rows there that differ (another export's, the source having changed since) → deleted first.
 * A resumed import may find the killed run's foreign keys, triggers and rules in place (its links ran):
 * with `replica` (a superuser account) the transaction runs as a replica's apply does
 * (session_replication_role), so neither a key to rows another chunk replaces refuses the delete nor a
 * trigger changes the rows loaded; every chunk is checked, so the keys hold again at the end.
 * Without it (an account that is not a superuser) such a range is refused before anything is deleted,
 * naming the table, its keys and triggers and what to do: the delete would fail on a key (23503, on every
 * re-run), cascade into rows other chunks already checked, or a trigger rewrite the rows reloaded.
 * Not chosen: ALTER TABLE … DISABLE TRIGGER USER (the table's owner may: ferry's account often is not;
 * and it leaves the foreign keys, which are system triggers), nor dropping and re-adding the keys (the
 * log's `post N` lines would have to be taken back: a new mechanism for a case a superuser account,
 * the stack image's own, never meets).
 */
async function loadChunk(c: pg.Client, target: PgTarget, path: string, t: TableInfo, ch: ChunkEntry, check: boolean, hash: boolean, replica: boolean, guard: ReplaceGuard | undefined): Promise<boolean> {
  const where = rangeWhere(t, ch);
  let clear = false;
  let begun = false;
  try {
    if (check) {
      if (!replica && guard?.rls) refuseResume(target, t, `row-level security hides rows of ${t.schema}.${t.name} from ${target.user}: what the interrupted run loaded in ${ch.file}'s range cannot be checked`);
      const have = await rangeDigest(c, t, ch);
      if (have.rows === ch.rows && have.sum === ch.checksum) return false;
      clear = have.rows > 0;
      if (clear && !replica && guard?.links.length) {
        refuseResume(target, t, `the rows of ${t.schema}.${t.name} in ${ch.file}'s range differ from this export's (the source changed since the interrupted run) and must be replaced, but ${guard.links.slice(0, 5).join(', ')}${guard.links.length > 5 ? ', …' : ''} are already in place`);
      }
    }
    const cols = storedColumns(t).map((x) => qi(x.name)).join(', ');
    begun = true;
    await c.query('BEGIN');
    if (check && replica) await c.query('SET LOCAL session_replication_role = replica');
    if (clear) await c.query(where === 'true' ? `DELETE FROM ONLY ${qn(t.schema, t.name)}` : `DELETE FROM ONLY ${qn(t.schema, t.name)} WHERE ${where}`);
    const sent = await copyInFromFile(c, `COPY ${qn(t.schema, t.name)} (${cols}) FROM STDIN${copyFormat(t)}`, path, { hash });
    if (hash && sent.sha256 !== ch.sha256) {
      throw new FerryError('E_PG_ARTIFACT', `${ch.file} does not match its sha256 in the manifest (the artifact was changed or damaged)`, { hint: 'export again' });
    }
    if (sent.rows !== ch.rows) {
      throw new FerryError('E_PG_IMPORT', `${t.schema}.${t.name}: ${ch.file} loaded ${sent.rows} rows, the manifest lists ${ch.rows}`, { hint: 'export again; if it repeats, keep the artifact for a bug report' });
    }
    await c.query('COMMIT');
  } catch (e) {
    if (begun) await c.query('ROLLBACK').catch(() => undefined);
    if (e instanceof FerryError) throw e;
    throw targetError(e, target, `loading ${t.schema}.${t.name} (${ch.file})`);
  }
  return true;
}

/** A resumed import refused (nothing changed yet) because `why`, with the account not a superuser. */
function refuseResume(target: PgTarget, t: TableInfo, why: string): never {
  const at = `${target.host}:${target.port}/${target.database}`;
  throw new FerryError('E_PG_IMPORT', `Resuming the import into ${at} at ${t.schema}.${t.name}: ${why}, and ${target.user} is not a superuser (a superuser checks every row and replaces a range as a replica's apply does, session_replication_role = replica, keys and triggers held off); nothing was changed`, {
    hint: `run the import as a superuser (the stack image's POSTGRES_USER): it resumes from here; or start it over: drop the database it began (as a superuser on ${target.host}:${target.port}: DROP DATABASE ${qi(target.database)} WITH (FORCE);) and run the import again`,
  });
}

/** Server errors seen while the plan ran: these lose the session (terminated, server restarting, connection broken). */
const SESSION_LOST = new Set(['57P01', '57P02', '57P03', '08000', '08003', '08006', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);
function sessionLost(e: unknown): boolean {
  return SESSION_LOST.has((e as { code?: string }).code ?? '') || /Connection terminated|not queryable|terminating connection/i.test(oneLine(e));
}

/**
 * runScript's error as is, unless the session was lost: then named as the target's (runScript's "nothing
 * of this script was applied" may not hold: a COMMIT whose reply was lost) with the resume hint.
 */
export function lostOr(e: unknown, target: PgTarget, what: string): unknown {
  const cause = e instanceof FerryError ? e.cause : e;
  return sessionLost(cause) ? targetError(cause, target, what) : e;
}

/** A target error during `what`, naming the target (never the password) and whether running the import again resumes. */
export function targetError(e: unknown, target: PgTarget, what: string): FerryError {
  const at = `${target.host}:${target.port}/${target.database}`;
  const lost = sessionLost(e);
  return new FerryError('E_PG_IMPORT', `${what} on the target ${at} (user ${target.user}) failed: ${lost ? 'the session was lost: ' : ''}${oneLine(e)}`, {
    hint: lost
      ? 'the target ended ferry\'s session (restarted, an idle or admin kill, a broken connection): make sure it is up, then run the same import again — it resumes: what committed is kept, the rest is checked on the target and done again'
      : 'read the server message; what was not committed was rolled back, and once its cause is fixed the same import run again resumes from here',
    cause: e,
  });
}

/** What the plan's sessions (and the links' session) run first (the plan's comment says why); two sessions at parallelism 2. */
export const SESSION_SETTINGS = "SET maintenance_work_mem = '256MB'; SET work_mem = '64MB'; SET max_parallel_maintenance_workers = 0; SET max_parallel_workers_per_gather = 0";
