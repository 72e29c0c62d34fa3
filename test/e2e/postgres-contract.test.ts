/**
 * The PostgreSQL engine driven ONLY through the engine contract and the registry, on real servers (the
 * test bed's PostgreSQL 15 image as source and target): facts → assess → export (streaming into the
 * target, stream.ts) → import (what is left; ANALYZEd) → verify →
 * import again is a no-op → a damaged row is named → reverse (rollback --with-data: the source's database
 * replaced by the target's, verified) → clearTarget (the database, and the roles the import created; a role
 * the target had before is kept). Then a SIGKILL mid-import: a child
 * process runs the import and is killed once chunks have landed; running the same import again resumes
 * (logged chunks skipped, an unlogged chunk whose rows match skipped by checksum, a half-loaded one
 * cleared and loaded again) to a verified end; a foreign key committed but not logged is found there.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedSecondApp } from '../../fixtures/postgres/seed.ts';
import { engines } from '../../lib/engines/index.ts';
import type { EngineParams, Store } from '../../lib/core/engine.ts';
import { createLogger, type LogRecord } from '../../lib/core/logger.ts';
import { noProgress } from '../../lib/core/progress.ts';
import { Redactor } from '../../lib/util/redact.ts';
import { POST_DATA, readManifest } from '../../lib/engines/postgres/manifest.ts';
import { parsePostData } from '../../lib/engines/postgres/post-data.ts';
import { readCreatedRoles } from '../../lib/engines/postgres/import.ts';
import { startPostgresContainer, type StartedPostgres } from '../support/postgres.ts';
import { killedAtTick } from '../support/stop-at-tick.ts';


async function sql(url: string, text: string): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try { return await c.query(text); } finally { await c.end(); }
}

describe('engine contract: postgres', { timeout: 900_000 }, () => {
  let src: StartedPostgres;
  let dst: StartedPostgres;
  let work: string;
  let p: EngineParams;
  const logs: LogRecord[] = [];
  const redactor = new Redactor();
  const engine = () => engines.postgres!;

  beforeAll(async () => {
    [src, dst] = await Promise.all([startPostgresContainer({ database: 'veogen', password: 'src-Pw-contract' }), startPostgresContainer({ password: 'dst-Pw-contract' })]);
    await seedSecondApp(src.url, 12);
    // The target already has one of the app's roles (an operator made it): the import uses it, clearTarget keeps it.
    await sql(dst.url, 'CREATE ROLE veogen_ro NOLOGIN');
    work = await mkdtemp(join(tmpdir(), 'ferry-pg-contract-'));
    const store: Store = { id: 'veogen-db', engine: 'postgres', source: src.url, target: { service: 'postgres' }, options: engine().parseOptions({ chunkBytes: 256 << 10 }, 'veogen-db') };
    p = {
      store, targetUrl: `postgres://postgres:dst-Pw-contract@127.0.0.1:${dst.port}/`, artifactDir: join(work, 'artifacts', 'veogen-db'), stateDir: join(work, 'stores', 'veogen-db'),
      signal: new AbortController().signal, log: createLogger((r) => logs.push(r), redactor), progress: noProgress, redactor,
    };
  });
  afterAll(async () => {
    await Promise.all([src?.stop(), dst?.stop()]);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('facts → assess → export → import → verify; again is a no-op; damage is named; clearTarget', async () => {
    const e = engine();
    expect(e.phases).toEqual(expect.arrayContaining(['facts', 'assess', 'sourceState', 'export', 'import', 'verify']));
    const facts = await e.facts!(p);
    const findings = e.assess(facts, p.store);
    expect(findings.filter((f) => f.severity === 'blocker')).toEqual([]);
    expect(findings.map((f) => f.check)).toContain('postgres-keyless'); // audit_log

    const state = await e.sourceState(p);
    expect(await e.exported!(p)).toBe(false);
    const ex = await e.export(p);
    // The target is up and holds no veogen yet: the export streams every chunk into it.
    expect(ex.data).toMatchObject({ tables: 8, streamed: (ex.data as { chunks: number }).chunks });
    expect(await e.exported!(p)).toBe(true);
    expect(await e.sourceState(p)).toBe(state);

    const im = await e.import(p);
    expect(im.data).toMatchObject({ resumed: true, chunksLoaded: 0 });
    expect(await readCreatedRoles(p.stateDir)).toEqual(['veogen_app']);
    // The loading sessions' row counts reached the statistics before ferry's ANALYZE: nothing is left
    // for autovacuum to analyze again right after the import.
    const stale = await sql(`postgres://postgres:dst-Pw-contract@127.0.0.1:${dst.port}/veogen`, 'SELECT relname FROM pg_stat_user_tables WHERE n_mod_since_analyze > 0');
    expect(stale.rows).toEqual([]);
    const ok = await e.verify(p);
    expect(ok.entries.filter((x) => !x.ok)).toEqual([]);
    expect(ok.entries.map((x) => x.subject)).toEqual(expect.arrayContaining(['schema veogen', 'table public.orders', 'table public.events_2025a', 'sequences', 'large objects', 'roles']));
    const again = await e.import(p);
    expect(again.data).toMatchObject({ chunksLoaded: 0 });

    const t = `postgres://postgres:dst-Pw-contract@127.0.0.1:${dst.port}/veogen`;
    await sql(t, "UPDATE events SET payload = '{\"x\": 1}' WHERE id = 30001");
    const bad = await e.verify(p);
    const ev = bad.entries.filter((x) => !x.ok);
    expect(ev.map((x) => x.subject)).toEqual(['table public.events_2025a']);
    expect(ev[0]!.findings!.join('\n')).toMatch(/\(id, at\) in \(/);
    expect(ev[0]!.findings!.join('\n')).toContain('30001');
    expect(JSON.stringify([logs, bad, ex, im])).not.toMatch(/Pw-contract/);

    // Planner statistics for every table loaded (pg_restore's users run ANALYZE by hand).
    const analyzed = await sql(t, "SELECT count(*) FILTER (WHERE last_analyze IS NULL)::int AS missing, count(*)::int AS n FROM pg_stat_user_tables WHERE schemaname IN ('public', 'media')");
    expect(analyzed.rows[0]).toMatchObject({ missing: 0 });
    expect(analyzed.rows[0].n).toBeGreaterThanOrEqual(8);

    // rollback --with-data: the app wrote in the target (a new user; the changed event above); the source gets exactly that back.
    await sql(t, "INSERT INTO users (email, name, created_at) VALUES ('stack@veogen.test', 'Written in the stack', now())");
    await sql(src.url, "ALTER DATABASE veogen SET work_mem = '6MB'");
    const rv = await e.reverse!(p);
    expect(rv.data).toMatchObject({ replaced: { database: 'veogen', owner: 'postgres' }, tables: 8, backup: p.artifactDir });
    expect((await sql(src.url, "SELECT name FROM users WHERE email = 'stack@veogen.test'")).rows).toEqual([{ name: 'Written in the stack' }]);
    expect((await sql(src.url, 'SELECT payload FROM events WHERE id = 30001')).rows[0].payload).toEqual({ x: 1 });
    expect((await sql(src.url, "SELECT current_setting('work_mem') AS w")).rows[0].w).toBe('6MB'); // the database's own settings kept
    expect(logs.map((l) => l.message).join('\n')).toMatch(/database veogen on 127\.0\.0\.1:\d+ \(owner postgres, .*\) replaced by the stack's data/);
    // Run again (a rollback resumed after it finished): the same data, verified again.
    expect((await e.reverse!(p)).data).toMatchObject({ exportedRows: (rv.data as { exportedRows: number }).exportedRows });
    expect(JSON.stringify([logs, rv])).not.toMatch(/Pw-contract/);
    // A host account that could not recreate the database is refused before anything is dropped.
    await sql(src.url, "CREATE ROLE ferry_limited LOGIN PASSWORD 'limited-Pw-contract'");
    const limited: EngineParams = { ...p, store: { ...p.store, source: `postgres://ferry_limited:limited-Pw-contract@127.0.0.1:${src.port}/veogen` }, stateDir: join(work, 'limited') };
    const refused = await e.reverse!(limited).catch((x: unknown) => x);
    expect(refused).toMatchObject({ code: 'E_PG_PRIVILEGE' });
    expect(String((refused as Error).message)).toMatch(/^ferry_limited on 127\.0\.0\.1:\d+ cannot replace veogen .* lacks CREATEDB, ownership of veogen; nothing was changed$/);
    expect((refused as { hint: string }).hint).toContain('ALTER ROLE "ferry_limited" CREATEDB');
    expect(JSON.stringify(refused)).not.toMatch(/Pw-contract/);
    expect((await sql(src.url, "SELECT count(*)::int AS n FROM users WHERE email = 'stack@veogen.test'")).rows[0].n).toBe(1);

    await e.clearTarget!(p);
    expect((await sql(dst.url, "SELECT count(*)::int AS n FROM pg_database WHERE datname = 'veogen'")).rows[0].n).toBe(0);
    // The role the import created is gone; the one the target had before stays.
    expect((await sql(dst.url, "SELECT rolname FROM pg_roles WHERE rolname LIKE 'veogen%' ORDER BY 1")).rows).toEqual([{ rolname: 'veogen_ro' }]);
  });

  it('a SIGKILL mid-import resumes to a verified end', async () => {
    const stateDir = join(work, 'kill-state');
    const t = `postgres://postgres:dst-Pw-contract@127.0.0.1:${dst.port}/veogen`;
    const { parsePgUrl } = await import('../../lib/engines/postgres/connect.ts');
    // One session: its 3rd progress tick comes right after the 3rd chunk committed and was logged; killed there.
    await killedAtTick({
      module: new URL('../../lib/engines/postgres/import.ts', import.meta.url).href, fn: 'importPostgres',
      options: { target: parsePgUrl(t), dir: p.artifactDir, stateDir, parallelism: 1 }, stopWhen: 'ticks >= 3',
    });
    const logFile = join(stateDir, 'import.log');
    const lines = (await readFile(logFile, 'utf8')).split('\n').filter((l) => l.startsWith('chunk '));
    const m = await readManifest(p.artifactDir);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(lines.length).toBeLessThan(m.totals.chunks);
    // Forget two landed chunks: one left as it is (matches: skipped by its checksum), one half-loaded
    // (rows deleted from its range: cleared and loaded again).
    const log = (await readFile(logFile, 'utf8')).split('\n');
    const [keep, half] = [lines[0]!, lines[1]!];
    await writeFile(logFile, log.filter((l) => l !== keep && l !== half).join('\n'));
    const halfChunk = m.tables.flatMap((x) => x.chunks.map((c) => ({ t: x.table, c }))).find((x) => `chunk ${x.c.file}` === half)!;
    const { rangeWhere } = await import('../../lib/engines/postgres/checksum.ts');
    await sql(t, `DELETE FROM ONLY "${halfChunk.t.schema}"."${halfChunk.t.name}" WHERE ${rangeWhere(halfChunk.t, halfChunk.c)} AND random() < 0.5`);

    const { importPostgres } = await import('../../lib/engines/postgres/import.ts');
    const r = await importPostgres({ target: parsePgUrl(t), dir: p.artifactDir, stateDir });
    expect(r.resumed).toBe(true);
    // Every chunk is either skipped (logged, or found whole by its checksum — also one that committed just
    // before the kill but was not logged yet) or loaded (the half-loaded one, the one in flight, the rest).
    expect(r.chunksLoaded + r.chunksSkipped).toBe(m.totals.chunks);
    expect(r.chunksSkipped).toBeGreaterThanOrEqual(lines.length - 1);
    expect(r.chunksLoaded).toBeGreaterThanOrEqual(1);
    expect(r.chunksLoaded).toBeLessThanOrEqual(m.totals.chunks - lines.length + 1);
    const v = await engines.postgres!.verify(p);
    expect(v.entries.filter((x) => !x.ok)).toEqual([]);
    // A foreign key (validated in the import's plan, beside other work) that committed while its log line
    // was lost to a kill: the next run finds it there and goes on to a verified end.
    const post = parsePostData(await readFile(join(p.artifactDir, POST_DATA), 'utf8'));
    const fk = post.entries.find((e) => e.type === 'FK CONSTRAINT')!;
    const full = (await readFile(logFile, 'utf8')).split('\n');
    expect(full).toContain(`post ${fk.index}`);
    await writeFile(logFile, full.filter((l) => l !== `post ${fk.index}` && l !== 'done').join('\n'));
    const again = await importPostgres({ target: parsePgUrl(t), dir: p.artifactDir, stateDir });
    expect(again).toMatchObject({ resumed: true, chunksLoaded: 0 });
    expect((await readFile(logFile, 'utf8')).split('\n')).toContain(`post ${fk.index}`);
    expect((await engines.postgres!.verify(p)).entries.filter((x) => !x.ok)).toEqual([]);
  });
});
