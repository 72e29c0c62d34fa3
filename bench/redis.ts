/**
 * Redis bench: `npm run bench -- --engine redis --scale N --json`. Scale N ≈ N × 10,000 keys of the
 * deterministic Vedfolnir-like data (fixtures/redis/seed.ts), seeded once into a source container; each
 * tool copies it into a fresh target container and is then verified key by key (not timed):
 *   ferry          ferry's automatic path (here physical: RDB over replication, placed, started)
 *   ferry-logical  ferry forced to DUMP/RESTORE ABSTTL
 *   rdb-copy       BGSAVE, `docker cp` out and into the target's data dir, start, wait for load
 *   migrate        Redis's own `MIGRATE … COPY REPLACE KEYS` in batches of 1000, issued on the source
 * Containers publish on 127.0.0.1 only and share one user-defined network, so MIGRATE reaches the target
 * by container name. Every tool runs in a child process (peak RSS = the child's maxRSS), started with
 * `--max-semi-space-size=8` (FERRY_BENCH_SEMI_SPACE_MB=N overrides, `default` drops the flag).
 */
import { execa } from 'execa';
import { Redis } from 'ioredis';
import { mkdtemp, rm, chmod, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../lib/util/free-port.ts';
import type { EngineBench } from './types.ts';
import type { RedisEndpoint, ServiceControl } from '../lib/steps/context.ts';
import { fetchRdb, importRedis, verifyCopy } from '../lib/engines/redis/index.ts';
import { seedVedfolnirRedis } from '../fixtures/redis/seed.ts';

const IMAGE = process.env.FERRY_BENCH_REDIS_IMAGE ?? (await import('../test/support/images.ts')).testImages().redis;
const TOOLS = ['ferry', 'ferry-logical', 'rdb-copy', 'migrate'] as const;
const LABEL = ['--label', 'ferry.bench=redis'];

interface Server { name: string; endpoint: RedisEndpoint; dataDir: string }
interface ChildJob { tool: string; source: Server; target: Server; work: string }
interface ChildResult { seconds: number; peakRssMb: number; detail: string }

async function waitReady(ep: RedisEndpoint, budgetMs = 120_000): Promise<void> {
  const end = Date.now() + budgetMs;
  for (;;) {
    try {
      const r = new Redis({ ...ep, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      r.on('error', () => undefined);
      await r.connect();
      const loading = (await r.info('persistence')).includes('loading:1');
      r.disconnect();
      if (!loading) return;
    } catch { /* not yet */ }
    if (Date.now() > end) throw new Error(`redis on ${ep.host}:${ep.port} not ready after ${budgetMs} ms`);
    await new Promise((res) => setTimeout(res, 50));
  }
}


async function startServer(name: string, network: string): Promise<Server> {
  const dataDir = await mkdtemp(join(tmpdir(), `${name}-`));
  await chmod(dataDir, 0o777);
  // A fixed loopback port, so a stop/start (physical placement) keeps it.
  const port = await freePort();
  await execa('docker', ['run', '-d', '--no-healthcheck', '--name', name, ...LABEL, '--network', network, '-p', `127.0.0.1:${port}:6379`, '-v', `${dataDir}:/data`,
    IMAGE, 'redis-server', '--appendonly', 'no', '--save', '']);
  const endpoint = { host: '127.0.0.1', port, databases: [] };
  await waitReady(endpoint);
  return { name, endpoint, dataDir };
}

async function removeServer(s: Server): Promise<void> {
  await execa('docker', ['rm', '-f', '-v', s.name]).catch(() => undefined);
  await rm(s.dataDir, { recursive: true, force: true });
}

function serviceOf(s: Server): ServiceControl {
  return {
    dataDir: s.dataDir,
    stop: async () => { await execa('docker', ['stop', '-t', '30', s.name]); },
    start: async () => { await execa('docker', ['start', s.name]); await waitReady(s.endpoint); },
  };
}

/** The work of one tool, in the child process. */
async function runTool(job: ChildJob): Promise<string> {
  const { source, target } = job;
  if (job.tool === 'ferry') {
    const t0 = performance.now();
    const rdb = await fetchRdb(source.endpoint, join(job.work, 'source.rdb'));
    const t1 = performance.now();
    const r = await importRedis({ source: source.endpoint, target: target.endpoint, path: 'auto', replace: false, service: serviceOf(target), rdbPath: rdb.path, stateFile: join(job.work, 'state.json') });
    return `${r.decision.path}: ${r.keys} keys; RDB fetch ${((t1 - t0) / 1000).toFixed(1)} s, place+load ${((performance.now() - t1) / 1000).toFixed(1)} s`;
  }
  if (job.tool === 'ferry-logical') {
    const r = await importRedis({ source: source.endpoint, target: target.endpoint, path: 'dump', replace: false, stateFile: join(job.work, 'state.json') });
    return `${r.decision.path}: ${r.keys} keys, ${r.expired} expired`;
  }
  const src = new Redis(source.endpoint);
  try {
    if (job.tool === 'rdb-copy') {
      const before = await src.lastsave();
      await src.bgsave();
      while ((await src.lastsave()) === before || (await src.info('persistence')).includes('rdb_bgsave_in_progress:1')) await new Promise((res) => setTimeout(res, 20));
      await execa('docker', ['stop', '-t', '30', target.name]);
      await execa('docker', ['cp', `${source.name}:/data/dump.rdb`, join(job.work, 'dump.rdb')]);
      await execa('docker', ['cp', join(job.work, 'dump.rdb'), `${target.name}:/data/dump.rdb`]);
      await execa('docker', ['start', target.name]);
      await waitReady(target.endpoint);
      return `rdb ${(await stat(join(job.work, 'dump.rdb'))).size} bytes`;
    }
    // migrate: SCAN batches of 1000 keys, MIGRATE … COPY REPLACE KEYS to the target by container name.
    let n = 0;
    const dbs = Object.keys(Object.fromEntries((await src.info('keyspace')).split('\n').filter((l) => l.startsWith('db')).map((l) => [l.slice(2, l.indexOf(':')), 1]))).map(Number);
    for (const db of dbs) {
      await src.select(db);
      let cursor = '0';
      do {
        const [next, keys] = (await src.callBuffer('SCAN', cursor, 'COUNT', '1000')) as [Buffer, Buffer[]];
        cursor = next.toString();
        if (keys.length) { await src.callBuffer('MIGRATE', target.name, '6379', '', String(db), '5000', 'COPY', 'REPLACE', 'KEYS', ...keys); n += keys.length; }
      } while (cursor !== '0');
    }
    return `${n} keys`;
  } finally { src.disconnect(); }
}

if (process.env.FERRY_BENCH_CHILD) {
  const job = JSON.parse(process.env.FERRY_BENCH_CHILD) as ChildJob;
  const t0 = performance.now();
  const detail = await runTool(job);
  const out: ChildResult = { seconds: (performance.now() - t0) / 1000, peakRssMb: process.resourceUsage().maxRSS / 1024, detail };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
}

export default (async (opts, emit) => {
  const tag = `${process.pid}`;
  const network = `ferry-bench-redis-${tag}`;
  await execa('docker', ['network', 'create', ...LABEL, network]);
  const source = await startServer(`ferry-bench-redis-src-${tag}`, network);
  const work = await mkdtemp(join(tmpdir(), 'ferry-bench-redis-'));
  try {
    const src = new Redis(source.endpoint);
    const seeded = await seedVedfolnirRedis(src, { scale: opts.scale });
    await new Promise((res) => setTimeout(res, 1500)); // let the sub-second TTLs lapse: every tool sees the same data
    const keys = [...(await src.info('keyspace')).matchAll(/keys=(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
    src.disconnect();
    const bytes = (await fetchRdb(source.endpoint, join(work, 'size.rdb'))).bytes;
    process.stderr.write(`redis bench: ${seeded.keys} keys seeded, ${keys} live, RDB ${bytes} bytes\n`);
    for (let rep = 0; rep < opts.repeat; rep++) {
      for (const tool of TOOLS.filter((t) => !opts.tools || opts.tools.includes(t))) {
        const target = await startServer(`ferry-bench-redis-tgt-${tag}-${tool}`, network);
        const dir = await mkdtemp(join(work, `${tool}-`));
        try {
          const job: ChildJob = { tool, source, target, work: dir };
          const node = fileURLToPath(new URL('../node_modules/.bin/node', import.meta.url));
          // A young generation capped at 8 MB: V8's default (sized from the machine's memory) lets the
          // heap reach ~150 MB of mostly garbage under a high allocation rate; same flag for every tool.
          const semi = process.env.FERRY_BENCH_SEMI_SPACE_MB ?? '8';
          const flags = semi === 'default' ? [] : [`--max-semi-space-size=${semi}`];
          const child = await execa(node, [...flags, fileURLToPath(import.meta.url)], { env: { FERRY_BENCH_CHILD: JSON.stringify(job) } });
          const r = JSON.parse(child.stdout.trim().split('\n').pop()!) as ChildResult;
          const v = await verifyCopy({ source: source.endpoint, target: target.endpoint, ttlToleranceMs: 2000 });
          if (!v.ok) process.stderr.write(`${tool}: verify failed:\n  ${v.findings.slice(0, 5).join('\n  ')}\n`);
          emit({ engine: 'redis', tool, phase: 'copy', keys, bytes, seconds: Number(r.seconds.toFixed(3)), peakRssMb: Math.round(r.peakRssMb), verified: v.ok, detail: r.detail });
        } finally {
          await removeServer(target);
        }
      }
    }
  } finally {
    await removeServer(source);
    await execa('docker', ['network', 'rm', network]).catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}) satisfies EngineBench;
