/**
 * The second app (`--demo=veogen`) through every playbook, as the operator runs them (child processes,
 * --json), on one migrated demo: `migrate` (kept with FERRY_DEMO_KEEP=1; its PostgreSQL 15 and Redis
 * sources and uploads/outputs trees into a throwaway copy of compose/examples/veogen, which follows them
 * on the run's network; no replication is left on them after), `verify` after the cutover (every store
 * verified; the stack publishes nothing: exec tunnels), then writes in the stack and `rollback --with-data`, SIGKILLed while it reloads the host and run again (the host's
 * PostgreSQL gets the stack's writes back, verified), and a `rehearse` on a
 * fresh demo that leaves nothing behind. The children get the test's own TMPDIR, so the kept-demo
 * pointer and the demos' directories are this test's alone.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec } from '../../lib/util/exec.ts';
import { DEMO_RUN_LABEL } from '../../demo/index.ts';
import { NODE, startPlaybook, whyFailed, type PlaybookRun } from '../support/playbook-process.ts';

/** A file's text, or '' while it does not exist. */
const readIfThere = (path: string): string => { try { return readFileSync(path, 'utf8'); } catch { return ''; } };

const REPO = fileURLToPath(new URL('../../', import.meta.url));

const logs = (r: PlaybookRun) => r.events.filter((e) => e.type === 'log').map((e) => String(e.message));
const failures = (r: PlaybookRun) => r.events.filter((e) => e.type === 'step-fail').map((e) => JSON.stringify(e)).join('\n');

interface ReportStore { id: string; engine: string; ok: boolean; entries: Array<{ subject: string; ok: boolean; counts?: Record<string, number> }> }
interface Report {
  ok: boolean; stores: ReportStore[];
  cutover: Array<{ store: string; how: string }>; downtimeKind: string; downtimeParts: Array<{ part: string; ms: number }>;
}

async function lines(args: string[]): Promise<string[]> {
  const r = await exec('docker', args);
  expect(r.exitCode, r.stderr).toBe(0);
  return r.stdout.split('\n').filter(Boolean);
}

function expectAllVerified(report: Report): void {
  expect(report.ok).toBe(true);
  // The stores' verify steps run side by side: the report lists them in the order they finished.
  const byId = (a: readonly unknown[], b: readonly unknown[]) => String(a[0]).localeCompare(String(b[0]));
  expect(report.stores.map((s) => [s.id, s.engine, s.ok]).sort(byId)).toEqual([
    ['veogen-db', 'postgres', true], ['cache', 'redis', true], ['uploads', 'files', true], ['outputs', 'files', true],
  ].sort(byId));
  for (const s of report.stores) {
    expect(s.entries.length, s.id).toBeGreaterThan(0);
    expect(s.entries.filter((e) => !e.ok), s.id).toEqual([]);
  }
}

describe('--demo=veogen: migrate, verify, rollback --with-data, rehearse', { timeout: 1_800_000 }, () => {
  let tmp: string;
  let env: Record<string, string>;
  /** The kept demo: its directory, compose project and config (the source URL). */
  let kept: { base: string; project: string; sourceUrl: string };

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'ferry-e2e-veogen-'));
    env = { TMPDIR: tmp, FERRY_DEMO_KEEP: '1' };
  });

  afterAll(async () => {
    if (!tmp) return;
    // The kept demo's pointer is under the children's tmpdir (fixed when demo/ loads): discarded by a child of the same TMPDIR.
    const r = await exec(NODE, ['--input-type=module', '-e', "const { discardKeptDemo } = await import('./demo/index.ts'); await discardKeptDemo(console.log);"], {
      cwd: REPO, env: { TMPDIR: tmp }, timeoutMs: 300_000,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    await rm(tmp, { recursive: true, force: true });
    if (kept) {
      expect(await lines(['ps', '-aq', '--filter', `label=com.docker.compose.project=${kept.project}`])).toEqual([]);
      expect((await lines(['volume', 'ls', '-q'])).filter((v) => v.startsWith(`${kept.project}_`))).toEqual([]);
    }
  });

  it('migrates the second app (postgres, redis, two volumes) by following its live sources: every store follows, catches up and is promoted', async () => {
    const r = await startPlaybook('migrate', ['--demo=veogen', '--json'], env).done;
    expect(failures(r)).toBe('');
    expect(r.exitCode, whyFailed(r)).toBe(0);
    const pointer = JSON.parse(await readFile(join(tmp, 'ferry-demo-kept.json'), 'utf8')) as { base: string; project: string };
    const input = JSON.parse(await readFile(join(pointer.base, 'demo.json'), 'utf8')) as { stores: Array<{ id: string; source: string }> };
    kept = { ...pointer, sourceUrl: input.stores.find((s) => s.id === 'veogen-db')!.source };
    const report = JSON.parse(await readFile(join(pointer.base, 'state', 'report.migrate.json'), 'utf8')) as Report;
    // Following stores are checked by their catch-up's final check inside the freeze (no verify:<store> step in the
    // migrate): the store by store verification with counts is the next test's, after the cutover.
    expect(report.ok).toBe(true);
    expect(r.events.filter((e) => e.type === 'step-done').map((e) => String(e.step))).toEqual(expect.arrayContaining(
      ['veogen-db', 'cache', 'uploads', 'outputs'].flatMap((id) => [`follow:${id}`, `catch-up:${id}`, `promote:${id}`])));
    // Every store crossed by following (the sources sit on the run's network, PostgreSQL with wal_level=logical),
    // the downtime was measured with its parts, and the demo's summary line says so.
    expect(report.cutover.map((c) => [c.store, c.how])).toEqual([['veogen-db', 'follow'], ['cache', 'follow'], ['uploads', 'follow'], ['outputs', 'follow']]);
    expect(report.downtimeKind).toBe('measured');
    expect(report.downtimeParts.map((p) => p.part)).toEqual(expect.arrayContaining(['freeze', 'catch-up', 'promote']));
    expect(logs(r).find((l) => l.startsWith('demo downtime (measured): '))).toMatch(/\(parts: .*freeze .*catch-up .*\); stores: veogen-db follow, cache follow, uploads follow, outputs follow$/u);
    // Promoted: the slot, publication and replication role are gone from the source PostgreSQL, no replica on its Redis.
    const c = new pg.Client({ connectionString: kept.sourceUrl });
    await c.connect();
    try {
      const n = async (sql: string) => Number(((await c.query(sql)).rows[0] as { n: number }).n);
      expect(await n('SELECT count(*)::int AS n FROM pg_replication_slots')).toBe(0);
      expect(await n('SELECT count(*)::int AS n FROM pg_publication')).toBe(0);
      expect(await n("SELECT count(*)::int AS n FROM pg_roles WHERE rolname LIKE 'ferry\\_repl\\_%'")).toBe(0);
    } finally {
      await c.end();
    }
    const redisUrl = input.stores.find((s) => s.id === 'cache')!.source;
    const rd = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    rd.on('error', () => undefined);
    try {
      await rd.connect();
      let replicas = -1;
      for (let i = 0; i < 120 && replicas !== 0; i++) { // a replica let go may take a moment to be noticed (a minute allowed: a busy machine)
        if (i) await new Promise((res) => setTimeout(res, 500));
        replicas = Number(/connected_slaves:(\d+)/u.exec(await rd.info('replication'))?.[1] ?? -1);
      }
      expect(replicas).toBe(0);
    } finally { rd.disconnect(); }
  });

  it('verify after the cutover reaches every store through exec tunnels and finds it equal', async () => {
    expect(kept).toBeDefined();
    // After cutover nothing is published: the migration ports are free, ferry goes through docker exec.
    const r = await startPlaybook('verify', ['--demo=veogen', '--json'], env).done;
    expect(failures(r)).toBe('');
    expect(r.exitCode, whyFailed(r)).toBe(0);
    expect(logs(r).join('\n')).toContain(`reusing the kept demo in ${kept.base}`);
    const report = JSON.parse(await readFile(join(kept.base, 'state', 'report.verify.json'), 'utf8')) as Report;
    expectAllVerified(report);
    expect(report.stores[0]!.entries.find((e) => e.subject === 'table public.orders')?.counts?.targetRows).toBe(4000);
    // uploads: 40 images in 7 user directories; outputs: 10 clips at the top.
    const files = (id: string) => report.stores.find((s) => s.id === id)!.entries.reduce((n, e) => n + (e.counts?.files ?? 0), 0);
    expect(files('uploads')).toBe(40);
    expect(files('outputs')).toBe(10);
  });

  it('rollback --with-data, SIGKILLed while it reloads the host, resumes and puts what the app wrote in the stack into the host PostgreSQL', async () => {
    expect(kept).toBeDefined();
    const [container] = await lines(['ps', '-q', '--filter', `label=com.docker.compose.project=${kept.project}`, '--filter', 'label=com.docker.compose.service=postgres']);
    const psql = (sql: string) => exec('docker', ['exec', container!, 'psql', '-U', 'postgres', '-d', 'veogen', '-v', 'ON_ERROR_STOP=1', '-qAtc', sql]);
    // The app in the stack: a new user, a changed product, a deleted order (and its sequence moves on).
    const w = await psql(`INSERT INTO users (email, name, created_at) VALUES ('after@cutover', 'After Cutover', now()) RETURNING id;
      UPDATE products SET title = 'renamed in the stack' WHERE id = 1; DELETE FROM orders WHERE id = 1; SELECT count(*) FROM users;`);
    expect(w.exitCode, w.stderr).toBe(0);
    const [newId, users] = w.stdout.trim().split('\n').map(Number);

    // Killed once the reverse has dropped and begun reloading the host's database (the worst moment): the rollback
    // stops itself at the reverse's first progress tick after a chunk landed in the host (stop-at-event.ts), and
    // is killed there (a poll of the log and a kill a moment later could land after the reload, or the rollback, ended).
    const reverseLog = join(kept.base, 'state', 'stores', 'veogen-db', 'reverse', 'import.log');
    const killed = startPlaybook('rollback', ['--demo=veogen', '--with-data', '--json'], env, (e) => {
      if (e.type === 'progress' && e.step === 'reverse:veogen-db' && /^chunk /m.test(readIfThere(reverseLog))) killed.child.kill('SIGKILL');
    }, { stopAt: { type: 'progress', step: 'reverse:veogen-db', file: reverseLog, matches: '^chunk ' } });
    const died = await killed.done;
    expect(died.signal, died.stderr.slice(-2000)).toBe('SIGKILL');
    const atKill = await readFile(reverseLog, 'utf8');
    expect(atKill).toMatch(/^begin$/m);
    expect(atKill).toMatch(/^chunk /m);
    expect(atKill).not.toMatch(/^done$/m);

    // The same command again: the reverse resumes its own export's load, verifies, and the rollback completes.
    const r = await startPlaybook('rollback', ['--demo=veogen', '--with-data', '--json'], env).done;
    expect(failures(r)).toBe('');
    expect(r.exitCode, whyFailed(r)).toBe(0);
    expect(r.events.some((e) => e.type === 'step-done' && e.step === 'reverse:veogen-db')).toBe(true);
    expect(logs(r).join('\n')).toMatch(/veogen-db: database veogen on 127\.0\.0\.1:\d+ \(owner postgres, .*\) replaced by the stack's data \(\d+ rows in \d+ tables, verified\)/);

    const c = new pg.Client({ connectionString: kept.sourceUrl });
    await c.connect();
    try {
      const one = async (sql: string) => (await c.query(sql)).rows[0] as Record<string, unknown>;
      expect(await one("SELECT id::int AS id, name FROM users WHERE email = 'after@cutover'")).toEqual({ id: newId, name: 'After Cutover' });
      expect(await one('SELECT title FROM products WHERE id = 1')).toEqual({ title: 'renamed in the stack' });
      expect(await one('SELECT count(*)::int AS n FROM orders')).toEqual({ n: 3999 });
      expect(await one('SELECT count(*)::int AS n FROM users')).toEqual({ n: users });
      // The sequence came back with the data: the host's next user does not collide with the stack's.
      expect(Number((await one("SELECT nextval('users_id_seq')::int AS v")).v)).toBeGreaterThan(newId!);
      // Thawed and recreated: the host's app can write again; the stack's roles and the planner's statistics are there.
      expect(await one("SELECT current_setting('default_transaction_read_only') AS ro")).toEqual({ ro: 'off' });
      expect(await one("SELECT count(*)::int AS n FROM pg_roles WHERE rolname IN ('veogen_app', 'veogen_ro')")).toEqual({ n: 2 });
      expect(await one("SELECT (last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL) AS analyzed FROM pg_stat_user_tables WHERE relname = 'orders'")).toEqual({ analyzed: true });
    } finally {
      await c.end();
    }
  });

  it('rehearse rehearses into a throwaway stack, verifies it, and leaves nothing of it or the demo', async () => {
    const started = startPlaybook('rehearse', ['--demo=veogen', '--json'], { TMPDIR: tmp });
    const r = await started.done;
    expect(failures(r)).toBe('');
    expect(r.exitCode, whyFailed(r)).toBe(0);
    const stack = /target stack (ferry-demo-([0-9a-f]{6}))/.exec(logs(r).join('\n'));
    expect(stack).not.toBeNull();
    const [, project, hex] = stack!;
    const reportPath = logs(r).map((l) => /^demo report kept: (.+\.json)$/.exec(l)?.[1]).find(Boolean);
    expect(reportPath).toBeDefined();
    const report = JSON.parse(await readFile(reportPath!, 'utf8')) as Report;
    expectAllVerified(report);
    // Nothing of the demo is left: its source servers (labelled with the run), the rehearsal's containers and volumes.
    expect(await lines(['ps', '-aq', '--filter', `label=${DEMO_RUN_LABEL}=${started.child.pid}-${hex}`])).toEqual([]);
    expect((await lines(['ps', '-a', '--format', '{{.Label "com.docker.compose.project"}}'])).filter((p) => p.startsWith(project!))).toEqual([]);
    expect((await lines(['volume', 'ls', '-q'])).filter((v) => v.startsWith(`${project}`))).toEqual([]);
  });
});
