/**
 * Migrating again after a rollback, as an operator would: migrate → rollback → the app writes to the
 * host source (a MySQL row, a Redis key) → the same migrate command, without --restart-from, starts
 * from preflight, exports the source as it is now and carries the new writes into the stack, verified;
 * rollback then rolls back that migration (not "completed at …" from the first one).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir, readFile } from 'node:fs/promises';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import { startSeededSource, type SeededSource } from '../support/seeded-source.ts';
import { testImages } from '../support/images.ts';
import { runPlaybookProcess as runPlaybook, type PlaybookRun } from '../support/playbook-process.ts';

const stepsBy = (r: PlaybookRun, type: string) => r.events.filter((e) => e.type === type).map((e) => (e as { step: string }).step);
const NEW_USER = 'after-rollback-user';

describe('migrate after a completed rollback', { timeout: 1_200_000 }, () => {
  let src: SeededSource;

  beforeAll(async () => {
    src = await startSeededSource({ redisPassword: 'src-redis-pw-h11', bigHash: false });
  });
  afterAll(async () => {
    await src?.stop();
  });

  const env = () => ({ ...src.sb.env, MYSQL_IMAGE: testImages().mysql, REDIS_IMAGE: testImages().redis });
  const run = (playbook: string) => runPlaybook(playbook, ['--config', src.sb.configPath, '--json'], env());
  const ok = (r: PlaybookRun) => expect(r.exitCode, JSON.stringify(r.events.filter((e) => e.type === 'step-fail' || e.type === 'run-end').map((e) => e.type === 'run-end' ? (e as unknown as { result: { error?: unknown } }).result.error : e)) + r.stderr.trim().split('\n').slice(-20).join('\n')).toBe(0);

  it('runs from preflight again, re-exporting the source as it is then, and rollback rolls that one back', async () => {
    const first = await run('migrate');
    ok(first);
    const rb = await run('rollback');
    ok(rb);
    const stateFiles = await readdir(src.sb.stateDir);
    expect(stateFiles.some((f) => /^journal\.migrate\.reset-.*\.json$/.test(f))).toBe(true);
    expect(stateFiles).not.toContain('journal.migrate.json');

    // The app runs on the host again and writes.
    const conn = await mysql.createConnection({ host: src.my.host, port: src.my.port, user: 'root', password: src.my.rootPassword, database: src.my.database });
    await conn.query(
      `INSERT INTO users (username, email, password_hash, created_at) VALUES (?, ?, ?, NOW(6))`,
      [NEW_USER, 'after-rollback@example.test', '$2b$12$'.padEnd(60, 'x')],
    );
    const [[count]] = (await conn.query('SELECT COUNT(*) AS n FROM users')) as unknown as [[{ n: number }]];
    await conn.end();
    const rd = new Redis({ host: src.rd.host, port: src.rd.port, password: src.rd.password! });
    await rd.set('after:rollback', 'written on the host after the rollback');
    rd.disconnect();

    const second = await run('migrate');
    ok(second);
    expect(second.events.find((e) => e.type === 'run-end')).not.toMatchObject({ result: { completedAt: expect.anything() } });
    const done = stepsBy(second, 'step-done');
    expect(done[0]).toBe('preflight');
    expect(done).toEqual(expect.arrayContaining(['export:mysql', 'export:redis', 'import:mysql', 'import:redis', 'verify:mysql', 'verify:redis', 'compose-cutover', 'report']));
    const report = JSON.parse(await readFile(`${src.sb.stateDir}/report.migrate.json`, 'utf8'));
    expect(report.ok).toBe(true);
    const users = (report.mysql.tables as Array<{ table: string; targetRows: number }>).find((t) => t.table.split('.').at(-1) === 'users');
    expect(users?.targetRows).toBe(Number(count.n));

    const verify = await run('verify');
    ok(verify);

    // This rollback belongs to the second migration: it runs, it is not "completed at" the first one's.
    const rb2 = await run('rollback');
    ok(rb2);
    expect(stepsBy(rb2, 'step-done')).toContain('rollback-stop-stack');
  });
});
