/**
 * Real servers for e2e tests, through Testcontainers' GenericContainer. Ports are published on
 * 127.0.0.1 and reached only there (never a bridge IP). Every container is labelled for the sweep.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { Redis } from 'ioredis';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { freePort } from '../../lib/util/free-port.ts';
import { testImages } from './images.ts';
import { healthAtStartOnly } from './startup-health.ts';

import { TEST_LABEL, testLabels } from './labels.ts';
export { TEST_LABEL };

/** Publish every exposed port on 127.0.0.1 only (Testcontainers' default is all interfaces). */
export function onLoopback<T extends GenericContainer>(c: T): T {
  const hc = (c as unknown as { hostConfig: { PortBindings?: Record<string, Array<Record<string, string>>> } }).hostConfig;
  for (const bindings of Object.values(hc.PortBindings ?? {})) for (const b of bindings) b.HostIp = '127.0.0.1';
  return c;
}

export interface StartedMysql {
  readonly container: StartedTestContainer;
  readonly host: string;
  readonly port: number;
  readonly rootPassword: string;
  readonly database: string;
  /** mysql://root:pw@127.0.0.1:port/db */
  readonly url: string;
  stop(): Promise<void>;
}

export interface MysqlOptions {
  readonly database?: string;
  readonly rootPassword?: string;
  /** Extra server flags (e.g. `--local-infile=1`). */
  readonly command?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** The image's health check only as the wait for its start, not every 2 s after (startup-health.ts: the benches). */
  readonly healthAtStartOnly?: boolean;
}

export async function startMysql(opts: MysqlOptions = {}): Promise<StartedMysql> {
  const rootPassword = opts.rootPassword ?? 'root-pw-for-tests';
  const database = opts.database ?? 'vedfolnir';
  const image = testImages().mysql;
  const spec = onLoopback(new GenericContainer(image)
    .withLabels(testLabels())
    .withEnvironment({ MYSQL_ROOT_PASSWORD: rootPassword, MYSQL_DATABASE: database, ...opts.env })
    .withExposedPorts(3306)
    .withCommand(['mysqld', '--max-allowed-packet=256M', ...(opts.command ?? [])])
    .withWaitStrategy(Wait.forHealthCheck())
    .withStartupTimeout(180_000));
  const container = await (opts.healthAtStartOnly ? await healthAtStartOnly(spec, image) : spec).start();
  const host = '127.0.0.1';
  const port = container.getMappedPort(3306);
  return {
    container, host, port, rootPassword, database,
    url: `mysql://root:${encodeURIComponent(rootPassword)}@${host}:${port}/${database}`,
    stop: async () => { await container.stop({ remove: true, removeVolumes: true }); },
  };
}

export interface StartedRedis {
  readonly container: StartedTestContainer;
  readonly host: string;
  readonly port: number;
  readonly password: string | undefined;
  readonly url: string;
  stop(): Promise<void>;
}

export async function startRedis(opts: { password?: string; command?: readonly string[] } = {}): Promise<StartedRedis> {
  const args = ['redis-server', ...(opts.password ? ['--requirepass', opts.password] : []), ...(opts.command ?? [])];
  const container = await onLoopback(new GenericContainer(testImages().redis)
    .withLabels(testLabels())
    .withExposedPorts(6379)
    .withCommand(args)
    .withWaitStrategy(Wait.forHealthCheck())
    .withStartupTimeout(120_000)).start();
  const host = '127.0.0.1';
  const port = container.getMappedPort(6379);
  const auth = opts.password ? `:${encodeURIComponent(opts.password)}@` : '';
  return {
    container, host, port, password: opts.password,
    url: `redis://${auth}${host}:${port}`,
    stop: async () => { await container.stop({ remove: true, removeVolumes: true }); },
  };
}

export interface RedisWithDataDir {
  readonly host: string;
  readonly port: number;
  /** redis://127.0.0.1:port (no password). */
  readonly url: string;
  /** Stop/start the container (start waits until the dataset is loaded) and its host data directory (its /data). */
  readonly service: { readonly dataDir: string; stop(): Promise<void>; start(): Promise<void> };
  remove(): Promise<void>;
}

/**
 * A Redis (appendonly no) whose /data is a host directory, stoppable and startable on a fixed loopback
 * port: the physical path places an RDB there while it is stopped. Plain `docker run`, because
 * Testcontainers removes a stopped container.
 */
export async function startRedisWithDataDir(): Promise<RedisWithDataDir> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ferry-redis-data-'));
  await chmod(dataDir, 0o777);
  const port = await freePort();
  const name = `ferry-redis-target-${process.pid}-${port}`;
  const labels = Object.entries(testLabels()).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  await execa('docker', ['run', '-d', '--name', name, ...labels, '-p', `127.0.0.1:${port}:6379`, '-v', `${dataDir}:/data`,
    testImages().redis, 'redis-server', '--appendonly', 'no']);
  const waitUp = async () => {
    for (let i = 0; i < 1200; i++) { // up to 2 minutes: a busy machine's start and dataset load
      const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      r.on('error', () => undefined);
      try {
        await r.connect();
        if (!(await r.info('persistence')).includes('loading:1')) return;
      } catch { /* starting */ } finally { r.disconnect(); }
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error(`${name} did not come up on 127.0.0.1:${port} within 2 minutes`);
  };
  await waitUp();
  return {
    host: '127.0.0.1', port, url: `redis://127.0.0.1:${port}`,
    service: {
      dataDir,
      stop: async () => { await execa('docker', ['stop', '-t', '10', name]); },
      start: async () => { await execa('docker', ['start', name]); await waitUp(); },
    },
    remove: async () => { await execa('docker', ['rm', '-f', '-v', name]).catch(() => undefined); await rm(dataDir, { recursive: true, force: true }); },
  };
}

