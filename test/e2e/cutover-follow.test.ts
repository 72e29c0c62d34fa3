/**
 * The migrate playbook with stores that follow the live source (issue 16), as an operator runs it (a
 * child process): MySQL (binlog ROW) and Redis sources on a user-defined network the test creates, the
 * stack's data services joined to it by a compose override (external network), each store's
 * `options.followFrom` naming the source by its alias there. A bounded writer inserts, updates, deletes
 * rows and sets/expires keys from the end of the import until the writers are stopped; after cutover every
 * acknowledged write is on the target, the verify playbook exits 0, and the measured downtime is printed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import { testImages } from '../support/images.ts';
import type { Sandbox } from '../support/sandbox.ts';
import { startNetworkedSource, type NetworkedSource } from '../support/seeded-source.ts';
import { runPlaybookProcess, startPlaybook, type PlaybookEvent } from '../support/playbook-process.ts';

const ROOT_PW = 'src-root-pw-cutover';
const REDIS_PW = 'src-redis-pw-cutover';
const DB = 'vedfolnir';

describe('migrate follows the live sources, then cuts over in seconds', { timeout: 900_000 }, () => {
  let src: NetworkedSource | undefined;
  let sb: Sandbox;
  let myPort = 0, rdPort = 0;

  beforeAll(async () => {
    src = await startNetworkedSource({ rootPassword: ROOT_PW, redisPassword: REDIS_PW, database: DB, writer: { user: 'writer', password: 'writer-pw' } });
    ({ sb, myPort, rdPort } = src);
    // The app service runs a stand-in (the test bed's redis image: sleep) so the cutover has an app to start.
    await writeFile(join(sb.composeDir, 'docker-compose.app-stub.yml'), [
      'services:', '  vedfolnir:', `    image: ${JSON.stringify(testImages().redis)}`, '    command: ["sleep", "infinity"]',
      '    healthcheck: { test: ["CMD", "true"], interval: 1s, start_period: 0s }', '',
    ].join('\n'));
    const config = JSON.parse(await readFile(sb.configPath, 'utf8')) as { app: Record<string, unknown>; target: { files: string[] } };
    config.app = { ...config.app, appServices: ['vedfolnir'] };
    config.target.files = [...config.target.files, 'docker-compose.app-stub.yml'];
    await writeFile(sb.configPath, JSON.stringify(config, null, 2));
  });

  afterAll(async () => {
    await src?.stop();
  });

  const env = () => ({ ...sb.env, MYSQL_IMAGE: testImages().mysql, REDIS_IMAGE: testImages().redis });

  it('carries every write made while following onto the target; verify exits 0; the downtime is a few seconds', async () => {
    const acked = { rows: new Map<number, string | null>(), keys: new Map<string, string | null>() };
    let writing: Promise<void> | undefined;
    let stop = false;
    const writer = async () => {
      const c = await mysql.createConnection({ host: '127.0.0.1', port: myPort, user: 'writer', password: 'writer-pw', database: DB });
      const r = new Redis({ host: '127.0.0.1', port: rdPort, password: REDIS_PW, lazyConnect: true });
      await r.connect();
      try {
        for (let i = 1; i <= 3000 && !stop; i++) {
          await c.query('INSERT INTO live_writes (id, v) VALUES (?, ?)', [i, `v${i}`]); acked.rows.set(i, `v${i}`);
          if (i % 3 === 0) { await c.query('UPDATE live_writes SET v = ? WHERE id = ?', [`u${i - 1}`, i - 1]); acked.rows.set(i - 1, `u${i - 1}`); }
          if (i % 5 === 0) { await c.query('DELETE FROM live_writes WHERE id = ?', [i - 2]); acked.rows.set(i - 2, null); }
          await r.set(`live:${i}`, `v${i}`); acked.keys.set(`live:${i}`, `v${i}`);
          if (i % 4 === 0) { await r.set(`live:exp:${i}`, 'x', 'PX', 50); acked.keys.set(`live:exp:${i}`, null); }
          await new Promise((ok) => setTimeout(ok, 20));
        }
      } catch (e) {
        if (!stop) throw e; // a write refused by the freeze after stop-writers began is not acknowledged
      } finally { await c.end().catch(() => undefined); r.disconnect(); }
    };
    const onEvent = (e: PlaybookEvent) => {
      if (e.type === 'step-done' && e.step === 'import:redis' && !writing) writing = writer();
      if (e.type === 'step-start' && e.step === 'stop-writers') stop = true;
    };
    const args = ['--config', sb.configPath, '--json'];
    // SIGKILL once the stores' services were handed over (no published port any more) and before follow:
    // the same command resumes, reaching them through docker exec, without recreating or re-importing anything.
    const killed = startPlaybook('migrate', args, env(), (e) => {
      onEvent(e);
      if (e.type === 'step-start' && e.step === 'follow:mysql') killed.child.kill('SIGKILL');
    }, { stopAt: { type: 'step-start', step: 'follow:mysql' } }); // stopped there until killed: follow:mysql never begins
    const first = await killed.done;
    expect(first.signal).toBe('SIGKILL');
    expect(first.events.filter((e) => e.type === 'step-done').map((e) => e.step)).toEqual(['preflight', 'export:mysql', 'export:redis', 'env-transform',
      'compose-prepare', 'compose-data-up', 'import:mysql', 'import:redis', 'unpublish:mysql', 'unpublish:redis']);
    const run = await startPlaybook('migrate', args, env(), onEvent).done;
    stop = true;
    await writing;
    expect(run.exitCode, run.stderr.split('\n').slice(-30).join('\n') + JSON.stringify(run.events.slice(-4))).toBe(0);
    const done = run.events.filter((e) => e.type === 'step-done').map((e) => e.step);
    console.log(`cutover-follow: resumed run: done ${done.join(' ')}`);
    expect(done.filter((s) => s !== 'preflight')).toEqual(['follow:mysql', 'follow:redis', 'verify-pinned:mysql', 'verify-pinned:redis',
      'compose-precreate', 'stop-writers', 'freeze:mysql', 'freeze:redis', 'prove-quiet', 'catch-up:mysql', 'catch-up:redis', 'promote:mysql', 'promote:redis',
      'compose-cutover', 'thaw:redis', 'thaw:mysql', 'report']);
    expect(acked.rows.size).toBeGreaterThan(20);
    const report = JSON.parse(await readFile(`${sb.stateDir}/report.migrate.json`, 'utf8'));
    console.log(`cutover-follow: ${acked.rows.size} rows / ${acked.keys.size} keys written while following; downtime ${report.downtimeKind} ${report.downtimeMs} ms; parts ${JSON.stringify(report.downtimeParts?.map((p: { part: string; ms: number }) => [p.part, p.ms]))}`);
    expect(report.downtimeKind).toBe('measured');
    expect(report.downtimeMs).toBeLessThan(180_000); // generous (a busy machine): the figure is logged above and measured by the bench
    // What following leaves inside the freeze for the data: catch-up and promote, sub-second to a few seconds on this shared machine
    // (no copy: 'copy' is 0, exactly); the bound on the time is a generous one.
    const part = (n: string) => (report.downtimeParts as Array<{ part: string; ms: number }>).find((p) => p.part === n)?.ms ?? 0;
    expect(part('copy')).toBe(0);
    expect(part('catch-up') + part('promote')).toBeLessThan(60_000);
    // The following stores' services lost their migration ports before the freeze (unpublish:<store>): cutover recreates nothing.
    const unpublished = first.events.filter((e) => e.type === 'step-done' && e.step?.startsWith('unpublish:')).map((e) => (e as unknown as { durationMs: number }).durationMs);
    console.log(`cutover-follow: unpublish before the freeze ${JSON.stringify(unpublished)} ms; app start inside it ${part('app start')} ms`);
    const journal = JSON.parse(await readFile(join(sb.stateDir, 'journal.migrate.json'), 'utf8')) as { entries: Array<{ id: string; outputs: { data?: Record<string, unknown> } }> };
    const out = (id: string) => journal.entries.find((e) => e.id === id)?.outputs.data;
    expect(out('compose-cutover')).toMatchObject({ recreated: [], appServices: ['vedfolnir'] }); // every data service was handed over before the freeze
    expect(out('compose-precreate')).toMatchObject({ created: ['vedfolnir'], running: [] });

    // The app's container was created before the freeze (compose-precreate) and only started inside it: one container, running.
    const app = execFileSync('docker', ['ps', '-a', '--filter', `label=com.docker.compose.project=${sb.project}`, '--filter', 'label=com.docker.compose.service=vedfolnir', '--format', '{{.State}}'], { encoding: 'utf8' }).trim().split('\n');
    expect(app).toEqual(['running']);

    // Every acknowledged write is on the (frozen) source, and the verify playbook proves the target equal to it.
    const c = await mysql.createConnection({ host: '127.0.0.1', port: myPort, user: 'root', password: ROOT_PW, database: DB });
    const [rows] = await c.query('SELECT id, v FROM live_writes');
    await c.end();
    const onSource = new Map((rows as Array<{ id: number; v: string }>).map((r) => [r.id, r.v]));
    for (const [id, v] of acked.rows) expect(onSource.get(id) ?? null, `row ${id}`).toBe(v);
    const r = new Redis({ host: '127.0.0.1', port: rdPort, password: REDIS_PW });
    for (const [k, v] of acked.keys) if (v !== null) expect(await r.get(k), k).toBe(v);
    r.disconnect();
    const verify = await runPlaybookProcess('verify', ['--config', sb.configPath, '--json'], env());
    expect(verify.exitCode, JSON.stringify(verify.events.filter((e) => e.type === 'step-fail'))).toBe(0);
    const all = JSON.stringify(run.events) + run.stderr + (await readFile(`${sb.stateDir}/report.migrate.md`, 'utf8'));
    for (const secret of [ROOT_PW, REDIS_PW, 'writer-pw', 'p@ss']) expect(all).not.toContain(secret);
  });
});
