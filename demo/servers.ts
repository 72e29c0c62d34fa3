/**
 * Throwaway source servers for --demo: `docker run` on 127.0.0.1 random ports, labelled `ferry.demo=1`
 * (and the demo's run id), passwords passed by env var name only — never in argv.
 */
import mysql from 'mysql2/promise';
import pg from 'pg';
import { Redis } from 'ioredis';
import { FerryError } from '../lib/core/errors.ts';
import { exec } from '../lib/util/exec.ts';
import { waitFor } from '../lib/util/wait.ts';

export const DEMO_LABEL = 'ferry.demo';
export const DEMO_RUN_LABEL = 'ferry.demo.run';

export interface DemoServer { readonly id: string; readonly port: number }

async function docker(args: string[], env: Record<string, string> = {}): Promise<string> {
  const r = await exec('docker', args, { env, all: true });
  if (r.exitCode !== 0) {
    throw new FerryError('E_DEMO_DOCKER', `docker ${args[0]} failed (${r.failure ?? `exit ${r.exitCode}`})`, { hint: 'is the Docker engine running? `docker info`', detail: r.all ?? r.stderr });
  }
  return r.stdout.trim();
}

async function mappedPort(id: string, containerPort: number): Promise<number> {
  const out = await docker(['port', id, `${containerPort}/tcp`]);
  const m = /127\.0\.0\.1:(\d+)/.exec(out);
  if (!m) throw new FerryError('E_DEMO_DOCKER', `container ${id.slice(0, 12)} publishes no 127.0.0.1 port for ${containerPort}`, { hint: 'report this as a bug' });
  return Number(m[1]);
}

const ready = (what: string, timeoutMs: number, signal: AbortSignal, probe: () => Promise<void>) =>
  waitFor(async () => { await probe(); return true; }, { what, timeoutMs, intervalMs: 1000, signal, hint: 'see `docker logs` of the demo container' });

export async function startDemoMysql(o: { image: string; password: string; database: string; run: string; signal: AbortSignal }): Promise<DemoServer> {
  const id = await docker(['run', '-d', '--label', `${DEMO_LABEL}=1`, '--label', `${DEMO_RUN_LABEL}=${o.run}`, '-p', '127.0.0.1::3306',
    '-e', 'MYSQL_ROOT_PASSWORD', '-e', `MYSQL_DATABASE=${o.database}`, o.image, 'mysqld', '--max-allowed-packet=256M', '--log-bin=binlog', '--server-id=1'],
  { MYSQL_ROOT_PASSWORD: o.password });
  const port = await mappedPort(id, 3306);
  await ready(`demo MySQL 127.0.0.1:${port}`, 180_000, o.signal, async () => {
    const c = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', password: o.password, database: o.database, connectTimeout: 3000 });
    await c.end();
  });
  return { id, port };
}

export async function startDemoRedis(o: { image: string; password: string; run: string; signal: AbortSignal }): Promise<DemoServer> {
  // The password reaches redis through a 0600 config file written inside the container from the env.
  const script = 'umask 077 && printf "requirepass %s\\n" "$DEMO_REDIS_PASSWORD" > /tmp/demo.conf && unset DEMO_REDIS_PASSWORD && exec redis-server /tmp/demo.conf';
  const id = await docker(['run', '-d', '--label', `${DEMO_LABEL}=1`, '--label', `${DEMO_RUN_LABEL}=${o.run}`, '-p', '127.0.0.1::6379',
    '-e', 'DEMO_REDIS_PASSWORD', '--entrypoint', 'sh', o.image, '-c', script], { DEMO_REDIS_PASSWORD: o.password });
  const port = await mappedPort(id, 6379);
  await ready(`demo Redis 127.0.0.1:${port}`, 60_000, o.signal, async () => {
    const r = new Redis({ host: '127.0.0.1', port, password: o.password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => undefined);
    try { await r.connect(); await r.ping(); } finally { r.disconnect(); }
  });
  return { id, port };
}

export async function startDemoPostgres(o: { image: string; password: string; database: string; run: string; signal: AbortSignal }): Promise<DemoServer> {
  const id = await docker(['run', '-d', '--label', `${DEMO_LABEL}=1`, '--label', `${DEMO_RUN_LABEL}=${o.run}`, '-p', '127.0.0.1::5432',
    '-e', 'POSTGRES_PASSWORD', '-e', `POSTGRES_DB=${o.database}`, o.image], { POSTGRES_PASSWORD: o.password });
  const port = await mappedPort(id, 5432);
  await ready(`demo PostgreSQL 127.0.0.1:${port}`, 180_000, o.signal, async () => {
    const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: o.password, database: o.database, connectionTimeoutMillis: 3000 });
    c.on('error', () => undefined);
    try { await c.connect(); await c.query('SELECT 1'); } finally { await c.end().catch(() => undefined); }
  });
  return { id, port };
}

/** The demo's containers of run `run`, running or not. */
export async function demoServers(run: string): Promise<string[]> {
  return (await docker(['ps', '-aq', '--filter', `label=${DEMO_RUN_LABEL}=${run}`])).split('\n').filter(Boolean);
}

/** Remove the demo's containers (with their anonymous volumes). */
export async function removeDemoServers(run: string): Promise<void> {
  const ids = await demoServers(run);
  if (ids.length) await docker(['rm', '-f', '-v', ...ids]);
}
