/**
 * The stack's data services from compose/ (a scratch copy) with the test bed's stand-in images, under
 * every Compose installed here: prepare → data up with migration access → stop/start → cutover → undo,
 * and data surviving every recreate and down.
 */
import { cp, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { freePort } from '../../lib/util/free-port.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, type Config } from '../../lib/config/schema.ts';
import { silentLogger } from '../../lib/core/logger.ts';
import { noProgress } from '../../lib/core/progress.ts';
import type { StepOutputs, StepParams } from '../../lib/core/step.ts';
import { Redactor } from '../../lib/util/redact.ts';
import type { FerryContext } from '../../lib/steps/context.ts';
import {
  availableComposes, composeServiceControl, prepareLayout, LOWER_CASE_CNF, secretPath, containerAccess, createComposeClient, createStackClient, targetEndpoints, waitHealthy,
  type ComposeCli,
} from '../../lib/compose/index.ts';
import { serviceHealth } from '../../lib/compose/health.ts';
import { projectSnapshot, snapshotProbe } from '../../lib/compose/snapshot.ts';
import prepare from '../../lib/steps/compose-prepare.ts';
import dataUp from '../../lib/steps/compose-data-up.ts';
import cutover from '../../lib/steps/compose-cutover.ts';
import { testImages } from '../support/images.ts';
import { testLabels } from '../support/labels.ts';
import { startMysql, type StartedMysql } from '../support/containers.ts';

const COMPOSE_SRC = fileURLToPath(new URL('../../compose/', import.meta.url));
const clis = await availableComposes();


/** A scratch copy of compose/, the stand-in images, and labels so the suite's sweep finds the containers. */
async function scratchStack(cli: ComposeCli) {
  const dir = await mkdtemp(join(tmpdir(), `ferry-compose-${cli.kind}-`));
  await cp(COMPOSE_SRC, dir, { recursive: true, filter: (src) => !/\/(data|secrets|storage|logs|backups|ssl)(\/|$)/.test(src.slice(COMPOSE_SRC.length - 1)) });
  const labels = testLabels();
  await writeFile(join(dir, 'docker-compose.labels.yml'), JSON.stringify({ services: { mysql: { labels }, redis: { labels } } }));
  const images = testImages();
  process.env.MYSQL_IMAGE = images.mysql;
  process.env.REDIS_IMAGE = images.redis;
  return dir;
}

describe.each(clis.map((cli) => [cli.kind, cli] as const))('compose stack under %s', { timeout: 600_000 }, (_kind, cli) => {
  let dir: string;
  let config: Config;
  let ctx: FerryContext;
  const project = `ferry-e2e-${cli.kind}-${process.pid}`;
  const outputs = new Map<string, StepOutputs>();
  const params = (id: string): StepParams<Config, FerryContext> => ({
    config, ctx, signal: new AbortController().signal, log: silentLogger, progress: noProgress,
    previous: outputs.get(id), outputs, stateDir: join(dir, '.ferry', id),
  });

  beforeAll(async () => {
    dir = await scratchStack(cli);
    const ports = { mysql: await freePort(), redis: await freePort() };
    config = { ...configSchema.parse({
      source: {}, app: { envFile: join(dir, '.env.docker') },
      target: { composeDir: dir, project, files: ['docker-compose.test.yml', 'docker-compose.labels.yml'], migrationPorts: ports },
    }), stateDir: join(dir, '.ferry') };
    ctx = {
      mode: 'rehearse', redactor: new Redactor(), source: {}, target: {}, services: {}, artifactsDir: join(dir, '.ferry', 'artifacts'),
      project, composeDir: dir, appDir: dir,
    };
  });

  afterAll(async () => {
    if (!dir) return;
    const c = await createComposeClient({ composeDir: dir, project, cli, files: ['docker-compose.yml', 'docker-compose.test.yml'] });
    await c.down({ removeVolumes: true }).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('prepares the host layout and generates only absent secrets', async () => {
    await writeFile(join(dir, 'secrets-placeholder'), '');
    const before = await prepare.check!(params('compose-prepare'));
    expect(before.done).toBe(false);
    const out = (await prepare.run(params('compose-prepare')))!;
    outputs.set('compose-prepare', out);
    expect(out.data?.createdSecrets).toEqual(['mysql_root_password', 'mysql_password', 'redis_password', 'grafana_admin_password']);
    expect((await stat(join(dir, 'secrets'))).mode & 0o777).toBe(0o700);
    const rootPw = await readFile(secretPath(dir, 'mysql_root_password'), 'utf8');
    expect(rootPw).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const again = (await prepare.run(params('compose-prepare')))!;
    expect(again.data?.createdSecrets).toEqual([]);
    expect(await readFile(secretPath(dir, 'mysql_root_password'), 'utf8')).toBe(rootPw);
    expect((await prepare.verify!(params('compose-prepare'))).findings).toEqual([]);
    expect((await prepare.check!(params('compose-prepare'))).done).toBe(true);
  });

  it('brings mysql and redis up healthy on 127.0.0.1 migration ports with the import settings', async () => {
    const out = (await dataUp.run(params('compose-data-up')))!;
    outputs.set('compose-data-up', out);
    expect((await dataUp.verify!(params('compose-data-up'))).findings).toEqual([]);
    expect((await dataUp.check!(params('compose-data-up'))).done).toBe(true);

    const c = await createStackClient({ composeDir: dir, project, files: config.target.files, migrationAccess: true });
    const ids = [...await c.containerIds('mysql'), ...await c.containerIds('redis')];
    const fingerprint = await dataUp.fingerprint!(params('compose-data-up'));
    await dataUp.run(params('compose-data-up'));
    expect([...await c.containerIds('mysql'), ...await c.containerIds('redis')]).toEqual(ids);
    expect(await dataUp.fingerprint!(params('compose-data-up'))).toBe(fingerprint);
    const access = await containerAccess(c, ['mysql', 'redis']);
    expect(access.map((a) => [a.service, a.published, a.migrationAccess])).toEqual([
      ['mysql', [`127.0.0.1:${config.target.migrationPorts.mysql}`], true],
      ['redis', [`127.0.0.1:${config.target.migrationPorts.redis}`], true],
    ]);
    // One snapshot of the project (compose-cutover's read inside the freeze) says what the per-service reads say.
    const snap = await projectSnapshot(project);
    expect(snap.access(['mysql', 'redis'])).toEqual(access);
    for (const s of ['mysql', 'redis']) expect(snap.health(s)).toBe(await serviceHealth(c, s));
    expect(snap.health('mysql')).toBe('healthy');
    expect(snap.health('no-such-service')).toBe('missing');

    const ep = await targetEndpoints(dir, config, ['vedfolnir']);
    const conn = await mysql.createConnection({ host: ep.mysql.host, port: ep.mysql.port, user: ep.mysql.user, password: ep.mysql.password });
    const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT @@local_infile AS li, @@character_set_server AS cs');
    expect(rows[0]).toEqual({ li: 1, cs: 'utf8mb4' });
    await conn.query('CREATE TABLE vedfolnir.survivor (id INT PRIMARY KEY, name VARCHAR(20)) CHARSET utf8mb4');
    await conn.query("INSERT INTO vedfolnir.survivor VALUES (1, 'ærøskøbing ✓')");
    await conn.end();

    const redis = new Redis({ host: ep.redis.host, port: ep.redis.port, password: ep.redis.password, lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    await redis.set('session:survivor', 'kept', 'EX', 3600);
    expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    expect(await redis.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'volatile-lru']);
    redis.disconnect();
  });

  it('executes in a service with streamed stdin, the password only in env', async () => {
    const c = await createStackClient({ composeDir: dir, project, files: config.target.files, migrationAccess: true });
    const password = await readFile(secretPath(dir, 'redis_password'), 'utf8');
    const r = await c.exec('redis', ['redis-cli', '--no-auth-warning'], {
      env: { REDISCLI_AUTH: password }, stdin: Readable.from(['SET streamed:a 1\n', 'INCR streamed:a\n', 'GET session:survivor\n']),
    });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['OK', '2', 'kept']);
  });

  it('stops and starts a service through ServiceControl, data dir on the host', async () => {
    const c = await createStackClient({ composeDir: dir, project, files: config.target.files, migrationAccess: true });
    const control = composeServiceControl(c, 'redis', { timeoutMs: 60_000 });
    expect(control.dataDir).toBe(join(dir, 'data', 'redis'));
    await control.stop();
    expect(await readdir(control.dataDir)).toContain('appendonlydir');
    await control.start();
    const ep = await targetEndpoints(dir, config);
    const redis = new Redis({ host: ep.redis.host, port: ep.redis.port, password: ep.redis.password, lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    expect(await redis.get('session:survivor')).toBe('kept');
    redis.disconnect();
  });

  it('cutover removes migration access and restores the settings, data kept', async () => {
    const out = (await cutover.run(params('compose-cutover')))!;
    outputs.set('compose-cutover', out);
    expect((out.data?.restored as Record<string, unknown>).mysql).toMatchObject({ local_infile: '0', character_set_server: 'utf8mb4', lower_case_table_names: '0' });
    expect((await cutover.verify!(params('compose-cutover'))).findings).toEqual([]);
    expect((await cutover.check!(params('compose-cutover'))).done).toBe(true);
    const c = await createStackClient({ composeDir: dir, project, files: config.target.files, migrationAccess: false });
    expect((await containerAccess(c, ['mysql', 'redis'])).every((a) => a.published.length === 0 && !a.migrationAccess)).toBe(true);
    expect((await projectSnapshot(project)).access(['mysql', 'redis'])).toEqual([
      { service: 'mysql', published: [], migrationAccess: false }, { service: 'redis', published: [], migrationAccess: false }]);
    const pw = await readFile(secretPath(dir, 'mysql_root_password'), 'utf8');
    const r = await c.exec('mysql', ['mysql', '-uroot', '-N', '-B', '-e', 'SELECT name FROM vedfolnir.survivor'], { env: { MYSQL_PWD: pw } });
    expect(r.stdout.trim()).toBe('ærøskøbing ✓');
  });

  it('undo of data-up downs the stack without losing the data dirs, and up again finds the data', async () => {
    await dataUp.undo!(params('compose-data-up'));
    await dataUp.undo!(params('compose-data-up'));
    const c = await createStackClient({ composeDir: dir, project, files: config.target.files, migrationAccess: false });
    expect(await c.containerIds('mysql')).toEqual([]);
    expect(await readdir(join(dir, 'data', 'mysql'))).toContain('vedfolnir');
    await c.up(['mysql']);
    await waitHealthy(c, ['mysql'], { timeoutMs: 120_000 });
    const pw = await readFile(secretPath(dir, 'mysql_root_password'), 'utf8');
    const r = await c.exec('mysql', ['mysql', '-uroot', '-N', '-B', '-e', 'SELECT COUNT(*) FROM vedfolnir.survivor'], { env: { MYSQL_PWD: pw } });
    expect(r.stdout.trim()).toBe('1');
    await c.down();
  });

  it('a service that cannot start fails the wait with its last log lines', async () => {
    await writeFile(join(dir, 'docker-compose.broken.yml'), JSON.stringify({ services: { redis: { entrypoint: ['docker-entrypoint.sh'], command: ['redis-server', '--no-such-option', 'x'] } } }));
    const c = await createComposeClient({ composeDir: dir, project: `${project}-broken`, cli,
      files: ['docker-compose.yml', 'docker-compose.test.yml', 'docker-compose.labels.yml', 'docker-compose.broken.yml'] });
    await prepareLayout(dir);
    try {
      await c.up(['redis']);
      const err = await waitHealthy(c, ['redis'], { timeoutMs: 60_000 }).then(() => undefined, (e: unknown) => e);
      expect(err).toMatchObject({ code: 'E_COMPOSE_UNHEALTHY' });
      expect((err as { detail: string }).detail).toMatch(/no-such-option|Bad directive|FATAL/i);
      // Read from one snapshot of the project per round: the same failure.
      const viaSnapshot = await waitHealthy(c, ['redis'], { timeoutMs: 60_000, probeAll: snapshotProbe(c.project) }).then(() => undefined, (e: unknown) => e);
      expect(viaSnapshot).toMatchObject({ code: 'E_COMPOSE_UNHEALTHY', message: (err as Error).message });
    } finally {
      await c.down();
    }
  });
});

describe('import settings matched to a source with lower_case_table_names=1 and latin1', { timeout: 600_000 }, () => {
  const cli = clis[0]!;
  const project = `ferry-e2e-lc-${process.pid}`;
  let dir: string;
  let source: StartedMysql;
  let config: Config;
  let ctx: FerryContext;
  let outputs = new Map<string, StepOutputs>();
  const params = (id: string): StepParams<Config, FerryContext> => ({
    config, ctx, signal: new AbortController().signal, log: silentLogger, progress: noProgress,
    previous: outputs.get(id), outputs, stateDir: join(dir, '.ferry', id),
  });

  beforeAll(async () => {
    [dir, source] = await Promise.all([scratchStack(cli), startMysql({
      command: ['--lower-case-table-names=1', '--character-set-server=latin1', '--collation-server=latin1_swedish_ci'],
    })]);
    config = { ...configSchema.parse({
      source: {}, app: { envFile: join(dir, '.env.docker') },
      target: { composeDir: dir, project, files: ['docker-compose.test.yml', 'docker-compose.labels.yml'], migrationPorts: { mysql: await freePort(), redis: await freePort() } },
    }), stateDir: join(dir, '.ferry') };
    ctx = {
      mode: 'rehearse', redactor: new Redactor().add(source.rootPassword), artifactsDir: join(dir, '.ferry', 'artifacts'), project, composeDir: dir, appDir: dir,
      source: { mysql: { host: source.host, port: source.port, user: 'root', password: source.rootPassword, databases: [source.database] } },
      target: {}, services: {},
    };
    await prepare.run(params('compose-prepare'));
  });

  afterAll(async () => {
    await source?.stop();
    if (!dir) return;
    const c = await createComposeClient({ composeDir: dir, project, cli, files: ['docker-compose.yml', 'docker-compose.test.yml'] });
    await c.down({ removeVolumes: true }).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('applies them for the import, restores what can be restored at cutover, keeps lower_case_table_names', async () => {
    const up = (await dataUp.run(params('compose-data-up')))!;
    outputs.set('compose-data-up', up);
    expect(up.data).toMatchObject({ lowerCaseTableNames: 1, wroteLowerCaseCnf: true, access: { mysql: { localInfile: true, characterSet: 'latin1', collation: 'latin1_swedish_ci' } } });
    expect((up.data!.settings as Array<{ name: string }>).map((x) => x.name)).toEqual(['local_infile', 'character_set_server', 'lower_case_table_names', 'published ports']);
    expect((await dataUp.verify!(params('compose-data-up'))).findings).toEqual([]);
    expect(await readFile(join(dir, LOWER_CASE_CNF), 'utf8')).toMatch(/lower_case_table_names = 1/);

    const cut = (await cutover.run(params('compose-cutover')))!;
    expect((cut.data?.restored as Record<string, unknown>).mysql).toEqual({ local_infile: '0', character_set_server: 'utf8mb4', lower_case_table_names: '1' });
    await dataUp.undo!(params('compose-data-up'));
    expect(await readFile(join(dir, LOWER_CASE_CNF), 'utf8')).toMatch(/= 1/);
  });

  it('refuses a source needing another value once data/mysql is initialised, saying why', async () => {
    outputs = new Map();
    ctx = { ...ctx, source: {} };
    const err = await dataUp.run(params('compose-data-up')).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_LOWER_CASE_TABLE_NAMES', hint: expect.stringMatching(/initialised/) });
    expect((err as Error).message).toMatch(/lower_case_table_names=1, the source needs 0/);
    await dataUp.undo!(params('compose-data-up'));
  });
});

it('finds at least one Compose', () => {
  expect(clis.length).toBeGreaterThan(0);
});
