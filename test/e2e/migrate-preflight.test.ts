/**
 * Preflight against real servers: the facts of the fixture source (tricky cases included) are read
 * correctly, and a source account without the needed privileges makes migrate refuse before a byte
 * moves — exit 1, the blocker named, the .env untouched, no container started, the source writable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import { startMysql, startRedis, type StartedMysql, type StartedRedis } from '../support/containers.ts';
import { testImages } from '../support/images.ts';
import { seedVedfolnirMysql } from '../../fixtures/mysql/seed.ts';
import { seedVedfolnirRedis } from '../../fixtures/redis/seed.ts';
import { createSandbox, type Sandbox } from '../support/sandbox.ts';
import { runPlaybookProcess } from '../support/playbook-process.ts';
import { gatherMysqlFacts, gatherRedisFacts } from '../../lib/preflight/index.ts';

describe('preflight on the fixture source', { timeout: 600_000 }, () => {
  let my: StartedMysql;
  let rd: StartedRedis;
  let sb: Sandbox;
  const weakPassword = 'weak-account-pw-1';

  beforeAll(async () => {
    [my, rd] = await Promise.all([startMysql(), startRedis({ password: 'preflight-redis-pw' })]);
    const conn = await mysql.createConnection({ host: my.host, port: my.port, user: 'root', password: my.rootPassword, database: my.database, charset: 'utf8mb4' });
    await seedVedfolnirMysql(conn, { scale: 1, tricky: true });
    await conn.query(`CREATE USER 'weak'@'%' IDENTIFIED BY '${weakPassword}'`);
    await conn.query(`GRANT SELECT ON ${my.database}.* TO 'weak'@'%'`);
    await conn.end();
    const r = new Redis({ host: rd.host, port: rd.port, password: rd.password });
    await seedVedfolnirRedis(r, { scale: 1 });
    r.disconnect();
  });

  afterAll(async () => {
    await sb?.cleanup();
    await Promise.all([my?.stop(), rd?.stop()]);
  });

  it('reads the tricky source: DEFINERs, tables without a primary key, generated columns, FK cycle, streams with pending entries', async () => {
    const m = await gatherMysqlFacts({ host: my.host, port: my.port, user: 'root', password: my.rootPassword, databases: [my.database] });
    expect(m.databases.map((d) => d.name)).toEqual([my.database]);
    expect(m.tables.length).toBeGreaterThan(5);
    expect(m.tables.filter((t) => !t.hasPrimaryKey).length).toBeGreaterThan(0);
    expect(new Set(m.definers.map((d) => d.kind))).toEqual(new Set(['VIEW', 'TRIGGER', 'ROUTINE', 'EVENT']));
    expect(m.generatedColumns).toBeGreaterThan(0);
    expect(m.foreignKeys.length).toBeGreaterThan(0);
    const r = await gatherRedisFacts({ host: rd.host, port: rd.port, password: rd.password!, databases: [] });
    expect(Object.keys(r.keyspace).map(Number)).toEqual(expect.arrayContaining([0, 1, 15]));
    expect(r.streams).toBeGreaterThan(0);
    expect(r.consumerGroups).toBeGreaterThan(0);
    expect(r.pendingEntries).toBeGreaterThan(0);
  });

  it('refuses before a byte moves when the source account lacks privileges', async () => {
    sb = await createSandbox({ mysql: { host: my.host, port: my.port, password: weakPassword, database: my.database }, redis: { host: rd.host, port: rd.port, password: rd.password! } });
    const cfg = JSON.parse(await readFile(sb.configPath, 'utf8'));
    cfg.source.mysql.url = cfg.source.mysql.url.replace('root:', 'weak:');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(sb.configPath, JSON.stringify(cfg));
    const envBefore = await readFile(sb.envPath);
    const r = await runPlaybookProcess('migrate', ['--config', sb.configPath, '--json'], { ...sb.env, MYSQL_IMAGE: testImages().mysql, REDIS_IMAGE: testImages().redis });
    expect(r.exitCode).toBe(1);
    const fail = r.events.find((e) => e.type === 'step-fail') as unknown as { step: string; error: { code: string; message: string; detail: string } };
    expect(fail.step).toBe('preflight');
    expect(fail.error.code).toBe('E_PREFLIGHT_BLOCKED');
    expect(fail.error.detail).toContain('BLOCKER mysql-privileges');
    expect(fail.error.detail).toContain('TRIGGER, EVENT, LOCK TABLES');
    expect(r.stdout + r.stderr).not.toContain(weakPassword);
    expect(r.events.filter((e) => e.type === 'step-done').map((e) => e.step)).toEqual([]);
    expect((await readFile(sb.envPath)).equals(envBefore)).toBe(true);
    expect(execFileSync('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${sb.project}`], { encoding: 'utf8' }).trim()).toBe('');
    const findings = JSON.parse(await readFile(`${sb.stateDir}/preflight.json`, 'utf8')) as Array<{ severity: string; check: string }>;
    // Its database's privileges, the routines it cannot see (mysql.proc), read_only for the freeze.
    expect(findings.filter((f) => f.severity === 'blocker').map((f) => f.check)).toEqual(['mysql-privileges', 'mysql-privileges', 'mysql-privileges']);
  });
});
