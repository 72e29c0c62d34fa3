/**
 * A MySQL store's generated steps under the real runner: export:mysql → import:mysql → verify:mysql
 * record in the journal, a second run skips all three (their verify still holds), and a source changed
 * since the export is refused. The app's accounts come from its .env (app.envFile) as well as from the
 * DEFINERs: a user only the .env names is carried too.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMysql, type StartedMysql } from '../support/containers.ts';
import { seedVedfolnirMysql } from '../../fixtures/mysql/seed.ts';
import { runPlaybook, type RunEvent } from '../../lib/runner/index.ts';
import { createMemoryJournal } from '../../lib/journal/index.ts';
import { normalizeConfig, type Config } from '../../lib/config/index.ts';
import { Redactor } from '../../lib/util/redact.ts';
import { engines } from '../../lib/engines/index.ts';
import { resolveContext, storeSpecs, withEngineOptions } from '../../lib/playbooks/index.ts';
import { storeExportStep, storeImportStep, storeVerifyStep } from '../../lib/steps/index.ts';
import type { FerryContext } from '../../lib/steps/context.ts';
import { mysqlEngine, type MysqlOptions } from '../../lib/engines/mysql/index.ts';
import type { Store } from '../../lib/core/engine.ts';
import { silentLogger } from '../../lib/core/logger.ts';
import { noProgress } from '../../lib/core/progress.ts';

const REPORTER_PW = 'reporter-env-only-pw';

describe('a MySQL store\'s steps under the runner', { timeout: 600_000 }, () => {
  let src: StartedMysql;
  let dst: StartedMysql;
  let stateDir: string;
  let ctx: FerryContext;
  let config: Config;
  const journal = createMemoryJournal();
  const redactor = new Redactor();
  const playbook = () => {
    const [spec] = storeSpecs(config);
    return { id: 'mysql-steps', title: 'mysql steps', steps: [storeExportStep(spec!), storeImportStep(spec!), storeVerifyStep(spec!)] };
  };
  const run = (events: RunEvent[] = []) => runPlaybook<Config, FerryContext>({ playbook: playbook(), config, ctx, stateDir, redactor, journal, onEvent: (e) => events.push(e) });

  beforeAll(async () => {
    [src, dst] = await Promise.all([startMysql(), startMysql()]);
    const c = await createConnection({ host: src.host, port: src.port, user: 'root', password: src.rootPassword, database: 'vedfolnir' });
    await seedVedfolnirMysql(c, { scale: 1, tricky: true });
    // An account no DEFINER names: only the app's .env says the app logs in as it.
    await c.query(`CREATE USER 'reporter'@'%' IDENTIFIED BY '${REPORTER_PW}'`);
    await c.query("GRANT SELECT ON vedfolnir.* TO 'reporter'@'%'");
    await c.end();
    stateDir = await mkdtemp(join(tmpdir(), 'ferry-mysql-steps-'));
    await writeFile(join(stateDir, '.env'), `REPORT_DB_URL=mysql+pymysql://reporter:${REPORTER_PW}@localhost:3306/vedfolnir\n`);
    redactor.add(src.rootPassword, dst.rootPassword, REPORTER_PW);
    config = withEngineOptions(normalizeConfig({
      app: { envFile: join(stateDir, '.env'), appServices: [] },
      stores: [{
        id: 'mysql', engine: 'mysql', source: src.url,
        target: { service: 'mysql', migrationPort: dst.port, url: `mysql://root:${encodeURIComponent(dst.rootPassword)}@127.0.0.1:${dst.port}` },
      }],
      target: { composeDir: stateDir, project: 'mysql-steps' },
      stateDir,
    }, { baseDir: stateDir, env: {} }));
    ctx = resolveContext({ config, mode: 'migrate', redactor, engines });
  });
  afterAll(async () => { await Promise.all([src?.stop(), dst?.stop()]); });

  it('exports, imports and verifies, reporting progress and the accounts carried (DEFINERs and .env), never a password', async () => {
    const events: RunEvent[] = [];
    const result = await run(events);
    expect(result.error).toBeUndefined();
    expect(result.status).toBe('ok');
    expect(result.steps.map((s) => [s.id, s.status])).toEqual([['export:mysql', 'done'], ['import:mysql', 'done'], ['verify:mysql', 'done']]);
    const exported = result.steps[0]!.outputs!.data as { rows: number; chunks: number; definerRewrites: unknown[]; sourceState: string; streamed: number; stream: string };
    expect(exported.rows).toBeGreaterThan(3000);
    // The target was up and empty: every chunk loaded while the export ran, and the import skipped them all.
    expect(exported.chunks).toBeGreaterThan(1);
    expect(exported.streamed).toBe(exported.chunks);
    expect(exported.stream).toMatch(new RegExp(`^streamed ${exported.chunks} of ${exported.chunks} chunks into mysql root@127\\.0\\.0\\.1:${dst.port}`));
    const imported = result.steps[1]!.outputs!.data as { chunksLoaded: number; chunksSkipped: number; alreadyImported: boolean };
    expect(imported).toMatchObject({ alreadyImported: false, chunksLoaded: 0, chunksSkipped: exported.chunks });
    expect(await journal.get('export:mysql')).toMatchObject({ outputs: { data: { streamed: exported.chunks } } });
    expect(exported.definerRewrites).toEqual([]); // DEFINERs kept; their account is carried (issue 12)
    expect(exported.sourceState).toMatch(/^(binlog|checksum):/);
    const progress = events.filter((e) => e.type === 'progress' && e.step === 'import:mysql');
    expect(progress.length).toBeGreaterThan(0);
    const logs = JSON.stringify(events);
    expect(logs).toContain("mysql: 'vedfolnir_app'@'%': create");
    expect(logs).toContain("mysql: 'reporter'@'%': create");
    const t = await createConnection({ host: dst.host, port: dst.port, user: 'reporter', password: REPORTER_PW, database: 'vedfolnir' });
    expect(Number(((await t.query('SELECT COUNT(*) AS n FROM users'))[0] as Array<{ n: number }>)[0]!.n)).toBeGreaterThan(0);
    await t.end();
    expect(logs).not.toContain(src.rootPassword);
    expect(logs).not.toContain(REPORTER_PW);
  });

  it("preflight facts list the .env's account among those to carry", async () => {
    const b = ctx.stores!.get('mysql')!;
    const facts = await mysqlEngine.facts({
      store: b.store as Store<MysqlOptions>, targetUrl: b.targetUrl(), artifactDir: join(stateDir, 'facts-a'), stateDir: join(stateDir, 'facts-s'),
      signal: new AbortController().signal, log: silentLogger, progress: noProgress, redactor,
    });
    expect(facts.source.accounts?.map((a) => `${a.user}@${a.host}`)).toEqual(expect.arrayContaining(['vedfolnir_app@%', 'reporter@%']));
  });

  it('skips all three on a second run', async () => {
    const result = await run();
    expect(result.steps.map((s) => s.status)).toEqual(['skipped', 'skipped', 'skipped']);
  });

  it('exports plainly where the tables already are (a run killed after its export streamed): the import checks each chunk, loads none, verifies', async () => {
    // As a kill leaves it: chunks on the target, no export recorded or finished, no import finished.
    for (const id of ['verify:mysql', 'import:mysql', 'export:mysql']) await journal.unrecord(id);
    await rm(join(stateDir, 'artifacts', 'mysql', 'source-state.json'));
    for (const f of ['import-step-done', 'import-done.json']) await rm(join(stateDir, 'stores', 'mysql', f));
    const events: RunEvent[] = [];
    const result = await run(events);
    expect(result.error).toBeUndefined();
    expect(result.steps.map((s) => [s.id, s.status])).toEqual([['export:mysql', 'done'], ['import:mysql', 'done'], ['verify:mysql', 'done']]);
    const exported = result.steps[0]!.outputs!.data as { chunks: number; streamed: number; stream: string };
    expect(exported.streamed).toBe(0);
    expect(exported.stream).toMatch(/^plain export: tables already exist on 127\.0\.0\.1:\d+/);
    expect(JSON.stringify(events)).toContain('mysql: plain export: tables already exist');
    expect(result.steps[1]!.outputs!.data).toMatchObject({ chunksLoaded: 0, chunksSkipped: exported.chunks });
  });

  it('refuses to resume once the source changed since the export', async () => {
    const c = await createConnection({ host: src.host, port: src.port, user: 'root', password: src.rootPassword, database: 'vedfolnir' });
    await c.query("INSERT INTO audit_log (user_id, action, created_at) VALUES (1, 'late write', NOW())");
    await c.end();
    // A run stopped before its last step: a completed playbook's re-run is a no-op, not a resume.
    await journal.unrecord('verify:mysql');
    const result = await run();
    expect(result.status).toBe('failed');
    expect(JSON.stringify(result)).toMatch(/source/i);
  });
});
