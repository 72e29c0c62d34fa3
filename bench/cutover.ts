/**
 * Cutover bench: `npm run bench -- --engine cutover --scale N --json`. The Vedfolnir shape (fixtures/
 * mysql at scale N → ≈ 4,000 × N rows; fixtures/redis at scale N / 5 → ≈ 2,000 × N keys; so N = 500 is
 * ≈ 2M rows + 1M keys) on MySQL (ROW binlog) and Redis source containers on a network of the bench's own,
 * migrated by the migrate playbook (a child process, as the operator runs it) with `cutover.mode: auto`
 * and each store's `followFrom` naming its source on that network, while a writer inserts, updates and
 * deletes rows and sets keys from the end of the imports until the writers are stopped. Measured: the
 * report's downtime (freeze → the stack answering) and each of its parts, the whole migrate, and the
 * migrate process tree's peak RSS; `verified` is the verify playbook's exit 0 afterwards.
 * Before each migrate, as an operator would, `rehearse` runs against the same live sources (the writer
 * writing throughout: the app is live during a rehearsal) and migrate predicts from it: `predicted` is
 * the report's calibrated prediction, `ratio` predicted / measured (`FERRY_BENCH_NO_REHEARSE=1` skips it).
 */
import { execa } from 'execa';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import type { BenchOptions, EngineBench, Measurement } from './types.ts';
import { sampleRss } from './rss.ts';

process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
const { GenericContainer, Network, Wait } = await import('testcontainers');
const { onLoopback } = await import('../test/support/containers.ts');
const { testImages } = await import('../test/support/images.ts');
const { healthAtStartOnly } = await import('../test/support/startup-health.ts');
const { createSandbox, followOnNetwork } = await import('../test/support/sandbox.ts');
const { seedVedfolnirMysql } = await import('../fixtures/mysql/seed.ts');
const { seedVedfolnirRedis } = await import('../fixtures/redis/seed.ts');

const ROOT_PW = 'bench-cutover-root';
const REDIS_PW = 'bench-cutover-redis';
const DB = 'vedfolnir';
const REPO = fileURLToPath(new URL('../', import.meta.url));
const NODE = join(REPO, 'node_modules', '.bin', 'node');
const LABELS = { 'ferry.bench': 'cutover' };
const round = (x: number) => Math.round(x * 100) / 100;

interface Acked { rows: number; keys: number }

/** The app on the host: inserts, updates, deletes and sets keys until `stop()`; a write refused by the freeze ends it. */
function startWriter(myPort: number, rdPort: number, tag = 'live'): { stop: () => Promise<Acked> } {
  let stopped = false;
  const acked: Acked = { rows: 0, keys: 0 };
  const run = (async () => {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: myPort, user: 'writer', password: 'writer-pw', database: DB });
    const r = new Redis({ host: '127.0.0.1', port: rdPort, password: REDIS_PW, lazyConnect: true });
    r.on('error', () => undefined);
    await r.connect();
    try {
      for (let i = 1; i <= 1_000_000 && !stopped; i++) {
        const id = tag === 'live' ? i : 2_000_000 + i; // the rehearsal's writes keep clear of migrate's ids
        await c.query('INSERT INTO bench_live (id, v) VALUES (?, ?)', [id, `v${i}`]);
        if (i % 3 === 0) await c.query('UPDATE bench_live SET v = ? WHERE id = ?', [`u${i}`, id - 1]);
        if (i % 5 === 0) await c.query('DELETE FROM bench_live WHERE id = ?', [id - 2]);
        acked.rows++;
        await r.set(`bench:${tag}:${i}`, `v${i}`); acked.keys++;
        await new Promise((ok) => setTimeout(ok, 10));
      }
    } catch (e) {
      if (!stopped) throw e;
    } finally { await c.end().catch(() => undefined); r.disconnect(); }
  })();
  const failed = run.then(() => undefined, (e: unknown) => e);
  return { stop: async () => { stopped = true; const e = await failed; if (e) throw e; return acked; } };
}

export default (async (opts: BenchOptions, emit: (m: Measurement) => void) => {
  const network = await new Network().start();
  const [srcMy, srcRd] = await Promise.all([
    // The sources stand for a host's services: their images' health checks only as the wait for the start (startup-health.ts).
    healthAtStartOnly(onLoopback(new GenericContainer(testImages().mysql).withLabels(LABELS).withNetwork(network).withNetworkAliases('bench-src-mysql')
      .withEnvironment({ MYSQL_ROOT_PASSWORD: ROOT_PW, MYSQL_DATABASE: DB }).withExposedPorts(3306)
      .withCommand(['mysqld', '--max-allowed-packet=256M', '--log-bin=mysql-bin', '--binlog-format=ROW', '--server-id=1'])
      .withWaitStrategy(Wait.forHealthCheck()).withStartupTimeout(180_000)), testImages().mysql).then((c) => c.start()),
    healthAtStartOnly(onLoopback(new GenericContainer(testImages().redis).withLabels(LABELS).withNetwork(network).withNetworkAliases('bench-src-redis')
      .withExposedPorts(6379).withCommand(['redis-server', '--requirepass', REDIS_PW, '--save', ''])
      .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))), testImages().redis).then((c) => c.start()),
  ]);
  const myPort = srcMy.getMappedPort(3306), rdPort = srcRd.getMappedPort(6379);
  try {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: myPort, user: 'root', password: ROOT_PW, database: DB, charset: 'utf8mb4', multipleStatements: true });
    const t0 = performance.now();
    const seeded = await seedVedfolnirMysql(c, { scale: opts.scale, tricky: false });
    await c.query(`CREATE USER IF NOT EXISTS 'vedfolnir'@'%' IDENTIFIED BY 'p@ss'`);
    await c.query(`GRANT ALL ON ${DB}.* TO 'vedfolnir'@'%'`);
    await c.query(`CREATE USER IF NOT EXISTS 'writer'@'%' IDENTIFIED BY 'writer-pw'`);
    await c.query(`GRANT ALL ON ${DB}.* TO 'writer'@'%'`);
    await c.query('CREATE TABLE IF NOT EXISTS bench_live (id INT PRIMARY KEY, v VARCHAR(64) NOT NULL)');
    await c.end();
    const r = new Redis({ host: '127.0.0.1', port: rdPort, password: REDIS_PW });
    const keys = (await seedVedfolnirRedis(r, { scale: opts.scale / 5, big: false })).keys;
    r.disconnect();
    console.error(`bench cutover: seeded ${seeded.rows} rows and ${keys} keys in ${round((performance.now() - t0) / 1000)} s`);

    for (let rep = 0; rep < opts.repeat; rep++) {
      const sb = await createSandbox({ mysql: { host: '127.0.0.1', port: myPort, password: ROOT_PW, database: DB }, redis: { host: '127.0.0.1', port: rdPort, password: REDIS_PW } });
      try {
        // The test override's limits (1 GiB, 256 MiB) are for the suite's small data: the top scale's Redis alone holds ≈ 200 MB.
        await followOnNetwork(sb, {
          network: network.getName(), mysqlAlias: 'bench-src-mysql', redisAlias: 'bench-src-redis', overrideFile: 'docker-compose.follow-net.yml', budgetSeconds: 120,
          services: { mysql: 'deploy: { resources: { limits: { memory: 3g } } }', redis: 'deploy: { resources: { limits: { memory: 2g } } }' },
        });
        const env = { ...process.env, ...sb.env, MYSQL_IMAGE: testImages().mysql, REDIS_IMAGE: testImages().redis };
        let rehearseSeconds: number | undefined;
        if (process.env.FERRY_BENCH_NO_REHEARSE !== '1') {
          const live = startWriter(myPort, rdPort, 'rehearsal');
          const r0 = performance.now();
          const reh = await execa(NODE, [join(REPO, 'playbooks', 'rehearse.ts'), '--config', sb.configPath, '--json'], { cwd: REPO, env, reject: false });
          rehearseSeconds = round((performance.now() - r0) / 1000);
          await live.stop();
          if (reh.exitCode !== 0) throw new Error(`rehearse exited ${reh.exitCode}: ${String(reh.stderr).split('\n').slice(-15).join('\n')}`);
          console.error(`bench cutover: rehearse done in ${rehearseSeconds} s`);
        }

        let writer: ReturnType<typeof startWriter> | undefined;
        let acked: Acked = { rows: 0, keys: 0 };
        const m0 = performance.now();
        const child = execa(NODE, [join(REPO, 'playbooks', 'migrate.ts'), '--config', sb.configPath, '--json'], { cwd: REPO, env, reject: false, buffer: { stdout: false } });
        let partial = '';
        const failures: string[] = [];
        child.stdout!.setEncoding('utf8').on('data', (d: string) => {
          partial += d;
          const lines = partial.split('\n');
          partial = lines.pop() ?? '';
          for (const l of lines) {
            if (!l.startsWith('{')) continue;
            const e = JSON.parse(l) as { type?: string; step?: string; error?: { message?: string; hint?: string } };
            if (e.type === 'step-done' || e.type === 'step-skip') console.error(`bench cutover: ${e.step} ${e.type === 'step-done' ? 'done' : 'skipped'} at ${round((performance.now() - m0) / 1000)} s`);
            if (e.type === 'step-fail') failures.push(`${e.step}: ${e.error?.message ?? ''} (${e.error?.hint ?? ''})`);
            if (e.type === 'step-done' && e.step === 'import:redis' && !writer) writer = startWriter(myPort, rdPort);
            if (e.type === 'step-start' && e.step === 'stop-writers') void writer?.stop().then((a) => { acked = a; }, () => undefined);
          }
        });
        const [peakRssMb, done] = await Promise.all([sampleRss(child), child]);
        if (writer) acked = await writer.stop();
        const migrateSeconds = (performance.now() - m0) / 1000;
        if (done.exitCode !== 0) throw new Error(`migrate exited ${done.exitCode} after ${round(migrateSeconds)} s: ${failures.join('; ')} ${String(done.stderr).split('\n').slice(-15).join('\n')}`);
        const verify = await execa(NODE, [join(REPO, 'playbooks', 'verify.ts'), '--config', sb.configPath, '--json'], { cwd: REPO, env, reject: false });
        const verified = verify.exitCode === 0;
        const report = JSON.parse(await readFile(join(sb.stateDir, 'report.migrate.json'), 'utf8')) as {
          downtimeMs?: number; downtimeKind?: string; downtimeParts?: Array<{ part: string; ms: number }>;
          prediction?: { ms: number; calibratedBy: string }; predictedVsMeasured?: { predictedMs: number; ratio: number; parts: Array<{ part: string; predictedMs: number; measuredMs: number }> };
        };
        const common = { engine: 'cutover', tool: 'ferry-follow', rows: seeded.rows, keys, writtenRows: acked.rows, writtenKeys: acked.keys, verified, scale: opts.scale, peakRssMb: round(peakRssMb) };
        emit({ ...common, phase: 'downtime', seconds: round((report.downtimeMs ?? NaN) / 1000), kind: report.downtimeKind });
        const pvm = report.predictedVsMeasured;
        if (rehearseSeconds !== undefined) emit({ ...common, phase: 'rehearse', seconds: rehearseSeconds });
        if (pvm) {
          emit({ ...common, phase: 'predicted', seconds: round(pvm.predictedMs / 1000), ratio: round(pvm.ratio), calibratedBy: report.prediction?.calibratedBy ?? 'unknown',
            parts: pvm.parts.map((x) => `${x.part} ${round(x.predictedMs / 1000)}/${round(x.measuredMs / 1000)}`).join(', ') });
        }
        for (const p of report.downtimeParts ?? []) emit({ ...common, phase: `downtime:${p.part}`, seconds: round(p.ms / 1000) });
        emit({ ...common, phase: 'migrate', seconds: round(migrateSeconds) });
      } finally {
        await sb.cleanup();
      }
    }
  } finally {
    await Promise.all([srcMy.stop({ remove: true, removeVolumes: true }), srcRd.stop({ remove: true, removeVolumes: true })]);
    await network.stop().catch(() => undefined);
  }
}) satisfies EngineBench;
