/**
 * The mysql-* steps under the real runner: export → import → verify record in the journal, a second
 * run skips all three (their verify still holds), and a source changed since the export is refused.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMysql, type StartedMysql } from '../support/containers.ts';
import { seedVedfolnirMysql } from '../../fixtures/mysql/seed.ts';
import { runPlaybook, type RunEvent } from '../../lib/runner/index.ts';
import { createMemoryJournal } from '../../lib/journal/index.ts';
import { configSchema, type Config } from '../../lib/config/schema.ts';
import { Redactor } from '../../lib/util/redact.ts';
import type { FerryContext } from '../../lib/steps/context.ts';
import mysqlExport from '../../lib/steps/mysql-export.ts';
import mysqlImport from '../../lib/steps/mysql-import.ts';
import mysqlVerify from '../../lib/steps/mysql-verify.ts';

describe('mysql steps under the runner', { timeout: 600_000 }, () => {
  let src: StartedMysql;
  let dst: StartedMysql;
  let stateDir: string;
  let ctx: FerryContext;
  let config: Config;
  const journal = createMemoryJournal();
  const redactor = new Redactor();
  const playbook = { id: 'mysql-steps', title: 'mysql steps', steps: [mysqlExport, mysqlImport, mysqlVerify] };
  const run = (events: RunEvent[] = []) => runPlaybook<Config, FerryContext>({ playbook, config, ctx, stateDir, redactor, journal, onEvent: (e) => events.push(e) });

  beforeAll(async () => {
    [src, dst] = await Promise.all([startMysql(), startMysql()]);
    const c = await createConnection({ host: src.host, port: src.port, user: 'root', password: src.rootPassword, database: 'vedfolnir' });
    await seedVedfolnirMysql(c, { scale: 1, tricky: true });
    await c.end();
    stateDir = await mkdtemp(join(tmpdir(), 'ferry-mysql-steps-'));
    redactor.add(src.rootPassword, dst.rootPassword);
    const ep = (s: StartedMysql) => ({ host: s.host, port: s.port, user: 'root', password: s.rootPassword, databases: ['vedfolnir'] });
    config = { ...configSchema.parse({ source: {}, app: { envFile: join(stateDir, '.env') }, target: { composeDir: stateDir, project: 'mysql-steps' } }), stateDir };
    ctx = {
      mode: 'migrate', redactor, source: { mysql: ep(src) }, target: { mysql: ep(dst) }, services: {},
      artifactsDir: join(stateDir, 'artifacts'), project: 'mysql-steps', composeDir: stateDir, appDir: stateDir,
    };
  });
  afterAll(async () => { await Promise.all([src?.stop(), dst?.stop()]); });

  it('exports, imports and verifies, reporting progress and DEFINER rewrites, never a password', async () => {
    const events: RunEvent[] = [];
    const result = await run(events);
    expect(result.error).toBeUndefined();
    expect(result.status).toBe('ok');
    expect(result.steps.map((s) => [s.id, s.status])).toEqual([['mysql-export', 'done'], ['mysql-import', 'done'], ['mysql-verify', 'done']]);
    const exported = result.steps[0]!.outputs!.data as { rows: number; definerRewrites: unknown[]; sourceState: string };
    expect(exported.rows).toBeGreaterThan(3000);
    expect(exported.definerRewrites).toEqual([]); // DEFINERs kept; their account is carried (issue 12)
    expect(exported.sourceState).toMatch(/^(binlog|checksum):/);
    const progress = events.filter((e) => e.type === 'progress' && e.step === 'mysql-import');
    expect(progress.length).toBeGreaterThan(0);
    const logs = JSON.stringify(events);
    expect(logs).toContain("mysql account 'vedfolnir_app'@'%': create");
    expect(logs).not.toContain(src.rootPassword);
  });

  it('skips all three on a second run', async () => {
    const result = await run();
    expect(result.steps.map((s) => s.status)).toEqual(['skipped', 'skipped', 'skipped']);
  });

  it('refuses to resume once the source changed since the export', async () => {
    const c = await createConnection({ host: src.host, port: src.port, user: 'root', password: src.rootPassword, database: 'vedfolnir' });
    await c.query("INSERT INTO audit_log (user_id, action, created_at) VALUES (1, 'late write', NOW())");
    await c.end();
    // A run stopped before its last step: a completed playbook's re-run is a no-op, not a resume.
    await journal.unrecord('mysql-verify');
    const result = await run();
    expect(result.status).toBe('failed');
    expect(JSON.stringify(result)).toMatch(/source/i);
  });
});
