import { afterAll, describe, expect, it } from 'vitest';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import mysql from 'mysql2/promise';
import { testImages } from '../support/images.ts';
import { onLoopback } from '../support/containers.ts';
import { testLabels } from '../support/labels.ts';

/**
 * The test bed's images honour the official images' environment contract (MYSQL_* / POSTGRES_*,
 * /docker-entrypoint-initdb.d), so compose files and tests written for the official images run
 * unchanged on the stand-ins.
 */
describe('server images honour the official env contract', { timeout: 300_000 }, () => {
  const started: StartedTestContainer[] = [];
  afterAll(async () => { await Promise.all(started.map((c) => c.stop({ remove: true, removeVolumes: true }))); });

  it('mysql: MYSQL_DATABASE, MYSQL_USER/PASSWORD, *_FILE and initdb.d scripts', async () => {
    const c = await onLoopback(new GenericContainer(testImages().mysql)
      .withLabels(testLabels())
      .withEnvironment({ MYSQL_ROOT_PASSWORD_FILE: '/run/secrets/root', MYSQL_DATABASE: 'app', MYSQL_USER: 'appuser', MYSQL_PASSWORD: "it's-secret" })
      .withCopyContentToContainer([
        { content: 'r00t-from-file', target: '/run/secrets/root' },
        { content: "CREATE TABLE seeded (id INT PRIMARY KEY, note VARCHAR(20)); INSERT INTO seeded VALUES (1, 'from initdb');", target: '/docker-entrypoint-initdb.d/01-seed.sql' },
      ])
      .withExposedPorts(3306)
      .withWaitStrategy(Wait.forHealthCheck())
      .withStartupTimeout(180_000)).start();
    started.push(c);
    const app = await mysql.createConnection({ host: '127.0.0.1', port: c.getMappedPort(3306), user: 'appuser', password: "it's-secret", database: 'app' });
    const [rows] = await app.query('SELECT note FROM seeded');
    expect(rows).toEqual([{ note: 'from initdb' }]);
    await app.end();
    const root = await mysql.createConnection({ host: '127.0.0.1', port: c.getMappedPort(3306), user: 'root', password: 'r00t-from-file' });
    const [dbs] = await root.query("SHOW DATABASES LIKE 'app'");
    expect((dbs as unknown[]).length).toBe(1);
    await root.end();
  });

  it('postgres: POSTGRES_PASSWORD/USER/DB and initdb.d scripts', async () => {
    const c = await onLoopback(new GenericContainer(testImages().postgres)
      .withLabels(testLabels())
      .withEnvironment({ POSTGRES_PASSWORD: 'pg-secret', POSTGRES_USER: 'vedfolnir', POSTGRES_DB: 'vedfolnir' })
      .withCopyContentToContainer([{ content: "CREATE TABLE seeded (id int primary key, note text); INSERT INTO seeded VALUES (1, 'ünïcode ✓');", target: '/docker-entrypoint-initdb.d/01.sql' }])
      .withExposedPorts(5432)
      .withWaitStrategy(Wait.forHealthCheck())
      .withStartupTimeout(180_000)).start();
    started.push(c);
    // Over TCP with password auth, inside the container (no pg client library in ferry yet).
    const r = await c.exec(['psql', '-h', '127.0.0.1', '-U', 'vedfolnir', '-d', 'vedfolnir', '-tAc', 'SELECT note FROM seeded'], { env: { PGPASSWORD: 'pg-secret' } });
    expect(r.exitCode).toBe(0);
    expect(r.output.trim()).toBe('ünïcode ✓');
    // As the official image: in-container loopback is trusted by initdb, every other host needs the password.
    const hba = await c.exec(['sh', '-c', 'grep -v "^#" "$PGDATA/pg_hba.conf" | grep -v "^$" | tail -n 1']);
    expect(hba.output.trim()).toBe('host all all all scram-sha-256');
  });

  it('redis: flags pass through to redis-server and data lives in /data', async () => {
    const c = await onLoopback(new GenericContainer(testImages().redis)
      .withLabels(testLabels())
      .withCommand(['--requirepass', 'rd-secret', '--appendonly', 'yes'])
      .withExposedPorts(6379)
      .withWaitStrategy(Wait.forHealthCheck())
      .withStartupTimeout(120_000)).start();
    started.push(c);
    const r = await c.exec(['sh', '-c', 'REDISCLI_AUTH=rd-secret redis-cli CONFIG GET dir && REDISCLI_AUTH=rd-secret redis-cli CONFIG GET appendonly']);
    expect(r.output).toContain('/data');
    expect(r.output).toContain('yes');
    const noauth = await c.exec(['redis-cli', 'SET', 'k', 'v']);
    expect(noauth.output).toContain('NOAUTH');
  });
});
