/**
 * The playbooks end to end, as an operator runs them: a fixture source (Vedfolnir-shaped MySQL with
 * the tricky cases, Redis with sessions, RQ and every type) migrates into a copy of compose/; verify
 * passes; rollback restores the original .env byte for byte and the source still matches its
 * checksums; verify then fails (the stack is stopped).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import mysql from 'mysql2/promise';
import type { StartedMysql, StartedRedis } from '../support/containers.ts';
import { startSeededSource, type SeededSource } from '../support/seeded-source.ts';
import { testImages } from '../support/images.ts';
import { DEMO_ENV_FIXTURE } from '../../demo/paths.ts';
import type { Sandbox } from '../support/sandbox.ts';
import { takeSourceSnapshot, compareSnapshots, type SourceSnapshot } from '../../lib/freeze/index.ts';
import { runPlaybookProcess as runPlaybook, whyFailed, type PlaybookRun } from '../support/playbook-process.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('playbooks: migrate → verify → rollback on the fixture source', { timeout: 900_000 }, () => {
  let src: SeededSource;
  let my: StartedMysql;
  let rd: StartedRedis;
  let sb: Sandbox;
  let before: SourceSnapshot;
  let envBefore: Buffer;
  let migrate: PlaybookRun;
  const ctxOf = () => ({ source: {
    mysql: { host: my.host, port: my.port, user: 'root', password: my.rootPassword, databases: ['vedfolnir'] },
    redis: { host: rd.host, port: rd.port, password: rd.password!, databases: [] },
  } });

  beforeAll(async () => {
    src = await startSeededSource({ redisPassword: 'src-redis-pw-e2e', bigHash: true });
    ({ my, rd, sb } = src);
    envBefore = await readFile(sb.envPath);
    before = await takeSourceSnapshot(ctxOf());
  });

  afterAll(async () => {
    await src?.stop();
  });

  const env = () => ({ ...sb.env, MYSQL_IMAGE: testImages().mysql, REDIS_IMAGE: testImages().redis });

  it('migrates the fixture source into the stack, verified, with a report', async () => {
    migrate = await runPlaybook('migrate', ['--config', sb.configPath, '--json'], env());
    expect(migrate.stderr.trim().split('\n').slice(-5).join('\n')).not.toMatch(/✖/);
    expect(migrate.exitCode, whyFailed(migrate)).toBe(0);
    const done = migrate.events.filter((e) => e.type === 'step-done').map((e) => e.step);
    expect(done).toEqual(['preflight', 'env-transform', 'compose-prepare', 'compose-data-up', 'stop-writers', 'freeze:mysql', 'freeze:redis', 'prove-quiet',
      'export:mysql', 'export:redis', 'import:mysql', 'import:redis', 'verify:mysql', 'verify:redis', 'compose-cutover', 'thaw:redis', 'thaw:mysql', 'report']);
    const report = JSON.parse(await readFile(`${sb.stateDir}/report.migrate.json`, 'utf8'));
    expect(report.ok).toBe(true);
    expect(report.downtimeKind).toBe('measured');
    expect(report.downtimeMs).toBeGreaterThan(0);
    const tables = report.mysql.tables as Array<{ table: string; sourceRows: number; targetRows: number; sourceChecksum: string; targetChecksum: string; ok: boolean }>;
    expect(tables.length).toBe(Object.keys(before.mysql!.tables).length);
    for (const t of tables) {
      expect(t.ok, t.table).toBe(true);
      expect(t.targetRows, t.table).toBe(before.mysql!.tables[t.table]!.rows);
      expect(t.targetChecksum).toBe(t.sourceChecksum);
    }
    const dbs = (report.redis.databases as Array<{ db: number; sourceKeys: number }>).map((d) => d.db);
    expect(dbs).toEqual(Object.keys(before.redis!).map(Number).sort((a, b) => a - b));
    expect(report.redis.appChecks.find((a: { category: string }) => a.category === 'sessions').source).toBeGreaterThan(0);
    // The stack was up before the freeze: the export streamed every chunk into it, the import skipped them all (issue 12 §3).
    const journal = JSON.parse(await readFile(`${sb.stateDir}/journal.migrate.json`, 'utf8')) as { entries: Array<{ id: string; outputs?: { data?: Record<string, unknown> } }> };
    const dataOf = (id: string) => journal.entries.find((e) => e.id === id)?.outputs?.data ?? {};
    const exported = dataOf('export:mysql');
    expect(exported.chunks).toBeGreaterThan(0);
    expect(exported.streamed).toBe(exported.chunks);
    expect(dataOf('import:mysql')).toMatchObject({ chunksLoaded: 0, chunksSkipped: exported.chunks });
    // the report and the journal carry no secret
    const all = (await readFile(`${sb.stateDir}/report.migrate.json`, 'utf8')) + (await readFile(`${sb.stateDir}/report.migrate.md`, 'utf8'))
      + (await readFile(`${sb.stateDir}/journal.migrate.json`, 'utf8')) + migrate.stdout + migrate.stderr;
    for (const secret of [my.rootPassword, rd.password!, 'p@ss']) expect(all).not.toContain(secret);
    // the source is writable again and unchanged
    expect(compareSnapshots(before, await takeSourceSnapshot(ctxOf()))).toEqual([]);
    const conn = await mysql.createConnection({ host: my.host, port: my.port, user: 'root', password: my.rootPassword });
    const [rows] = await conn.query('SELECT @@global.read_only AS ro');
    await conn.end();
    expect(Number((rows as Array<{ ro: number }>)[0]!.ro)).toBe(0);
  });

  it('verify passes (exit 0), twice', async () => {
    for (let i = 0; i < 2; i++) {
      const v = await runPlaybook('verify', ['--config', sb.configPath, '--json'], env());
      expect(v.exitCode, whyFailed(v)).toBe(0);
    }
    const report = JSON.parse(await readFile(`${sb.stateDir}/report.verify.json`, 'utf8'));
    expect(report.ok).toBe(true);
  });

  it('rollback after cutover restores the original .env byte for byte and the source still matches its checksums', async () => {
    // The app's own .env is never rewritten (issue 13: the container env is emitted beside the stack).
    expect(sha(await readFile(sb.envPath))).toBe(sha(envBefore));
    const r = await runPlaybook('rollback', ['--config', sb.configPath, '--json'], env());
    expect(r.exitCode, whyFailed(r)).toBe(0);
    expect((await readFile(sb.envPath)).equals(envBefore)).toBe(true);
    expect((await readFile(sb.envPath)).equals(await readFile(DEMO_ENV_FIXTURE))).toBe(true);
    // The .env was never rewritten (issue 13), so restoring it finds nothing to do: skipped, not run.
    expect(r.events.filter((e) => e.type === 'step-done' || e.type === 'step-skip').map((e) => `${e.step}:${e.type}`)).toEqual(
      ['rollback-stop-stack:step-done', 'rollback-restore-env:step-skip', 'rollback-source-check:step-done', 'rollback-restart-host:step-done', 'report:step-done']);
    expect(compareSnapshots(before, await takeSourceSnapshot(ctxOf()))).toEqual([]);
    const again = await runPlaybook('rollback', ['--config', sb.configPath, '--json'], env());
    expect(again.exitCode, whyFailed(again)).toBe(0);
    expect((await readFile(sb.envPath)).equals(envBefore)).toBe(true);
  });

  it('verify fails (exit 1) once the stack is stopped', async () => {
    const v = await runPlaybook('verify', ['--config', sb.configPath, '--json'], env());
    expect(v.exitCode).toBe(1);
  });
});
