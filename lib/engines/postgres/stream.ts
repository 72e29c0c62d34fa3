/**
 * A streaming export: the export runs as always (one snapshot, chunk files, manifest: still the rollback
 * backup) while the target is loaded from it — roles, the database and pg_dump's pre-data as soon as
 * they are out, then each chunk as its file completes, and each table's builds and ANALYZE as its last
 * chunk lands: the import's own plan (load-plan.ts) fed as the export goes, every unit recorded in the
 * import's log, so `import:<id>` finds them done and runs only what is left (post-data links, sequences,
 * large objects). Export and import overlap instead of running one after the other.
 *
 * Only into a target database that is not there yet, or that this store's import began and left empty
 * (its log has `begin` and no pre-data; no relation in it): anything else (tables there after a kill)
 * is a plain export, and the import resumes over what is there (import-log.ts, every chunk checked).
 */
import type { TableInfo } from './catalog.ts';
import { connectPg, hasDatabase, withDatabase, type PgTarget } from './connect.ts';
import { exportPostgres, type ExportHooks, type ExportOptions } from './export.ts';
import { applyPreData, createTarget } from './import.ts';
import { openLog, readLogLines, schemaLine, type ProgressLog } from './import-log.ts';
import { startPlan, type LoadPlan } from './load-plan.ts';
import type { ChunkEntry, Manifest } from './manifest.ts';
import { parsePostData } from './post-data.ts';
import { createHash } from 'node:crypto';

export interface StreamOptions extends Omit<ExportOptions, 'hooks'> {
  readonly target: PgTarget;
  /** Where the import's log lives (its stateDir). */
  readonly stateDir: string;
  /** The target database is there, empty, begun by this store's import (streamDecision said so): used as it is. */
  readonly adopt?: boolean;
}

export interface StreamResult {
  readonly manifest: Manifest;
  /** Chunks loaded into the target while the export ran. */
  readonly streamedChunks: number;
  readonly seconds: number;
  /** Seconds from the start at which: the database was there, pre-data applied (chunks load from then), post-data in the plan, the export out, the plan done. */
  readonly timings: Readonly<Record<string, number>>;
}

/** Whether an export may stream into `t` (see the top of this file), or why not. Throws when the target is not reachable. */
export async function streamDecision(t: PgTarget, stateDir: string): Promise<{ adopt: boolean } | { why: string }> {
  const admin = await connectPg(withDatabase(t, 'postgres'), { applicationName: 'ferry export' });
  try {
    if (!(await hasDatabase(admin, t.database))) return { adopt: false };
  } finally {
    await admin.end();
  }
  const log = await readLogLines(stateDir);
  const c = await connectPg(t, { applicationName: 'ferry export' });
  let relations: number;
  try {
    relations = Number((await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'm', 'v', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'`)).rows[0]!.n);
  } finally {
    await c.end();
  }
  const begun = log.includes('begin');
  if (begun && !log.includes('pre') && relations === 0) return { adopt: true };
  return {
    why: `the target ${t.host}:${t.port} already holds the database ${t.database} (${relations} relations): export first, then import (${begun
      ? 'it resumes the import this store began there: every chunk it has not logged is checked on the target'
      : 'a database ferry did not begin is refused unless replace is set'})`,
  };
}

export async function streamPostgres(o: StreamOptions): Promise<StreamResult> {
  const started = performance.now();
  const abort = new AbortController();
  const signal = o.signal ? AbortSignal.any([o.signal, abort.signal]) : abort.signal;
  let failure: { e: unknown } | undefined;
  /** Chunks handed over before the plan runs: loaded once it does, or settled (not loaded) when the stream stops. */
  const early = new Set<(loaded: boolean) => void>();
  // The first failure is the one reported; no unit starts after it (the plan's sessions end once their
  // running units have), and a chunk not begun settles at once.
  const fail = (e: unknown) => {
    if (failure) return;
    failure = { e };
    abort.abort(e);
    for (const settle of early) settle(false);
    early.clear();
  };
  // The caller's abort too: a chunk waiting for a plan that will not start settles.
  if (signal.aborted) fail(signal.reason);
  else signal.addEventListener('abort', () => fail(signal.reason), { once: true });
  let plan: LoadPlan | undefined;
  /** Calls made before the plan runs (its tables planned, chunks done), replayed in order once it does. */
  const waiting: Array<(p: LoadPlan) => void> = [];
  let head: Parameters<NonNullable<ExportHooks['start']>>[0] | undefined;
  let log: ProgressLog | undefined;
  // The target's units in order, each after the one before: the database (while pg_dump runs), pre-data
  // and the plan (its chunks load from there on), post-data's units. The log records each schema's
  // sha256 before it is applied (import-log.ts: a kill's re-run resumes only over the same schema).
  let steps: Promise<void> = Promise.resolve();
  const then = (f: () => Promise<void>) => { steps = steps.then(() => (failure ? undefined : f())).catch(fail); };
  const sha = (x: string) => createHash('sha256').update(x).digest('hex');
  const timings: Record<string, number> = {};
  const at = (name: string) => { timings[name] = Math.round(performance.now() - started) / 1000; };
  const hooks: ExportHooks = {
    start: (s) => {
      head = s;
      then(async () => {
        log = await openLog(o.stateDir, s.exportId, undefined, { fresh: true });
        await createTarget({ target: o.target, stateDir: o.stateDir }, log, s.roles, s.encoding, o.adopt);
        at('database');
      });
    },
    preData: (pre) => then(async () => {
      await log!.add(schemaLine('pre-data', sha(pre)));
      await applyPreData({ target: o.target }, log!, pre);
      const p = await startPlan({
        target: o.target, log: log!, tables: head!.tables.map((t) => ({ table: t, bytes: t.bytes })), matviews: head!.matviews,
        parallelism: Math.max(1, o.parallelism ?? 2), signal, fresh: true,
      });
      p.done.catch(fail);
      plan = p;
      at('preData');
      for (const f of waiting.splice(0)) f(p);
    }),
    postData: (post) => then(async () => {
      await log!.add(schemaLine('post-data', sha(post)));
      plan!.postData(parsePostData(post));
      at('postData');
    }),
    planned: (t, n) => { if (plan) plan.planned(t, n); else waiting.push((p) => p.planned(t, n)); },
    // Settles once the chunk is loaded, or once the plan has ended without it (its running loads ended too),
    // or, handed over before the plan runs, when the stream stops: the export removes its files only then.
    chunk: (t: TableInfo, ch: ChunkEntry, path: string) => {
      if (plan) return plan.chunk(t, ch, path);
      if (signal.aborted) return Promise.resolve(false);
      return new Promise<boolean>((res) => {
        early.add(res);
        waiting.push((p) => { if (early.delete(res)) void p.chunk(t, ch, path).then(res); });
      });
    },
    // The export failed: the loads stop, a chunk not begun settles at once (the export waits for them all).
    failed: fail,
  };
  try {
    const manifest = await exportPostgres({ ...o, signal, hooks });
    at('exported');
    await steps;
    if (failure) throw failure.e;
    if (!plan) throw new Error('streaming export: the plan never started (a bug in ferry)');
    plan.close();
    const counts = await plan.done;
    at('planDone');
    return { manifest, streamedChunks: counts.loaded, seconds: (performance.now() - started) / 1000, timings };
  } catch (e) {
    fail(e);
    await steps;
    plan?.close();
    await plan?.done.catch(() => undefined);
    throw failure!.e;
  }
}
