/**
 * The cutover plan on real servers (issue 16, "Bad input"): a MySQL source WITHOUT a binary log and a
 * Redis source, both on a user-defined network the test creates and named there by each store's
 * `options.followFrom`; the stack's data services join that network by a compose override. In `auto` the
 * plan (migrate --dry-run --json) says Redis follows (its probe container reached it by name) and MySQL is
 * copied inside the freeze, why, and the one change that would let it follow; the predicted downtime has
 * its parts; the order follows from it. A followFrom name the stack cannot reach falls back the same way,
 * saying what to check. In `follow` mode the same source is refused at preflight
 * (E_FOLLOW_REFUSED) before anything is exported, frozen or started.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { GenericContainer, Wait, type StartedNetwork, type StartedTestContainer } from 'testcontainers';
import { onLoopback } from '../support/containers.ts';
import { testLabels, startTestNetwork } from '../support/labels.ts';
import { testImages } from '../support/images.ts';
import { createSandbox, followOnNetwork, type Sandbox } from '../support/sandbox.ts';
import { seedSources } from '../../demo/index.ts';
import { runPlaybookProcess, type PlaybookEvent } from '../support/playbook-process.ts';

const ROOT_PW = 'src-root-pw-plan';
const REDIS_PW = 'src-redis-pw-plan';
const DB = 'vedfolnir';

describe('the cutover plan: who follows, who falls back, why, and the predicted downtime', { timeout: 600_000 }, () => {
  let network: StartedNetwork;
  let srcMy: StartedTestContainer;
  let srcRd: StartedTestContainer;
  let sb: Sandbox;
  let myPort = 0;

  beforeAll(async () => {
    network = await startTestNetwork();
    [srcMy, srcRd] = await Promise.all([
      // No --log-bin: the stack cannot follow this server.
      onLoopback(new GenericContainer(testImages().mysql).withLabels(testLabels()).withNetwork(network).withNetworkAliases('ferry-plan-mysql')
        .withEnvironment({ MYSQL_ROOT_PASSWORD: ROOT_PW, MYSQL_DATABASE: DB }).withExposedPorts(3306)
        .withCommand(['mysqld', '--max-allowed-packet=256M']).withWaitStrategy(Wait.forHealthCheck()).withStartupTimeout(180_000)).start(),
      onLoopback(new GenericContainer(testImages().redis).withLabels(testLabels()).withNetwork(network).withNetworkAliases('ferry-plan-redis')
        .withExposedPorts(6379).withCommand(['redis-server', '--requirepass', REDIS_PW])
        .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))).start(),
    ]);
    myPort = srcMy.getMappedPort(3306);
    const rdPort = srcRd.getMappedPort(6379);
    await seedSources({ mysql: { port: myPort, password: ROOT_PW, database: DB }, redis: { port: rdPort, password: REDIS_PW }, scale: 1 });
    const c = await mysql.createConnection({ host: '127.0.0.1', port: myPort, user: 'root', password: ROOT_PW });
    await c.query(`CREATE USER IF NOT EXISTS 'vedfolnir'@'%' IDENTIFIED BY 'p@ss'`);
    await c.query(`GRANT ALL ON ${DB}.* TO 'vedfolnir'@'%'`);
    await c.end();
    sb = await createSandbox({ mysql: { host: '127.0.0.1', port: myPort, password: ROOT_PW, database: DB }, redis: { host: '127.0.0.1', port: rdPort, password: REDIS_PW } });
    await followOnNetwork(sb, { network: network.getName(), mysqlAlias: 'ferry-plan-mysql', redisAlias: 'ferry-plan-redis', overrideFile: 'docker-compose.plan-net.yml', budgetSeconds: 30 });
  });

  afterAll(async () => {
    await sb?.cleanup();
    await Promise.all([srcMy?.stop({ remove: true, removeVolumes: true }), srcRd?.stop({ remove: true, removeVolumes: true })]);
    await network?.stop().catch(() => undefined);
  });

  const env = () => ({ ...sb.env, MYSQL_IMAGE: testImages().mysql, REDIS_IMAGE: testImages().redis });
  const planOf = (events: readonly PlaybookEvent[], step: string) => (events.find((e) => e.type === 'plan' && e.step === step) as { plan?: { details?: string; data?: unknown } } | undefined)?.plan;

  it('auto: Redis follows, MySQL without a binary log is copied inside the freeze, with the change that would let it follow', async () => {
    const r = await runPlaybookProcess('migrate', ['--config', sb.configPath, '--dry-run', '--json'], env());
    expect(r.exitCode, r.stderr.split('\n').slice(-20).join('\n')).toBe(2); // a dry run with changes pending
    const details = planOf(r.events, 'preflight')?.details ?? '';
    console.log(`cutover-plan (auto):\n${details}`);
    const lines = details.split('\n');
    expect(lines.find((l) => l.startsWith('mysql: '))).toMatch(/^mysql: copied inside the freeze \(the source has no binary log.*\); to follow: add `log-bin`.*restart MySQL once/);
    expect(lines.find((l) => l.startsWith('redis: '))).toMatch(/^redis: follows the live source; .*Redis answers at ferry-plan-redis:6379 from the stack's side/);
    expect(details).toMatch(/^predicted downtime \d+\.\d s \(defaults: run rehearse to calibrate\)$/m);
    for (const part of ['freeze', 'copy', 'final check', 'catch-up', 'promote', 'app start']) expect(details).toMatch(new RegExp(`^  ${part}: \\d+\\.\\d s \\(`, 'm'));
    // The same as data for --json.
    const data = (planOf(r.events, 'preflight') as { data?: { cutover: Array<{ store: string; how: string; why: string; enable?: string }>; prediction: { ms: number; parts: unknown[] } } }).data!;
    expect(data.cutover.map((d) => [d.store, d.how])).toEqual([['mysql', 'freeze-copy'], ['redis', 'follow']]);
    expect(data.cutover[0]!.enable).toMatch(/log-bin/);
    expect(data.prediction.parts.length).toBeGreaterThanOrEqual(5);
    // The order follows the plan: redis follows before the freeze, mysql is exported inside it.
    const steps = (r.events.find((e) => e.type === 'run-start') as unknown as { steps: Array<{ id: string }> }).steps.map((s) => s.id);
    expect(steps).toContain('follow:redis');
    expect(steps).not.toContain('follow:mysql');
    expect(steps.indexOf('export:mysql')).toBeGreaterThan(steps.indexOf('stop-writers'));
    expect(steps.indexOf('export:redis')).toBeLessThan(steps.indexOf('stop-writers'));
    // Secrets never in the plan.
    expect(r.stdout).not.toContain(ROOT_PW);
    expect(r.stdout).not.toContain(REDIS_PW);
  });

  it('auto: a source the stack cannot reach where followFrom says is copied inside the freeze, with what to check', async () => {
    const config = JSON.parse(await readFile(sb.configPath, 'utf8'));
    config.stores[1].options.followFrom = { host: 'ferry-plan-nowhere', port: 6379 };
    await writeFile(sb.configPath, JSON.stringify(config, null, 2));
    try {
      const r = await runPlaybookProcess('migrate', ['--config', sb.configPath, '--dry-run', '--json'], env());
      expect(r.exitCode, r.stderr.split('\n').slice(-20).join('\n')).toBe(2);
      const line = (planOf(r.events, 'preflight')?.details ?? '').split('\n').find((l) => l.startsWith('redis: '));
      console.log(`cutover-plan (unreachable): ${line}`);
      expect(line).toMatch(/^redis: copied inside the freeze \(nothing answers at ferry-plan-nowhere:6379 from the stack's side.*\); to follow: the stack must reach ferry-plan-nowhere:6379/);
      const steps = (r.events.find((e) => e.type === 'run-start') as unknown as { steps: Array<{ id: string }> }).steps.map((x) => x.id);
      expect(steps.filter((x) => x.startsWith('follow:'))).toEqual([]);
    } finally {
      config.stores[1].options.followFrom = { host: 'ferry-plan-redis', port: 6379 };
      await writeFile(sb.configPath, JSON.stringify(config, null, 2));
    }
  });

  it('follow: the store that cannot follow is refused at preflight, before anything moves', async () => {
    const config = JSON.parse(await readFile(sb.configPath, 'utf8'));
    config.cutover = { mode: 'follow', budgetSeconds: 30 };
    await writeFile(sb.configPath, JSON.stringify(config, null, 2));
    const r = await runPlaybookProcess('migrate', ['--config', sb.configPath, '--json'], env());
    expect(r.exitCode).not.toBe(0);
    const failed = r.events.find((e) => e.type === 'step-fail') as { step?: string; error?: { code?: string; message?: string; hint?: string } } | undefined;
    console.log(`cutover-plan (follow): ${JSON.stringify(failed?.error ?? r.events.at(-1))}`);
    expect(failed?.step).toBe('preflight');
    expect(failed?.error?.code).toBe('E_FOLLOW_REFUSED');
    expect(failed?.error?.message).toMatch(/store mysql cannot follow its live source: the source has no binary log/);
    expect(failed?.error?.hint).toMatch(/log-bin/);
    // Nothing exported, no stack started, the source writable.
    expect((await readdir(sb.stateDir).catch(() => [])).filter((f) => f === 'artifacts')).toEqual([]);
    const c = await mysql.createConnection({ host: '127.0.0.1', port: myPort, user: 'root', password: ROOT_PW });
    const [rows] = await c.query("SELECT @@global.read_only AS ro");
    await c.end();
    expect(Number((rows as Array<{ ro: unknown }>)[0]!.ro)).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(ROOT_PW);
  });
});
