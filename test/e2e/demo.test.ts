/**
 * `--demo` means something on every playbook: `verify --demo` migrates a fresh demo first and then
 * verifies it (kept with FERRY_DEMO_KEEP=1), `rollback --demo` reuses that kept, migrated demo and rolls
 * it back, `rehearse --demo` rehearses into a throwaway stack; each exits 0. The demo's storage/ (an
 * image tree) is a files store verified like the databases. The kept demo is removed.
 * A demo run killed by SIGKILL leaves its servers, stack and temp dir; the next --demo removes them.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import { join } from 'node:path';
import { hostname, tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_HOST_LABEL, DEMO_LABEL, DEMO_RUN_LABEL, DEMO_TMPDIR_LABEL, discardKeptDemo, sweepDeadDemoRuns } from '../../demo/index.ts';
import { testImages } from '../support/images.ts';
import { testLabels } from '../support/labels.ts';
import { keptPointer } from '../../demo/kept.ts';
import { exec } from '../../lib/util/exec.ts';
import { runPlaybookProcess, startPlaybook, whyFailed, type PlaybookRun } from '../support/playbook-process.ts';

const logs = (r: PlaybookRun) => r.events.filter((e) => e.type === 'log').map((e) => String(e.message));
const result = (r: PlaybookRun) => (r.events.find((e) => e.type === 'run-end') as { result: { status: string; steps: Array<{ id: string; status: string }> } } | undefined)?.result;

describe('--demo on every playbook', { timeout: 1_800_000 }, () => {
  afterAll(async () => { await discardKeptDemo(); });

  it('verify --demo migrates the demo first (following its live sources: a measured downtime of seconds), then verifies it: exit 0', async () => {
    await discardKeptDemo();
    const r = await runPlaybookProcess('verify', ['--demo', '--json'], { FERRY_DEMO_KEEP: '1' });
    expect(r.stderr.split('\n').filter((l) => l.includes('✖')).join('\n')).toBe('');
    expect(r.exitCode, whyFailed(r)).toBe(0);
    expect(logs(r)).toContain('demo: migrating the demo first (the migrate playbook), then the playbook asked for');
    expect(logs(r).some((l) => l.startsWith('demo migrate: ✔ '))).toBe(true);
    expect(result(r)?.status).toBe('ok');
    expect(result(r)!.steps.length).toBeGreaterThan(0);
    expect(result(r)!.steps.every((s) => s.status === 'done' || s.status === 'skipped')).toBe(true);
    // The demo carries Vedfolnir's storage/ (the fixtures' image tree) too: its files store is verified.
    expect(logs(r).some((l) => l.startsWith('demo migrate: ✔ Verify files store storage'))).toBe(true);
    expect(result(r)!.steps.find((s) => s.id === 'verify:storage')?.status).toBe('done');
    // The demo's stack followed its sources by name on the run's own network: every store crossed by following,
    // the migrate's report measured the downtime with its parts, and the demo's summary line says so.
    expect(logs(r).some((l) => l.startsWith('demo migrate: ✔ Make service mysql follow the live mysql store mysql'))).toBe(true);
    const kept = await keptPointer();
    const report = JSON.parse(await readFile(join(kept!.base, 'state', 'report.migrate.json'), 'utf8')) as MigrateReport;
    expect(report.cutover.map((c) => [c.store, c.how])).toEqual([['mysql', 'follow'], ['redis', 'follow'], ['storage', 'follow']]);
    expect(report.downtimeKind).toBe('measured');
    expect(report.downtimeParts.map((p) => p.part)).toEqual(expect.arrayContaining(['freeze', 'catch-up', 'promote']));
    expect(logs(r).find((l) => l.startsWith('demo downtime (measured): '))).toMatch(/\(parts: .*freeze .*catch-up .*\); stores: mysql follow, redis follow, storage follow$/u);
    // Promoted: nothing of the replication is left on the demo's sources.
    expect(await replicationLeft(kept!.base)).toEqual({ accounts: [], aclUsers: [], replicas: 0 });
  });

  it('rollback --demo reuses the kept, migrated demo and rolls it back: exit 0', async () => {
    const r = await runPlaybookProcess('rollback', ['--demo', '--json'], { FERRY_DEMO_KEEP: '1' });
    expect(r.stderr.split('\n').filter((l) => l.includes('✖')).join('\n')).toBe('');
    expect(r.exitCode, whyFailed(r)).toBe(0);
    expect(logs(r).some((l) => l.startsWith('demo: reusing the kept demo in '))).toBe(true);
    expect(logs(r).some((l) => l.startsWith('demo migrate:'))).toBe(false);
    expect(result(r)?.status).toBe('ok');
  });

  it('rehearse --demo rehearses into a throwaway stack and leaves no replication on the demo sources: exit 0', async () => {
    await discardKeptDemo();
    // Kept, so its sources outlive the run and can be asked what the rehearsal left on them.
    const r = await runPlaybookProcess('rehearse', ['--demo', '--json'], { FERRY_DEMO_KEEP: '1' });
    expect(r.stderr.split('\n').filter((l) => l.includes('✖')).join('\n')).toBe('');
    expect(r.exitCode, whyFailed(r)).toBe(0);
    expect(result(r)?.status).toBe('ok');
    const kept = await keptPointer();
    expect(await replicationLeft(kept!.base)).toEqual({ accounts: [], aclUsers: [], replicas: 0 });
    // It followed as migrate will (issue 16): every store's catch-up and promote and the app-only start measured, the prediction says "rehearsed".
    const report = JSON.parse(await readFile(join(kept!.base, 'state', 'report.rehearse.json'), 'utf8')) as RehearseReport;
    expect(report.timings.map((t) => t.step)).toEqual(expect.arrayContaining(['follow:mysql', 'follow:redis', 'catch-up:mysql', 'promote:redis', 'catch-up:storage']));
    for (const id of ['mysql', 'redis', 'storage']) expect(report.calibration.stores[id]?.catchUpMs, id).toBeGreaterThan(0);
    for (const id of ['mysql', 'redis']) expect(report.calibration.stores[id]?.promoteMs, id).toBeGreaterThan(0);
    expect(report.calibration.appOnlyStartMs).toBeGreaterThan(0);
    for (const p of ['catch-up', 'promote', 'app start']) expect(report.prediction.parts.find((x) => x.part === p)?.basis, p).toMatch(/rehearsed/u);
    console.log(`rehearse --demo: predicted ${report.prediction.ms} ms (${report.prediction.parts.map((p) => `${p.part} ${p.ms}`).join(', ')})`);
    // The run's network holds its two sources only: the throwaway stack left it.
    const [net] = await docker(['network', 'ls', '-q', '--filter', `label=${DEMO_RUN_LABEL}=${kept!.run}`]);
    expect(net).toBeDefined();
    expect(Object.keys((JSON.parse((await docker(['network', 'inspect', net!, '--format', '{{json .Containers}}'])).join('')) ?? {}) as object)).toHaveLength(2);
  });
});

interface RehearseReport {
  timings: Array<{ step: string }>;
  calibration: { stores: Record<string, { catchUpMs?: number; promoteMs?: number }>; appOnlyStartMs?: number };
  prediction: { ms: number; parts: Array<{ part: string; ms: number; basis: string }> };
}

interface MigrateReport {
  cutover: Array<{ store: string; how: string }>;
  downtimeKind: string;
  downtimeParts: Array<{ part: string; ms: number }>;
}

/**
 * What of ferry's replication a kept demo's sources still hold: its MySQL replication accounts, Redis ACL users and replicas.
 * (A MySQL/MariaDB source's binlog dump thread of a replica that was stopped lingers until its next heartbeat
 * finds the connection closed, up to slave_net_timeout/2 = 30 s: the server's, not something ferry left.)
 */
async function replicationLeft(base: string): Promise<{ accounts: string[]; aclUsers: string[]; replicas: number }> {
  const input = JSON.parse(await readFile(join(base, 'demo.json'), 'utf8')) as { stores: Array<{ id: string; source: string }> };
  const url = (id: string) => input.stores.find((s) => s.id === id)!.source;
  const c = await mysql.createConnection(url('mysql'));
  try {
    const [accounts] = await c.query("SELECT user FROM mysql.user WHERE user LIKE 'ferry\\_repl\\_%'") as unknown as [Array<{ user: string }>];
    const r = new Redis(url('redis'), { lazyConnect: true, maxRetriesPerRequest: 1 });
    r.on('error', () => undefined);
    try {
      await r.connect();
      // A replica the cutover let go may take a moment to be noticed by the source (a minute allowed: a busy machine).
      let replicas = -1;
      for (let i = 0; i < 120; i++) {
        replicas = Number(/connected_slaves:(\d+)/u.exec(await r.info('replication'))?.[1] ?? -1);
        if (replicas === 0) break;
        await new Promise((res) => setTimeout(res, 500));
      }
      const aclUsers = ((await r.call('ACL', 'USERS')) as string[]).filter((u) => u.startsWith('ferry-repl-'));
      return { accounts: accounts.map((a) => a.user), aclUsers, replicas };
    } finally { r.disconnect(); }
  } finally { await c.end(); }
}

async function docker(args: string[]): Promise<string[]> {
  const r = await exec('docker', args);
  expect(r.exitCode, r.stderr).toBe(0);
  return r.stdout.split('\n').filter(Boolean);
}

/** What is left on the engine and in tmpdir of one demo run (`<pid>-<hex>`, project ferry-demo-<hex>). */
async function leftovers(run: string) {
  const project = `ferry-demo-${run.split('-')[1]}`;
  return {
    servers: await docker(['ps', '-aq', '--filter', `label=${DEMO_RUN_LABEL}=${run}`]),
    stack: await docker(['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`]),
    networks: await docker(['network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${project}`]),
    volumes: (await docker(['volume', 'ls', '-q'])).filter((v) => v.startsWith(`${project}_`)),
    dirs: (await readdir(tmpdir())).filter((d) => d.startsWith(`ferry-demo-${run}-`)),
  };
}

describe('a --demo run killed by SIGKILL', { timeout: 900_000 }, () => {
  it('leaves its servers, stack and directory; the next --demo run removes them first, then migrates: exit 0', async () => {
    let run: string | undefined;
    try {
      // Killed once its stack's data services are up: source servers, stack containers, networks and volumes all exist.
      const started = startPlaybook('migrate', ['--demo', '--json'], {}, (e) => {
        const hex = e.type === 'log' ? /target stack ferry-demo-([0-9a-f]{6})/.exec(String(e.message))?.[1] : undefined;
        if (hex) run = `${started.child.pid}-${hex}`;
        if (e.type === 'step-done' && e.step === 'compose-data-up') started.child.kill('SIGKILL');
      }, { stopAt: { type: 'step-done', step: 'compose-data-up' } }); // stopped there until killed
      const killed = await started.done;
      expect(killed.signal, killed.stderr.slice(-2000)).toBe('SIGKILL');
      expect(run).toBeDefined();
      const left = await leftovers(run!);
      expect(left.servers.length).toBe(2);
      expect(left.stack.length).toBeGreaterThan(0);
      expect(left.networks.length).toBeGreaterThan(0);
      expect(left.dirs.length).toBe(1);

      const again = await runPlaybookProcess('migrate', ['--demo', '--json'], {});
      expect(again.stderr.split('\n').filter((l) => l.includes('✖')).join('\n')).toBe('');
      expect(again.exitCode, whyFailed(again)).toBe(0);
      // No stray noise: no unhandled client error events, no dependency deprecation warnings.
      expect(again.stderr).not.toMatch(/DeprecationWarning|Unhandled error event|\(node:\d+\)/u);
      expect(logs(again).find((l) => l.startsWith(`demo: removed what the dead demo run ${run} left: `))).toMatch(/: 2 container\(s\)|: [3-9] container\(s\)/u);
      expect(await leftovers(run!)).toEqual({ servers: [], stack: [], networks: [], volumes: [], dirs: [] });
    } finally {
      // A failure above must not leave the killed run behind for the next test.
      if (run) await sweepDeadDemoRuns({ keep: (await keptPointer())?.run, hostname: hostname(), tmpdir: tmpdir() }).catch(() => undefined);
    }
  });
});

describe('the sweep of dead demo runs', { timeout: 120_000 }, () => {
  it('leaves a kept demo (its directory holds demo.json) alone whatever TMPDIR it ran with, and removes it once that is gone', async () => {
    const pid = spawnSync('true').pid as number; // a pid whose process is gone
    const run = `${pid}-abc123`;
    const tmp = await mkdtemp(join(tmpdir(), 'ferry-sweep-'));
    const base = join(tmp, `ferry-demo-${run}-kept`);
    const labels = { ...testLabels(), [DEMO_LABEL]: '1', [DEMO_RUN_LABEL]: run, [DEMO_HOST_LABEL]: hostname(), [DEMO_TMPDIR_LABEL]: tmp };
    try {
      await mkdir(base);
      await writeFile(join(base, 'demo.json'), '{}');
      await docker(['run', '-d', ...Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]), '--entrypoint', 'sh', testImages().redis, '-c', 'sleep 300']);
      const sweep = () => sweepDeadDemoRuns({ hostname: hostname(), tmpdir: tmpdir() });
      expect((await sweep()).find((s) => s.run === run)).toBeUndefined();
      expect(await docker(['ps', '-aq', '--filter', `label=${DEMO_RUN_LABEL}=${run}`])).toHaveLength(1);
      await rm(join(base, 'demo.json'));
      expect((await sweep()).find((s) => s.run === run)).toEqual({ run, containers: 1, networks: 0, volumes: 0, dirs: 1 });
      expect(await docker(['ps', '-aq', '--filter', `label=${DEMO_RUN_LABEL}=${run}`])).toEqual([]);
      await expect(stat(base)).rejects.toThrow();
    } finally {
      const left = await docker(['ps', '-aq', '--filter', `label=${DEMO_RUN_LABEL}=${run}`]);
      if (left.length) await docker(['rm', '-f', ...left]);
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
