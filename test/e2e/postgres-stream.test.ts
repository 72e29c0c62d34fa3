/**
 * The postgres export streaming into a running target (stream.ts), through the engine contract, on real
 * servers (the test bed's PostgreSQL 15 image as source and target):
 * - a reachable target without the database: every chunk streams while exporting, the import loads none
 *   (only links, sequences, large objects are left) and the target verifies;
 * - a SIGKILL mid-stream leaves the database with some tables loaded: the export run again is plain and
 *   says why, the import resumes over what is there (the schema units carried over, every chunk not
 *   logged checked on the target) to a verified end;
 * - killed again and again at growing delays, export (unless done) + import run as the playbook re-runs
 *   them ends verified.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedSecondApp } from '../../fixtures/postgres/seed.ts';
import { engines } from '../../lib/engines/index.ts';
import type { EngineParams, Store } from '../../lib/core/engine.ts';
import { createLogger, type LogRecord } from '../../lib/core/logger.ts';
import { noProgress } from '../../lib/core/progress.ts';
import { Redactor } from '../../lib/util/redact.ts';
import { readManifest } from '../../lib/engines/postgres/manifest.ts';
import { parsePgUrl } from '../../lib/engines/postgres/connect.ts';
import { choosePgDump } from '../../lib/engines/postgres/schema-dump.ts';
import { startPostgresContainer, type StartedPostgres } from '../support/postgres.ts';
import { killLoopScript } from '../support/kill-loop.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

async function sql(url: string, text: string): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try { return await c.query(text); } finally { await c.end(); }
}

/**
 * A child process running the engine's export (unless the artifact is current) and import, as a re-run of the playbook does.
 * With FERRY_PG_STOP_AT_CHUNKS=n it stops itself (SIGSTOP) once its import.log holds n chunks, checked every millisecond
 * in its own event loop: a test killing it then finds it there, not chunks later (the stream could even have ended).
 */
const CHILD = `
  const { engines } = await import('./lib/engines/index.ts');
  const { createLogger } = await import('./lib/core/logger.ts');
  const { noProgress } = await import('./lib/core/progress.ts');
  const { Redactor } = await import('./lib/util/redact.ts');
  const j = JSON.parse(process.env.FERRY_PG_JOB);
  const e = engines.postgres;
  const redactor = new Redactor();
  const p = { ...j, store: { ...j.store, options: e.parseOptions(j.store.options, j.store.id) }, signal: new AbortController().signal,
    log: createLogger((r) => process.stderr.write(r.message + '\\n'), redactor), progress: noProgress, redactor };
  const stopAt = Number(process.env.FERRY_PG_STOP_AT_CHUNKS ?? 0);
  if (stopAt) {
    const { readFileSync } = await import('node:fs');
    const log = j.stateDir + '/import.log';
    const timer = setInterval(() => {
      let text = '';
      try { text = readFileSync(log, 'utf8'); } catch { return; }
      if (text.split('\\n').filter((l) => l.startsWith('chunk ')).length >= stopAt) { clearInterval(timer); process.kill(process.pid, 'SIGSTOP'); }
    }, 1);
    timer.unref();
  }
  process.stdout.write('ready\\n');
  if (!(await e.exported(p))) await e.export(p);
  if (process.env.FERRY_PG_EXPORT_ONLY !== '1') await e.import(p);
`;

describe('postgres export streams into the target', { timeout: 600_000 }, () => {
  let src: StartedPostgres;
  let dst: StartedPostgres;
  let work: string;
  const redactor = new Redactor();
  const logs: LogRecord[] = [];
  const engine = () => engines.postgres!;
  const params = (name: string, database: string): EngineParams => {
    const store: Store = { id: 'veogen-db', engine: 'postgres', source: src.url, target: { service: 'postgres' }, options: engine().parseOptions({ chunkBytes: 64 << 10, targetDatabase: database }, 'veogen-db') };
    return {
      store, targetUrl: `postgres://postgres:dst-Pw-stream@127.0.0.1:${dst.port}/`, artifactDir: join(work, name, 'artifacts'), stateDir: join(work, name, 'state'),
      signal: new AbortController().signal, log: createLogger((r) => logs.push(r), redactor), progress: noProgress, redactor,
    };
  };
  const dbUrl = (db: string) => `postgres://postgres:dst-Pw-stream@127.0.0.1:${dst.port}/${db}`;
  /** The export's outcome within `seconds`: 'exported', what it rejected with, or 'still running after N s'. */
  const outcome = (run: Promise<unknown>, seconds: number): Promise<unknown> => Promise.race([
    run.then(() => 'exported', (x: unknown) => x),
    new Promise((res) => setTimeout(() => res(`still running after ${seconds} s`), seconds * 1000)),
  ]);
  /**
   * A second after a stopped export: no partial directory (nothing wrote into it again), and no session of ferry's (and
   * pg_dump's) left on either server (a closed session's backend ends a moment later: up to 30 s on a busy machine; one
   * left open never does).
   */
  const nothingLeft = async (p: EngineParams): Promise<void> => {
    await new Promise((res) => setTimeout(res, 1000));
    expect(await stat(`${p.artifactDir}.partial`).catch(() => null)).toBeNull();
    const left = async (url: string) => (await sql(url, "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE 'ferry%' OR application_name = 'pg_dump'")).rows[0].n;
    const settled = async (url: string) => {
      let n = await left(url);
      for (let i = 0; i < 300 && n !== 0; i++) { await new Promise((res) => setTimeout(res, 100)); n = await left(url); }
      return n;
    };
    expect(await settled(src.url)).toBe(0);
    expect(await settled(dbUrl('postgres'))).toBe(0);
  };
  /** While `run` goes on, polls the store's import.log until `when(lines)`, then ends sessions by `end` (how many it ended). */
  const endSessionsWhen = async (p: EngineParams, run: Promise<unknown>, when: (lines: string[]) => boolean, end: () => Promise<number>): Promise<number> => {
    let done = false;
    void run.then(() => { done = true; }, () => { done = true; });
    for (let i = 0; i < 3000 && !done; i++) {
      const lines = (await readFile(join(p.stateDir, 'import.log'), 'utf8').catch(() => '')).split('\n');
      if (when(lines)) return end();
      await new Promise((r) => setTimeout(r, 10));
    }
    return 0;
  };

  beforeAll(async () => {
    [src, dst] = await Promise.all([startPostgresContainer({ database: 'veogen', password: 'src-Pw-stream' }), startPostgresContainer({ password: 'dst-Pw-stream' })]);
    await seedSecondApp(src.url, 8);
    work = await mkdtemp(join(tmpdir(), 'ferry-pg-stream-'));
  });
  afterAll(async () => {
    await Promise.all([src?.stop(), dst?.stop()]);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('streams every chunk into a reachable empty target; the import loads none; the target verifies', async () => {
    const p = params('fresh', 'veogen_fresh');
    const e = engine();
    const ex = await e.export(p);
    const { chunks, streamed, stream } = ex.data as { chunks: number; streamed: number; stream: string };
    expect(chunks).toBeGreaterThan(20);
    expect(streamed).toBe(chunks);
    expect(stream).toMatch(/^streamed \d+ of \d+ chunks into 127\.0\.0\.1:\d+\/veogen_fresh while exporting/);
    expect(logs.map((l) => l.message)).toContain(`veogen-db: ${stream}`);
    // The export's log is the import's: roles, database, pre-data, every chunk, the builds and ANALYZE are in it.
    const log = (await readFile(join(p.stateDir, 'import.log'), 'utf8')).split('\n');
    expect(log.filter((l) => l.startsWith('chunk '))).toHaveLength(chunks);
    expect(log).toEqual(expect.arrayContaining(['begin', 'pre', 'analyze "public"."orders"']));
    expect(log).not.toContain('done');
    const im = await e.import(p);
    expect(im.data).toMatchObject({ chunksLoaded: 0, chunksSkipped: chunks, resumed: true });
    const v = await e.verify(p);
    expect(v.entries.filter((x) => !x.ok)).toEqual([]);
    expect(v.entries.map((x) => x.subject)).toEqual(expect.arrayContaining(['table public.orders', 'sequences', 'large objects', 'roles']));
    // Statistics for every table (ANALYZE ran in the stream), the app's sequence past its data.
    expect((await sql(dbUrl('veogen_fresh'), "SELECT count(*) FILTER (WHERE last_analyze IS NULL)::int AS missing FROM pg_stat_user_tables WHERE schemaname IN ('public', 'media')")).rows[0]).toEqual({ missing: 0 });
    expect(JSON.stringify([logs, ex, im, v])).not.toMatch(/Pw-stream/);

    // Another store's state (no log of ferry's there): the database is not ferry's to stream into; the
    // export is plain, says so, and the import refuses it (replace not set), leaving it as it is.
    const other = { ...p, stateDir: join(work, 'fresh', 'other-state'), artifactDir: join(work, 'fresh', 'other-artifacts') };
    const ex2 = await e.export(other);
    expect(ex2.data).toMatchObject({ streamed: 0 });
    expect((ex2.data as { stream: string }).stream).toMatch(/^plain export: the target 127\.0\.0\.1:\d+ already holds the database veogen_fresh \(\d+ relations\): .*a database ferry did not begin is refused unless replace is set/);
    await expect(e.import(other)).rejects.toMatchObject({ code: 'E_PG_TARGET_EXISTS' });
    expect((await e.verify(p)).ok).toBe(true);
  });

  it('a SIGKILL mid-stream: the export run again is plain and says why; the import resumes to a verified end', async () => {
    const p = params('killed', 'veogen_killed');
    const job = { store: p.store, targetUrl: p.targetUrl, artifactDir: p.artifactDir, stateDir: p.stateDir };
    const child = spawn(join(root, 'node_modules/.bin/node'), ['--input-type=module', '-e', CHILD], {
      cwd: root, env: { ...process.env, FERRY_PG_JOB: JSON.stringify(job), FERRY_PG_EXPORT_ONLY: '1', FERRY_PG_STOP_AT_CHUNKS: '3' }, stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => { stderr += b.toString(); });
    const exited = new Promise<number | null>((res) => child.once('exit', (c) => res(c)));
    const logFile = join(p.stateDir, 'import.log');
    let chunks: string[] = [];
    for (let i = 0; i < 1200 && child.exitCode === null; i++) {
      chunks = (await readFile(logFile, 'utf8').catch(() => '')).split('\n').filter((l) => l.startsWith('chunk '));
      if (chunks.length >= 3) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGKILL');
    await exited;
    expect(chunks.length, stderr).toBeGreaterThanOrEqual(3);
    expect(await stat(join(p.artifactDir, 'manifest.json')).catch(() => null), 'killed before the export ended').toBeNull();

    const e = engine();
    const ex = await e.export(p);
    const { chunks: total, streamed, stream } = ex.data as { chunks: number; streamed: number; stream: string };
    expect(streamed).toBe(0);
    expect(stream).toMatch(/^plain export: the target 127\.0\.0\.1:\d+ already holds the database veogen_killed \(\d+ relations\): export first, then import \(it resumes the import this store began there/);
    expect(logs.map((l) => l.message)).toContain(`veogen-db: ${stream}`);
    const im = await e.import(p);
    const r = im.data as { chunksLoaded: number; chunksSkipped: number; resumed: boolean };
    expect(r.resumed).toBe(true);
    expect(r.chunksLoaded + r.chunksSkipped).toBe(total);
    // What landed before the kill is found whole by its digest on the target; the rest is loaded.
    expect(r.chunksSkipped).toBeGreaterThanOrEqual(chunks.length);
    expect(r.chunksLoaded).toBeGreaterThan(0);
    const v = await e.verify(p);
    expect(v.entries.filter((x) => !x.ok)).toEqual([]);
    expect((await readManifest(p.artifactDir)).totals.chunks).toBe(total);
  });

  it('an export failing while chunks wait for the pre-data (a table it cannot read) rejects with the GRANT; the database left empty is streamed into once granted', async () => {
    // pg_dump fails too (it locks every table), so the plan never starts: the chunks already handed
    // over must not hold the export's rejection (it waited for them forever).
    await sql(src.url, "CREATE ROLE stream_reader LOGIN PASSWORD 'reader-Pw-stream'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO stream_reader; GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO stream_reader; REVOKE SELECT ON audit_log FROM stream_reader");
    const p0 = params('priv', 'veogen_priv');
    const reader = src.url.replace(/\/\/postgres:[^@]+@/, '//stream_reader:reader-Pw-stream@');
    const p = { ...p0, store: { ...p0.store, source: reader } };
    const e = engine();
    const r = await outcome(e.export(p), 90);
    expect(r).toMatchObject({ code: 'E_PG_PRIVILEGE' });
    expect((r as { hint: string }).hint).toContain('GRANT pg_read_all_data TO "stream_reader"');
    expect(JSON.stringify(r)).not.toMatch(/Pw-stream/);
    // Nothing writes into the partial directory once it is removed (the leader's roles.json, with the roles' hashes, did).
    await nothingLeft(p);
    // Granted, the same command streams into the database the failed run began (empty, no pre-data).
    // (pg_read_all_data does not cover large objects: each is granted.)
    await sql(src.url, "GRANT pg_read_all_data TO stream_reader; DO $$ DECLARE o oid; BEGIN FOR o IN SELECT oid FROM pg_largeobject_metadata LOOP EXECUTE format('GRANT SELECT ON LARGE OBJECT %s TO stream_reader', o); END LOOP; END $$");
    const again = await e.export(p);
    expect(again.data).toMatchObject({ streamed: (again.data as { chunks: number }).chunks });
    await e.import(p);
    expect((await e.verify(p)).entries.filter((x) => !x.ok)).toEqual([]);
  });

  it('the caller aborts while chunks wait for the pre-data (a slow pg_dump): the export rejects at once, nothing left open; the same command streams again', async () => {
    const p0 = params('aborted', 'veogen_aborted');
    const tool = await choosePgDump(15, parsePgUrl(src.url));
    const real = tool.via === 'host' ? `exec ${tool.file} "$@"` : `exec docker ${tool.prefix.join(' ')} ${tool.file} "$@"`;
    const slow = join(work, 'slow-pg_dump');
    await writeFile(slow, `#!/bin/sh\ncase "$*" in *--version*) ${real};; esac\nsleep 4\n${real}\n`, { mode: 0o755 });
    const p1 = { ...p0, store: { ...p0.store, options: engine().parseOptions({ chunkBytes: 64 << 10, targetDatabase: 'veogen_aborted', pgDump: slow }, 'veogen-db') } };
    const ctl = new AbortController();
    let chunks = 0;
    const p = { ...p1, signal: ctl.signal, progress: { update: () => { if (++chunks === 2) ctl.abort(new Error('stopped by the operator')); } } };
    const e = engine();
    const r = await outcome(e.export(p), 60);
    expect(String(r)).toContain('stopped by the operator');
    await nothingLeft(p);
    const again = await e.export(p0);
    expect(again.data).toMatchObject({ streamed: (again.data as { chunks: number }).chunks });
    await e.import(p0);
    expect((await e.verify(p0)).entries.filter((x) => !x.ok)).toEqual([]);
  });

  it('the target ending the loading sessions mid-stream: the export stops and rejects, nothing is left open or behind; the same commands resume to a verified end', async () => {
    const p = params('terminated', 'veogen_term');
    const e = engine();
    const run = e.export(p);
    const ended = await endSessionsWhen(p, run, (lines) => lines.filter((l) => l.startsWith('chunk ')).length >= 2, async () =>
      (await sql(dbUrl('postgres'), "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = 'ferry import' AND datname = 'veogen_term'")).rows[0].n);
    expect(ended, 'the loading sessions were ended mid-stream').toBeGreaterThan(0);
    const r = await outcome(run, 90);
    expect(r).toBeInstanceOf(Error);
    expect(JSON.stringify(r) + String(r)).not.toMatch(/Pw-stream/);
    await nothingLeft(p);
    const again = await e.export(p);
    expect((again.data as { stream: string }).stream).toMatch(/^plain export: .*it resumes the import this store began there/);
    const im = await e.import(p);
    expect(im.data).toMatchObject({ resumed: true });
    expect((await e.verify(p)).entries.filter((x) => !x.ok)).toEqual([]);
  });

  it('the source ending the export sessions while chunks load: the export rejects once the running loads end, nothing is left open or behind; the same commands resume to a verified end', async () => {
    const p = params('source-gone', 'veogen_srcgone');
    const e = engine();
    const run = e.export(p);
    // As soon as the plan runs (pre-data applied): the source's export is still reading.
    const ended = await endSessionsWhen(p, run, (lines) => lines.includes('pre'), async () =>
      (await sql(src.url, "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = 'ferry export'")).rows[0].n);
    const r = await outcome(run, 90);
    expect(r).not.toBe('still running after 90 s');
    // On a loaded machine the export may have read everything before its sessions ended: nothing to stop then.
    if (r !== 'exported') {
      expect(ended).toBeGreaterThan(0);
      expect(r).toBeInstanceOf(Error);
      expect(JSON.stringify(r) + String(r)).not.toMatch(/Pw-stream/);
    }
    await nothingLeft(p);
    if (r !== 'exported') await e.export(p);
    expect((await e.import(p)).data).toMatchObject({ resumed: true });
    expect((await e.verify(p)).entries.filter((x) => !x.ok)).toEqual([]);
  });

  it('killed after its foreign keys and triggers are in, the source changed since: the next export imports over them to a verified end', async () => {
    const p = params('changed', 'veogen_changed');
    const e = engine();
    // An app trigger (a link: in once the import's links ran) that would change the rows a reload inserts.
    await sql(src.url, "CREATE FUNCTION public.stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.note = 'stamped'; RETURN NEW; END $$; CREATE TRIGGER orders_stamp BEFORE INSERT ON public.orders FOR EACH ROW EXECUTE FUNCTION public.stamp()");
    await e.export(p);
    await e.import(p);
    // What a SIGKILL leaves just before the import's last lines: everything committed, the log without them.
    const logFile = join(p.stateDir, 'import.log');
    const lines = (await readFile(logFile, 'utf8')).split('\n').filter(Boolean);
    expect(lines.slice(-2)).toEqual(['analyze', 'done']);
    await writeFile(logFile, lines.slice(0, -2).map((l) => `${l}\n`).join(''));
    // The app writes before the run is resumed: a user renamed (a referenced row), an order changed.
    await sql(src.url, "UPDATE users SET name = name || ' (renamed)' WHERE id = 5; UPDATE orders SET total = total + 1 WHERE id = 4000");
    try {
      const again = await e.export(p);
      expect((again.data as { stream: string }).stream).toMatch(/^plain export: /);
      const im = await e.import(p);
      expect(im.data).toMatchObject({ resumed: true });
      expect((im.data as { chunksLoaded: number }).chunksLoaded).toBeGreaterThanOrEqual(2);
      expect((await e.verify(p)).entries.filter((x) => !x.ok)).toEqual([]);
      // The constraint and the app's trigger are as they were, enforced again.
      await expect(sql(dbUrl('veogen_changed'), 'INSERT INTO orders (user_id, status, placed_at, items, total) VALUES (999999, \'paid\', now(), \'[]\', 1)')).rejects.toMatchObject({ code: '23503' });
      expect((await sql(dbUrl('veogen_changed'), "SELECT tgenabled FROM pg_trigger WHERE tgname = 'orders_stamp'")).rows).toEqual([{ tgenabled: 'O' }]);
    } finally {
      await sql(src.url, "UPDATE users SET name = replace(name, ' (renamed)', '') WHERE id = 5; UPDATE orders SET total = total - 1 WHERE id = 4000; DROP TRIGGER orders_stamp ON orders; DROP FUNCTION stamp()");
    }
  });

  it('the target database gone since the log was written (the stack volume recreated): the import loads it all again, never trusts the log', async () => {
    const p = params('recreated', 'veogen_recreated');
    const e = engine();
    const { chunks } = (await e.export(p)).data as { chunks: number };
    await e.import(p);
    await sql(dbUrl('postgres'), 'DROP DATABASE veogen_recreated WITH (FORCE)');
    const im = await e.import(p);
    expect(im.data).toMatchObject({ chunksLoaded: chunks, resumed: false });
    expect((await e.verify(p)).entries.filter((x) => !x.ok)).toEqual([]);
    expect((await e.import(p)).data).toMatchObject({ chunksLoaded: 0 });
  });

  it('killed at growing delays, export + import run again each time, ends verified', async () => {
    const p = params('loop', 'veogen_loop');
    const job = { store: p.store, targetUrl: p.targetUrl, artifactDir: p.artifactDir, stateDir: p.stateDir };
    const kills = await killLoopScript(CHILD, { ...process.env as Record<string, string>, FERRY_PG_JOB: JSON.stringify(job) }, { firstMs: 150, next: (d) => Math.round(d * 1.7), maxMs: 30_000 });
    expect(kills.length).toBeGreaterThanOrEqual(3);
    const v = await engine().verify(p);
    expect(v.entries.filter((x) => !x.ok)).toEqual([]);
    const log = (await readFile(join(p.stateDir, 'import.log'), 'utf8')).split('\n');
    expect(log).toContain('done');
  });
});
