/**
 * Rehearse: the whole migration into a throwaway stack, verified, then torn down — no container,
 * volume, network or file left behind; the real target and the .env untouched; the report (timings,
 * expected downtime, what it measured and the calibrated prediction of migrate's downtime) kept in the
 * state dir. Then migrate itself, whose report sets that prediction against the measured downtime.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import type { StartedMysql, StartedRedis } from '../support/containers.ts';
import { startNetworkedSource, startSeededSource, type NetworkedSource, type SeededSource } from '../support/seeded-source.ts';
import { testImages } from '../support/images.ts';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import type { Sandbox } from '../support/sandbox.ts';
import { runPlaybookProcess, startPlaybook, whyFailed } from '../support/playbook-process.ts';

const docker = (args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).split('\n').filter(Boolean);
const labelled = (project: string) => ({
  containers: docker(['ps', '-a', '--format', '{{.Label "com.docker.compose.project"}}']).filter((p) => p.startsWith(project)),
  volumes: docker(['volume', 'ls', '--format', '{{.Name}}']).filter((v) => v.startsWith(project)),
  networks: docker(['network', 'ls', '--format', '{{.Name}}']).filter((n) => n.startsWith(project)),
});

describe('rehearse', { timeout: 900_000 }, () => {
  let src: SeededSource;
  let my: StartedMysql;
  let rd: StartedRedis;
  let sb: Sandbox;

  beforeAll(async () => {
    src = await startSeededSource({ redisPassword: 'rehearse-redis-pw', mysql: {} });
    ({ my, rd, sb } = src);
  });

  afterAll(async () => {
    await src?.stop();
  });

  it('migrates into a throwaway stack, verifies, reports and leaves nothing behind', async () => {
    const envBefore = await readFile(sb.envPath);
    const composeBefore = (await readdir(sb.composeDir)).sort();
    const tmpBefore = (await readdir(tmpdir())).filter((f) => f.startsWith('ferry-rehearsal-'));
    const r = await runPlaybookProcess('rehearse', ['--config', sb.configPath, '--json'], { ...sb.env, MYSQL_IMAGE: testImages().mysql, REDIS_IMAGE: testImages().redis });
    expect(r.stderr.split('\n').filter((l) => /E_|✖/.test(l)).join('\n')).toBe('');
    expect(r.exitCode, whyFailed(r)).toBe(0);
    const start = r.events.find((e) => e.type === 'run-start') as unknown as { steps: Array<{ id: string }> };
    expect(start.steps.map((s) => s.id)).toEqual(['preflight', 'env-transform', 'compose-prepare', 'compose-data-up', 'export:mysql', 'export:redis',
      'import:mysql', 'import:redis', 'verify:mysql', 'verify:redis', 'compose-cutover', 'report']);
    expect(r.events.filter((e) => e.type === 'step-done').length).toBe(12);
    // the report survives, with per-step timings and the expected downtime
    const report = JSON.parse(await readFile(`${sb.stateDir}/report.rehearse.json`, 'utf8'));
    expect(report.ok).toBe(true);
    expect(report.downtimeKind).toBe('expected');
    expect(report.downtimeMs).toBeGreaterThan(0);
    expect(report.timings.map((t: { step: string }) => t.step)).toContain('import:mysql');
    // the calibrated prediction of migrate's downtime: what the rehearsal measured per store, and the parts
    expect(Object.keys(report.calibration.stores).sort()).toEqual(['mysql', 'redis']);
    expect(report.calibration.stores.mysql.copyMs).toBeGreaterThan(0);
    expect(report.prediction.calibratedBy).toMatch(/^rehearse /);
    expect(report.prediction.parts.map((p: { part: string }) => p.part)).toEqual(['freeze', 'copy', 'final check', 'app start']);
    expect(report.prediction.ms).toBe(report.prediction.parts.reduce((a: number, p: { ms: number }) => a + p.ms, 0));
    console.log(`rehearse: step ms ${report.timings.map((t: { step: string; durationMs: number }) => `${t.step} ${Math.round(t.durationMs)}`).join(', ')}`);
    expect((await readdir(sb.stateDir)).sort()).toEqual(['report.rehearse.json', 'report.rehearse.md']);
    // what it ran against: its own project, never the real one — and nothing of it is left
    const project = String(report.project);
    expect(project).toMatch(new RegExp(`^${sb.project}-rehearsal-[0-9a-f]{6}$`));
    expect(labelled(project)).toEqual({ containers: [], volumes: [], networks: [] });
    expect(labelled(sb.project)).toEqual({ containers: [], volumes: [], networks: [] });
    expect((await readdir(tmpdir())).filter((f) => f.startsWith('ferry-rehearsal-'))).toEqual(tmpBefore);
    // the real target dir and the .env untouched
    expect((await readFile(sb.envPath)).equals(envBefore)).toBe(true);
    expect((await readdir(sb.composeDir)).sort()).toEqual(composeBefore);
  });

  it('migrate predicts its downtime from the rehearsal and reports predicted against measured', async () => {
    const r = await runPlaybookProcess('migrate', ['--config', sb.configPath, '--json'], { ...sb.env, MYSQL_IMAGE: testImages().mysql, REDIS_IMAGE: testImages().redis });
    expect(r.exitCode, r.stderr.split('\n').slice(-20).join('\n')).toBe(0);
    const report = JSON.parse(await readFile(`${sb.stateDir}/report.migrate.json`, 'utf8'));
    const v = report.predictedVsMeasured as { predictedMs: number; measuredMs: number; ratio: number; parts: Array<{ part: string; predictedMs: number; measuredMs: number }> };
    console.log(`rehearse → migrate: predicted ${v.predictedMs} ms, measured ${v.measuredMs} ms, ratio ${v.ratio} (${report.prediction.calibratedBy}); `
      + `parts (predicted/measured ms) ${v.parts.map((p) => `${p.part} ${p.predictedMs}/${p.measuredMs}`).join(', ')}`);
    console.log(`migrate: step ms ${report.timings.map((t: { step: string; durationMs: number }) => `${t.step} ${Math.round(t.durationMs)}`).join(', ')}`);
    expect(report.prediction.calibratedBy).toMatch(/^rehearse /);
    expect(v.measuredMs).toBe(report.downtimeMs);
    expect(v.parts.map((p) => p.part)).toEqual(expect.arrayContaining(['freeze', 'copy', 'final check', 'app start']));
    // The stack's data services started before the freeze: no part of the downtime, predicted or measured.
    expect(v.parts.map((p) => p.part)).not.toContain('stack start');
    // A generous bound only (a shared machine): the ±20 % figure is measured and reported, not asserted.
    expect(v.ratio).toBeGreaterThan(0.25);
    expect(v.ratio).toBeLessThan(4);
  });
});

const F_ROOT_PW = 'src-root-pw-rehearse-follow';
const F_REDIS_PW = 'src-redis-pw-rehearse-follow';
const F_DB = 'vedfolnir';
type Parts = Array<{ part: string; ms: number; basis: string }>;

/**
 * issue 16: a rehearsal of stores that follow the live source follows it too (its own replication
 * objects), measures the catch-up, promote and app-only start migrate will spend inside its freeze, and
 * leaves nothing on the source — also when it was killed mid-follow (the next rehearse cleans up). Then
 * migrate's report sets that calibrated prediction against the measured downtime, part by part.
 */
describe('rehearse a following source, then migrate', { timeout: 900_000 }, () => {
  let src: NetworkedSource | undefined;
  let sb: Sandbox;
  let myPort = 0, rdPort = 0;

  beforeAll(async () => {
    src = await startNetworkedSource({ rootPassword: F_ROOT_PW, redisPassword: F_REDIS_PW, database: F_DB });
    ({ sb, myPort, rdPort } = src);
  });

  afterAll(async () => {
    // A rehearsal left behind by a failure above: its stack goes with the sandbox's projects.
    const left = docker(['ps', '-a', '--filter', 'label=com.docker.compose.project', '--format', '{{.Label "com.docker.compose.project"}}']).filter((p) => sb && p.startsWith(`${sb.project}-rehearsal-`));
    for (const p of new Set(left)) {
      const ids = docker(['ps', '-aq', '--filter', `label=com.docker.compose.project=${p}`]);
      if (ids.length) docker(['rm', '-f', '-v', ...ids]);
      for (const n of docker(['network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${p}`])) docker(['network', 'rm', n]);
      for (const v of docker(['volume', 'ls', '-q']).filter((x) => x.startsWith(`${p}_`))) docker(['volume', 'rm', '-f', v]);
    }
    await src?.stop();
  });

  const env = () => ({ ...sb.env, MYSQL_IMAGE: testImages().mysql, REDIS_IMAGE: testImages().redis });

  /** What of ferry's replication the sources hold: MySQL accounts, Redis ACL users and replicas, the rehearsal record. */
  const leftOnSource = async () => {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: myPort, user: 'root', password: F_ROOT_PW });
    const r = new Redis({ host: '127.0.0.1', port: rdPort, password: F_REDIS_PW, lazyConnect: true, maxRetriesPerRequest: 1 });
    r.on('error', () => undefined);
    try {
      const [accounts] = await c.query("SELECT user FROM mysql.user WHERE user LIKE 'ferry\\_repl\\_%'") as unknown as [Array<{ user: string }>];
      await r.connect();
      const users = ((await r.call('ACL', 'USERS')) as string[]).filter((u) => u.startsWith('ferry-repl-'));
      let replicas = -1;
      for (let i = 0; i < 120; i++) { // a replica let go is noticed by the source within moments (a minute allowed on a busy machine)
        replicas = Number(/connected_slaves:(\d+)/u.exec(await r.info('replication'))?.[1] ?? -1);
        if (replicas === 0) break;
        await new Promise((res) => setTimeout(res, 500));
      }
      return { accounts: accounts.map((a) => a.user), aclUsers: users, replicas };
    } finally { r.disconnect(); await c.end(); }
  };

  it('a rehearse killed while following leaves its replication on the source; the next rehearse removes it, follows, measures and leaves nothing', async () => {
    const started = startPlaybook('rehearse', ['--config', sb.configPath, '--json'], env(), (e) => {
      if (e.type === 'step-done' && e.step === 'follow:redis') started.child.kill('SIGKILL');
    }, { stopAt: { type: 'step-done', step: 'follow:redis' } }); // stopped there until killed: still following
    const killed = await started.done;
    // Not killed: the run never followed. The plan's cutover lines say why (a store copied inside the freeze, and its reason).
    const cutoverSaid = killed.stdout.split('\n').filter((l) => /copied inside the freeze|follows the live source|REFUSED/.test(l)).join('\n');
    expect(killed.signal, `exit ${String(killed.exitCode)}\n${cutoverSaid}\n${killed.stderr.slice(-2000)}`).toBe('SIGKILL');
    const rec = JSON.parse(await readFile(join(sb.stateDir, 'rehearsal.json'), 'utf8')) as { project: string };
    const killedProject = rec.project;
    const during = await leftOnSource();
    expect(during.accounts.length).toBe(1);
    expect(during.aclUsers.length).toBe(1);
    expect(labelled(killedProject).containers.length).toBeGreaterThan(0);

    // A light writer keeps the source live during the next rehearsal: it follows and measures all the same.
    let stop = false;
    const writer = (async () => {
      const c = await mysql.createConnection({ host: '127.0.0.1', port: myPort, user: 'root', password: F_ROOT_PW, database: F_DB });
      try {
        for (let i = 1; i <= 20_000 && !stop; i++) {
          await c.query('REPLACE INTO live_writes (id, v) VALUES (?, ?)', [i % 500, `v${i}`]);
          await new Promise((res) => setTimeout(res, 20));
        }
      } finally { await c.end(); }
    })();
    const r = await runPlaybookProcess('rehearse', ['--config', sb.configPath, '--json'], env()).finally(() => { stop = true; });
    await writer;
    expect(r.exitCode, r.stderr.split('\n').slice(-20).join('\n')).toBe(0);
    const start = r.events.find((e) => e.type === 'run-start') as unknown as { steps: Array<{ id: string }> };
    expect(start.steps.map((s) => s.id)).toEqual(['preflight', 'export:mysql', 'export:redis', 'env-transform', 'compose-prepare', 'compose-data-up',
      'import:mysql', 'import:redis', 'unpublish:mysql', 'unpublish:redis', 'follow:mysql', 'follow:redis', 'verify-pinned:mysql', 'verify-pinned:redis',
      'compose-precreate', 'catch-up:mysql', 'catch-up:redis', 'promote:mysql', 'promote:redis', 'compose-cutover', 'report']);
    const report = JSON.parse(await readFile(`${sb.stateDir}/report.rehearse.json`, 'utf8'));
    expect(report.ok).toBe(true);
    // It followed: the calibration holds each store's catch-up and promote and the app-only start.
    for (const id of ['mysql', 'redis']) {
      expect(report.calibration.stores[id].catchUpMs, id).toBeGreaterThan(0);
      expect(report.calibration.stores[id].promoteMs, id).toBeGreaterThan(0);
    }
    expect(report.calibration.appOnlyStartMs).toBeGreaterThan(0);
    const parts = report.prediction.parts as Parts;
    for (const p of ['catch-up', 'promote', 'app start']) expect(parts.find((x) => x.part === p)?.basis, p).toMatch(/rehearsed/);
    console.log(`rehearse (following): predicted ${report.prediction.ms} ms: ${parts.map((p) => `${p.part} ${p.ms} (${p.basis})`).join('; ')}`);
    // Nothing on the source, the killed rehearsal's stack and this one's gone, no record left.
    expect(await leftOnSource()).toEqual({ accounts: [], aclUsers: [], replicas: 0 });
    expect(labelled(killedProject)).toEqual({ containers: [], volumes: [], networks: [] });
    expect(labelled(String(report.project))).toEqual({ containers: [], volumes: [], networks: [] });
    expect((await readdir(sb.stateDir)).sort()).toEqual(['report.rehearse.json', 'report.rehearse.md']);
  });

  it('migrate predicts from that rehearsal: predicted against measured, per part, within a loose bound', async () => {
    const r = await runPlaybookProcess('migrate', ['--config', sb.configPath, '--json'], env());
    expect(r.exitCode, r.stderr.split('\n').slice(-20).join('\n')).toBe(0);
    const report = JSON.parse(await readFile(`${sb.stateDir}/report.migrate.json`, 'utf8'));
    const v = report.predictedVsMeasured as { predictedMs: number; measuredMs: number; ratio: number; parts: Array<{ part: string; predictedMs: number; measuredMs: number }> };
    console.log(`rehearse → migrate (following): predicted ${v.predictedMs} ms, measured ${v.measuredMs} ms, ratio ${v.ratio}; `
      + `parts (predicted/measured ms) ${v.parts.map((p) => `${p.part} ${p.predictedMs}/${p.measuredMs}`).join(', ')}`);
    expect(report.prediction.calibratedBy).toMatch(/^rehearse /);
    expect(report.cutover.map((c: { store: string; how: string }) => [c.store, c.how])).toEqual([['mysql', 'follow'], ['redis', 'follow']]);
    for (const p of ['catch-up', 'promote', 'app start']) expect((report.prediction.parts as Parts).find((x) => x.part === p)?.basis, p).toMatch(/rehearsed/);
    // A loose bound only: on the shared machine the same migrate measured 1.8-2.8 s from run to run (ratios 0.62-1.58
    // seen at load 8-15 on 2 cores; the rehearsal and the migrate may each meet another load); the ±20 % figure comes
    // from a quiet run. The same bound as the copying case above.
    expect(v.ratio).toBeGreaterThan(0.25);
    expect(v.ratio).toBeLessThan(4);
    expect(await leftOnSource()).toEqual({ accounts: [], aclUsers: [], replicas: 0 });
  });
});
