/**
 * The migrate process is SIGKILLed at random instants across export, import and verify (at least 10
 * times); each re-run of the same command resumes from the journal (taking over the dead run's lock by
 * itself). The last run ends verified with nothing lost: every table's rows and checksum and every
 * persistent Redis key as in the source's snapshot. Then the completed migrate is run again and killed,
 * and run again: a no-op each time ("completed at …", exit 0), the source never frozen again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import mysql from 'mysql2/promise';
import type { StartedMysql, StartedRedis } from '../support/containers.ts';
import { startSeededSource, type SeededSource } from '../support/seeded-source.ts';
import type { Sandbox } from '../support/sandbox.ts';
import { runPlaybookProcess, startPlaybook, whyFailed } from '../support/playbook-process.ts';
import { takeSourceSnapshot, type SourceSnapshot } from '../../lib/freeze/index.ts';

/** export, import or verify of a store (`export:mysql`, or the legacy `mysql-export`); undefined for other steps. */
const phaseOf = (step: string | undefined) => /^(export|import|verify):|^(?:mysql|redis)-(export|import|verify)$/.exec(step ?? '')?.slice(1).find(Boolean);
const MIN_KILLS = 10;
const FIRST_WINDOW_MS = 150;

describe('migrate survives SIGKILL at random instants', { timeout: 1_800_000 }, () => {
  let src: SeededSource;
  let my: StartedMysql;
  let rd: StartedRedis;
  let sb: Sandbox;
  let before: SourceSnapshot;

  beforeAll(async () => {
    src = await startSeededSource({ redisPassword: 'kill-test-redis-pw', scale: 2, bigHash: false });
    ({ my, rd, sb } = src);
    before = await takeSourceSnapshot({ source: {
      mysql: { host: my.host, port: my.port, user: 'root', password: my.rootPassword, databases: [my.database] },
      redis: { host: rd.host, port: rd.port, password: rd.password!, databases: [] },
    } });
  });

  afterAll(async () => {
    await src?.stop();
  });

  it(`is killed ≥ ${MIN_KILLS} times across export, import and verify, and each re-run resumes to a verified end`, async () => {
    // The stack's images come from the sandbox's compose/.env; the passwords from env (config ${…} refs).
    const env = { ...sb.env };
    const args = ['--config', sb.configPath, '--json'];
    const kills: Array<{ step: string; armed: string; afterMs: number }> = [];
    let finished = false;
    for (let i = 0; i < 100 && !finished; i++) { // a bound only: a slow machine's longer steps take more doublings of their window
      let timer: NodeJS.Timeout | undefined;
      let current = '';
      const p = startPlaybook('migrate', args, env, (e) => {
        if (e.type === 'step-start' && e.step) current = e.step;
        if ((e.type === 'step-done' || e.type === 'step-skip') && phaseOf(e.step)) { clearTimeout(timer); timer = undefined; }
        if (e.type === 'step-start' && phaseOf(e.step)) {
          // One armed timer per step: random within a window that doubles each time this step is
          // killed, so every step is killed at least once and still finishes eventually. The first
          // window is short: on a quiet machine a step can take a few hundred ms (9 kills in all at 600).
          clearTimeout(timer);
          const armed = e.step!;
          const window = FIRST_WINDOW_MS * 2 ** kills.filter((k) => k.armed === armed).length;
          const afterMs = Math.floor(Math.random() * window);
          timer = setTimeout(() => { kills.push({ step: current, armed, afterMs }); p.child.kill('SIGKILL'); }, afterMs);
        }
      });
      const r = await p.done;
      clearTimeout(timer);
      if (r.signal === 'SIGKILL') continue;
      expect(r.stderr.split('\n').filter((l) => l.includes('✖')).join('\n')).toBe('');
      expect(r.exitCode).toBe(0);
      finished = true;
    }
    console.log(`kills: ${kills.map((k) => `${k.step}+${k.afterMs}ms`).join(', ')}`);
    expect(kills.length).toBeGreaterThanOrEqual(MIN_KILLS);
    expect(new Set(kills.map((k) => phaseOf(k.step) ?? k.step)).size).toBeGreaterThanOrEqual(2);
    expect(finished).toBe(true);

    const report = JSON.parse(await readFile(`${sb.stateDir}/report.migrate.json`, 'utf8'));
    expect(report.ok).toBe(true);
    for (const t of report.mysql.tables as Array<{ table: string; targetRows: number; ok: boolean }>) {
      expect(t.ok, t.table).toBe(true);
      expect(t.targetRows, t.table).toBe(before.mysql!.tables[t.table]!.rows);
    }
    expect(report.mysql.tables.length).toBe(Object.keys(before.mysql!.tables).length);
    const v = await runPlaybookProcess('verify', ['--config', sb.configPath, '--json'], env);
    expect(v.exitCode, JSON.stringify(v.events.filter((e) => e.type === 'step-fail' || e.type === 'error'))).toBe(0);

    // Completed: run it again, killed at a random instant after its run started (lock taken, journal
    // read), four times, then once to its end. Nothing may start (no step-start: no freeze, no ports
    // reopened), and the last run says when it completed.
    const afterCompletion: string[] = [];
    for (let i = 0; i < 4; i++) {
      let timer: NodeJS.Timeout | undefined;
      const afterMs = Math.floor(Math.random() * 40);
      const p = startPlaybook('migrate', args, env, (e) => {
        if (e.type === 'run-start') timer = setTimeout(() => p.child.kill('SIGKILL'), afterMs);
      });
      const r = await p.done;
      clearTimeout(timer);
      const last = r.events.at(-1)?.type ?? 'nothing';
      afterCompletion.push(`run-start+${afterMs}ms:${r.signal ?? `exit ${r.exitCode}`} after ${last}`);
      expect(r.events.filter((e) => e.type === 'step-start' || e.type === 'step-phase')).toEqual([]);
      if (r.signal !== 'SIGKILL') expect(r.exitCode, whyFailed(r)).toBe(0);
    }
    const again = await runPlaybookProcess('migrate', args, env);
    console.log(`after completion: ${afterCompletion.join(', ')}, then exit ${again.exitCode}`);
    expect(again.exitCode, whyFailed(again)).toBe(0);
    const end = again.events.find((e) => e.type === 'run-end') as { result: { status: string; completedAt?: string; steps: Array<{ status: string; reason?: string }> } } | undefined;
    expect(end?.result).toMatchObject({ status: 'ok', completedAt: expect.stringMatching(/^\d{4}-/) });
    expect(end!.result.steps.every((x) => x.status === 'skipped' && x.reason === `completed at ${end!.result.completedAt}`)).toBe(true);
    expect(again.events.filter((e) => e.type === 'step-start')).toEqual([]);
    const c = await mysql.createConnection({ host: my.host, port: my.port, user: 'root', password: my.rootPassword });
    const [[ro]] = await c.query('SELECT @@global.read_only AS ro') as unknown as [[{ ro: number }]];
    await c.end();
    expect(ro.ro).toBe(0);
  });
});
