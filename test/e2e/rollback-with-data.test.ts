/**
 * rollback --with-data: what the app wrote in the containers after cutover (a new MySQL row, a new
 * Redis key) is copied back to the host services and verified; the .env is restored byte for byte.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import type { StartedMysql, StartedRedis } from '../support/containers.ts';
import { startSeededSource, type SeededSource } from '../support/seeded-source.ts';
import { testImages } from '../support/images.ts';
import type { Sandbox } from '../support/sandbox.ts';
import { runPlaybookProcess, whyFailed } from '../support/playbook-process.ts';
import { secretPath } from '../../lib/compose/layout.ts';

describe('rollback --with-data', { timeout: 900_000 }, () => {
  let src: SeededSource;
  let my: StartedMysql;
  let rd: StartedRedis;
  let sb: Sandbox;

  beforeAll(async () => {
    src = await startSeededSource({ redisPassword: 'with-data-redis-pw' });
    ({ my, rd, sb } = src);
  });

  afterAll(async () => {
    await src?.stop();
  });

  it('copies the stack\'s post-cutover writes back to the host and verifies them', async () => {
    const env = { ...sb.env, MYSQL_IMAGE: testImages().mysql, REDIS_IMAGE: testImages().redis };
    const envBefore = await readFile(sb.envPath);
    expect((await runPlaybookProcess('migrate', ['--config', sb.configPath, '--json'], env)).exitCode).toBe(0);
    // the app writes in the stack after cutover (inside the containers: no port is published)
    const container = (svc: string) => execFileSync('docker', ['ps', '-q', '--filter', `label=com.docker.compose.project=${sb.project}`, '--filter', `label=com.docker.compose.service=${svc}`], { encoding: 'utf8' }).trim();
    const rootPw = (await readFile(secretPath(sb.composeDir, 'mysql_root_password'), 'utf8')).trim();
    const redisPw = (await readFile(secretPath(sb.composeDir, 'redis_password'), 'utf8')).trim();
    execFileSync('docker', ['exec', '-e', 'MYSQL_PWD', container('mysql'), 'mysql', '-uroot', my.database, '-e',
      "INSERT INTO users (username, email, password_hash, created_at) VALUES ('after-cutover', 'after@cutover', REPEAT('x', 60), NOW(6))"], { env: { ...process.env, MYSQL_PWD: rootPw } });
    execFileSync('docker', ['exec', '-e', 'REDISCLI_AUTH', container('redis'), 'redis-cli', 'SET', 'written:after:cutover', 'yes'], { env: { ...process.env, REDISCLI_AUTH: redisPw } });

    const r = await runPlaybookProcess('rollback', ['--config', sb.configPath, '--with-data', '--json'], env);
    const fail = r.events.find((e) => e.type === 'step-fail');
    expect(fail, JSON.stringify(fail)).toBeUndefined();
    expect(r.exitCode, whyFailed(r)).toBe(0);
    expect((await readFile(sb.envPath)).equals(envBefore)).toBe(true);
    const conn = await mysql.createConnection({ host: my.host, port: my.port, user: 'root', password: my.rootPassword, database: my.database });
    const [rows] = await conn.query("SELECT COUNT(*) AS n FROM users WHERE username = 'after-cutover'");
    const [ro] = await conn.query('SELECT @@global.read_only AS ro');
    await conn.end();
    expect(Number((rows as Array<{ n: number }>)[0]!.n)).toBe(1);
    expect(Number((ro as Array<{ ro: number }>)[0]!.ro)).toBe(0);
    const h = new Redis({ host: rd.host, port: rd.port, password: rd.password });
    expect(await h.get('written:after:cutover')).toBe('yes');
    h.disconnect();
  });
});
