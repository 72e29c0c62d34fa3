/**
 * Throwaway source servers for --demo: `docker run` on 127.0.0.1 random ports, labelled `ferry.demo=1`,
 * the demo's run id (`<pid>-<hex>`) and this host's name, passwords passed by env var name only — never
 * in argv. `sweepDeadDemoRuns` removes what a killed run left.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { Redis } from 'ioredis';
import { FerryError } from '../lib/core/errors.ts';
import { exec } from '../lib/util/exec.ts';
import { waitFor } from '../lib/util/wait.ts';

export const DEMO_LABEL = 'ferry.demo';
export const DEMO_RUN_LABEL = 'ferry.demo.run';
/** The host a demo run's containers belong to: a run's pid means something only there. */
export const DEMO_HOST_LABEL = 'ferry.demo.host';
/** The temp directory the run's own directory (`ferry-demo-<run>-*`) is in (TMPDIR differs between runs). */
export const DEMO_TMPDIR_LABEL = 'ferry.demo.tmpdir';

/** The labels of every container a demo run starts: the demo, the run, this host. */
export const runLabels = (run: string): string[] => ['--label', `${DEMO_RUN_LABEL}=${run}`, '--label', `${DEMO_HOST_LABEL}=${hostname()}`, '--label', `${DEMO_TMPDIR_LABEL}=${tmpdir()}`];

export interface DemoServer { readonly id: string; readonly port: number }

/**
 * Where a demo source sits besides its 127.0.0.1 port: the run's own user-defined network and the alias the
 * stack's data services (joined to that network by the demo's compose override) reach it by, to follow it.
 */
export interface DemoNet { readonly network: string; readonly alias: string }

const netArgs = (n: DemoNet | undefined): string[] => (n ? ['--network', n.network, '--network-alias', n.alias] : []);

/** The run's user-defined network (labelled like its servers, so the sweep of a dead run removes it). */
export async function createDemoNetwork(run: string): Promise<string> {
  const name = `ferry-demo-${run}-src`;
  await docker(['network', 'create', '--label', `${DEMO_LABEL}=1`, ...runLabels(run), name]);
  return name;
}

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

export async function startDemoMysql(o: { image: string; password: string; database: string; run: string; signal: AbortSignal; net?: DemoNet }): Promise<DemoServer> {
  // Row-based binary log and a server id: the prerequisites of the stack's replica following it (MySQL 8's default format is ROW already; MariaDB's is MIXED).
  const id = await docker(['run', '-d', '--label', `${DEMO_LABEL}=1`, ...runLabels(o.run), ...netArgs(o.net), '-p', '127.0.0.1::3306',
    '-e', 'MYSQL_ROOT_PASSWORD', '-e', `MYSQL_DATABASE=${o.database}`, o.image, 'mysqld', '--max-allowed-packet=256M', '--log-bin=binlog', '--binlog-format=ROW', '--server-id=1'],
  { MYSQL_ROOT_PASSWORD: o.password });
  const port = await mappedPort(id, 3306);
  await ready(`demo MySQL 127.0.0.1:${port}`, 180_000, o.signal, async () => {
    const c = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', password: o.password, database: o.database, connectTimeout: 3000 });
    await c.end();
  });
  return { id, port };
}

export async function startDemoRedis(o: { image: string; password: string; run: string; signal: AbortSignal; net?: DemoNet }): Promise<DemoServer> {
  // The password reaches redis through a 0600 config file written inside the container from the env.
  const script = 'umask 077 && printf "requirepass %s\\n" "$DEMO_REDIS_PASSWORD" > /tmp/demo.conf && unset DEMO_REDIS_PASSWORD && exec redis-server /tmp/demo.conf';
  const id = await docker(['run', '-d', '--label', `${DEMO_LABEL}=1`, ...runLabels(o.run), ...netArgs(o.net), '-p', '127.0.0.1::6379',
    '-e', 'DEMO_REDIS_PASSWORD', '--entrypoint', 'sh', o.image, '-c', script], { DEMO_REDIS_PASSWORD: o.password });
  const port = await mappedPort(id, 6379);
  await ready(`demo Redis 127.0.0.1:${port}`, 60_000, o.signal, async () => {
    const r = new Redis({ host: '127.0.0.1', port, password: o.password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => undefined);
    try { await r.connect(); await r.ping(); } finally { r.disconnect(); }
  });
  return { id, port };
}

export async function startDemoPostgres(o: { image: string; password: string; database: string; run: string; signal: AbortSignal; net?: DemoNet }): Promise<DemoServer> {
  // wal_level=logical: the stack's postgres follows it by logical replication (a restart-only setting, so set at start).
  const id = await docker(['run', '-d', '--label', `${DEMO_LABEL}=1`, ...runLabels(o.run), ...netArgs(o.net), '-p', '127.0.0.1::5432',
    '-e', 'POSTGRES_PASSWORD', '-e', `POSTGRES_DB=${o.database}`, o.image, 'postgres', '-c', 'wal_level=logical'], { POSTGRES_PASSWORD: o.password });
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

/** Remove the demo's containers (with their anonymous volumes), then the run's network (its stack must be down first). */
export async function removeDemoServers(run: string): Promise<void> {
  const ids = await demoServers(run);
  if (ids.length) await docker(['rm', '-f', '-v', ...ids]);
  const nets = (await docker(['network', 'ls', '-q', '--filter', `label=${DEMO_RUN_LABEL}=${run}`])).split('\n').filter(Boolean);
  if (nets.length) await docker(['network', 'rm', ...nets]);
}

/** What the sweep removed of one dead run. */
export interface SweptRun { readonly run: string; readonly containers: number; readonly networks: number; readonly volumes: number; readonly dirs: number }

/** A run id is `<pid>-<hex>`; its compose project is `ferry-demo-<hex>` (startDemo). */
const projectOfRun = (run: string) => `ferry-demo-${run.split('-')[1] ?? run}`;

/** True while the run's process lives on this host (a pid that cannot be signalled for lack of permission lives too). */
export function isRunAlive(run: string): boolean {
  const pid = Number(run.split('-')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return true; // not a run id ferry wrote: never swept
  if (pid === process.pid) return true;
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code !== 'ESRCH'; }
}

const lines = async (args: string[]) => (await docker(args)).split('\n').map((l) => l.trim()).filter(Boolean);

interface RunLabels { readonly host: string; readonly tmpdir: string }

/** Every demo run with a container, network or volume on this Docker engine, with the host and temp dir its labels name. */
async function labelledRuns(): Promise<Map<string, RunLabels>> {
  const format = `{{.Label "${DEMO_RUN_LABEL}"}}\t{{.Label "${DEMO_HOST_LABEL}"}}\t{{.Label "${DEMO_TMPDIR_LABEL}"}}`;
  const out = new Map<string, RunLabels>();
  for (const kind of [['ps', '-a'], ['network', 'ls'], ['volume', 'ls']]) {
    for (const l of await lines([...kind, '--filter', `label=${DEMO_RUN_LABEL}`, '--format', format])) {
      const [run = '', host = '', dir = ''] = l.split('\t');
      if (run && !(out.get(run)?.tmpdir)) out.set(run, { host, tmpdir: dir });
    }
  }
  return out;
}

/** The run's own directories (`<tmpdir>/ferry-demo-<run>-*`). */
async function runDirs(dir: string, run: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).filter((d) => d.startsWith(`ferry-demo-${run}-`)).map((d) => join(dir, d));
}

/**
 * Remove what demo runs killed before their cleanup left on this host (SIGKILL, a crash): for each run
 * whose pid is gone, its source servers (labelled `ferry.demo.run`), its compose stack's containers,
 * networks and volumes (`com.docker.compose.project=ferry-demo-<hex>`, or named after the project, as
 * the files helper names volumes) and its temp directory. A kept demo (FERRY_DEMO_KEEP=1: `keep`, the
 * pointer's run, or a run whose directory holds its `demo.json`, whatever TMPDIR it ran with) is never
 * swept; nor are live runs (a pid alive on this host) and other hosts' runs.
 */
export async function sweepDeadDemoRuns(o: { readonly keep?: string; readonly hostname: string; readonly tmpdir: string }): Promise<SweptRun[]> {
  const swept: SweptRun[] = [];
  for (const [run, labels] of await labelledRuns()) {
    if (run === o.keep || (labels.host && labels.host !== o.hostname) || isRunAlive(run)) continue;
    const dirs = await runDirs(labels.tmpdir || o.tmpdir, run);
    if ((await Promise.all(dirs.map((d) => stat(join(d, 'demo.json')).then(() => true, () => false)))).some(Boolean)) continue;
    const project = projectOfRun(run);
    const byRun = `label=${DEMO_RUN_LABEL}=${run}`;
    const byProject = `label=com.docker.compose.project=${project}`;
    const containers = [...new Set([...await lines(['ps', '-aq', '--filter', byRun]), ...await lines(['ps', '-aq', '--filter', byProject])])];
    if (containers.length) await docker(['rm', '-f', '-v', ...containers]);
    const networks = [...new Set([...await lines(['network', 'ls', '-q', '--filter', byRun]), ...await lines(['network', 'ls', '-q', '--filter', byProject])])];
    if (networks.length) await docker(['network', 'rm', ...networks]);
    const named = (await lines(['volume', 'ls', '-q'])).filter((v) => v.startsWith(`${project}_`));
    const volumes = [...new Set([...await lines(['volume', 'ls', '-q', '--filter', byRun]), ...await lines(['volume', 'ls', '-q', '--filter', byProject]), ...named])];
    if (volumes.length) await docker(['volume', 'rm', '-f', ...volumes]);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
    swept.push({ run, containers: containers.length, networks: networks.length, volumes: volumes.length, dirs: dirs.length });
  }
  return swept;
}
