/**
 * The second app (PostgreSQL with wal_level=logical, Redis, the uploads and outputs volumes) cut over
 * by following, through the migrate playbook as the operator runs it (a child process): the sources are
 * containers on a user-defined network the test creates, the stack's postgres and redis join it (an
 * external-network override) and follow them by name; the files stores' bulk copy runs before the
 * freeze and their final pass inside it copies only what changed since. A bounded writer inserts,
 * updates and deletes rows, sets and expires keys and writes, rewrites and deletes files from the end of
 * the imports until the writers are stopped. Inside the freeze migrate is killed (SIGKILL) at the
 * catch-up, at a promote and at the cutover; the same command resumes each time to a verified end:
 * every acknowledged write is on the target, the verify playbook exits 0, the sources are thawed, and
 * the report's measured downtime has its parts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { GenericContainer, Wait, type StartedNetwork, type StartedTestContainer } from 'testcontainers';
import { onLoopback } from '../support/containers.ts';
import { testLabels, startTestNetwork } from '../support/labels.ts';
import { testImages } from '../support/images.ts';
import { runPlaybookProcess, startPlaybook, type PlaybookEvent, type PlaybookRun } from '../support/playbook-process.ts';
import { seedSecondApp } from '../../fixtures/postgres/seed.ts';
import { seedVedfolnirRedis } from '../../fixtures/redis/seed.ts';
import { copyVeogenStack, generateVeogenFiles, veogenConfigInput, veogenEnv, VEOGEN_DATABASE, VEOGEN_VOLUMES } from '../../demo/veogen.ts';
import { createComposeClient, MIGRATION_OVERRIDE_FILE } from '../../lib/compose/index.ts';
import { exec } from '../../lib/util/exec.ts';
import { readJournalOutputs } from '../../lib/journal/index.ts';
import { freePort } from '../../lib/util/free-port.ts';

const PG_PW = 'src-pg-pw-second-app';
const REDIS_PW = 'src-redis-pw-second-app';
const APP_PW = 'veogen-app-pw'; // fixtures/postgres: the app's role

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Every regular file under `dir` (relative path → sha256). */
async function treeHashes(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.set(relative(dir, p), sha(await readFile(p)));
    }
  };
  await walk(dir);
  return out;
}

/** The same of a named volume, read by a short-lived labelled container. */
async function volumeHashes(volume: string, image: string): Promise<Map<string, string>> {
  const labels = Object.entries(testLabels()).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  const r = await exec('docker', ['run', '--rm', ...labels, '-v', `${volume}:/v:ro`, '--entrypoint', 'sh', image, '-c', 'cd /v && find . -type f -exec sha256sum {} +']);
  expect(r.exitCode, r.stderr).toBe(0);
  return new Map(r.stdout.split('\n').filter(Boolean).map((l) => { const [h, p] = l.split(/\s+\.\//); return [p!, h!]; }));
}

describe('the second app follows (postgres, redis, two volumes), then cuts over; kills inside the freeze resume', { timeout: 1_200_000 }, () => {
  let network: StartedNetwork;
  let srcPg: StartedTestContainer;
  let srcRd: StartedTestContainer;
  let dir = '';
  let project = '';
  let composeDir = '', appDir = '', stateDir = '', configPath = '';
  let pgUrl = '', rdPort = 0, pgPort = 0;

  beforeAll(async () => {
    network = await startTestNetwork();
    [srcPg, srcRd] = await Promise.all([
      onLoopback(new GenericContainer(testImages().postgres).withLabels(testLabels()).withNetwork(network).withNetworkAliases('ferry-src-pg')
        .withEnvironment({ POSTGRES_PASSWORD: PG_PW, POSTGRES_DB: VEOGEN_DATABASE }).withExposedPorts(5432)
        .withCommand(['postgres', '-c', 'wal_level=logical'])
        .withWaitStrategy(Wait.forHealthCheck()).withStartupTimeout(180_000)).start(),
      onLoopback(new GenericContainer(testImages().redis).withLabels(testLabels()).withNetwork(network).withNetworkAliases('ferry-src-redis')
        .withExposedPorts(6379).withCommand(['redis-server', '--requirepass', REDIS_PW])
        .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))).start(),
    ]);
    pgPort = srcPg.getMappedPort(5432);
    rdPort = srcRd.getMappedPort(6379);
    pgUrl = `postgres://postgres:${PG_PW}@127.0.0.1:${pgPort}/${VEOGEN_DATABASE}`;
    for (let i = 0; ; i++) { // the entrypoint's init server answers before the real one
      try { await q(pgUrl, 'SELECT 1'); break; } catch (e) { if (i > 100) throw e; await new Promise((r) => setTimeout(r, 300)); }
    }
    await seedSecondApp(pgUrl, 1);
    // The operator's one change preflight names for logical replication (audit_log has no key), and the writer's table.
    await q(pgUrl, 'ALTER TABLE public.audit_log REPLICA IDENTITY FULL');
    await q(pgUrl, 'CREATE TABLE public.live_writes (id int PRIMARY KEY, v text NOT NULL)');
    await q(pgUrl, 'GRANT SELECT, INSERT, UPDATE, DELETE ON public.live_writes TO veogen_app');
    const r = new Redis({ host: '127.0.0.1', port: rdPort, password: REDIS_PW });
    try { await seedVedfolnirRedis(r, { scale: 1, big: false }); } finally { r.disconnect(); }

    dir = await mkdtemp(join(tmpdir(), 'ferry-follow-2nd-'));
    project = `ferry-f2-${randomBytes(3).toString('hex')}`;
    composeDir = join(dir, 'compose'); appDir = join(dir, 'app'); stateDir = join(dir, 'state');
    await copyVeogenStack({ composeDir, images: testImages(), password: randomBytes(8).toString('hex') });
    await writeFile(join(composeDir, 'docker-compose.follow-net.yml'), [
      'services:', '  postgres: { networks: { ferrysrc: {} } }', '  redis: { networks: { ferrysrc: {} } }',
      'networks:', `  ferrysrc: { external: true, name: ${network.getName()} }`, '',
    ].join('\n'));
    await generateVeogenFiles(appDir, 1);
    await writeFile(join(appDir, '.env'), veogenEnv({ appDir, ports: { postgres: pgPort, redis: rdPort }, redisPassword: REDIS_PW }), { mode: 0o600 });
    const input = veogenConfigInput({
      sources: { postgresUrl: `postgres://postgres:\${FERRY_SRC_PG_PASSWORD}@127.0.0.1:${pgPort}/${VEOGEN_DATABASE}`, redisUrl: `redis://:\${FERRY_SRC_REDIS_PASSWORD}@127.0.0.1:${rdPort}`, envPorts: { postgres: pgPort, redis: rdPort } },
      appDir, envFile: join(appDir, '.env'), composeDir, stateDir, project,
      ports: { postgres: await freePort(), redis: await freePort() }, helperImage: testImages().redis,
    });
    const follow: Record<string, { host: string; port: number }> = { 'veogen-db': { host: 'ferry-src-pg', port: 5432 }, cache: { host: 'ferry-src-redis', port: 6379 } };
    const config = {
      ...input,
      stores: input.stores!.map((s) => (follow[s.id] ? { ...s, options: { ...s.options, followFrom: follow[s.id] } } : s)),
      target: { ...input.target, files: ['docker-compose.yml', 'docker-compose.follow-net.yml'] },
      cutover: { mode: 'auto', budgetSeconds: 60 },
    };
    configPath = join(dir, 'ferry.config.json');
    await writeFile(configPath, JSON.stringify(config, null, 2));
  });

  afterAll(async () => {
    if (composeDir) {
      const files = ['docker-compose.yml', 'docker-compose.follow-net.yml'];
      if (await stat(join(composeDir, MIGRATION_OVERRIDE_FILE)).then(() => true, () => false)) files.push(MIGRATION_OVERRIDE_FILE);
      const client = await createComposeClient({ composeDir, project, files }).catch(() => undefined);
      await client?.down({ removeVolumes: true }).catch(() => undefined);
      await exec('docker', ['volume', 'rm', '-f', ...VEOGEN_VOLUMES.map((v) => `${project}_${v}`)]);
    }
    await Promise.all([srcPg?.stop({ remove: true, removeVolumes: true }), srcRd?.stop({ remove: true, removeVolumes: true })]);
    await network?.stop().catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const env = () => ({ FERRY_SRC_PG_PASSWORD: PG_PW, FERRY_SRC_REDIS_PASSWORD: REDIS_PW });

  it('carries every write made while following; kills at catch-up, promote and cutover resume; verify exits 0', async () => {
    const acked = { rows: new Map<number, string | null>(), keys: new Map<string, string | null>(), files: new Map<string, string | null>() };
    let writing: Promise<void> | undefined;
    let stop = false;
    const writer = async () => {
      const c = new pg.Client({ connectionString: `postgres://veogen_app:${APP_PW}@127.0.0.1:${pgPort}/${VEOGEN_DATABASE}` });
      // The freeze ends the app's sessions (57P01) while this client may sit idle between writes: not a test failure.
      c.on('error', () => undefined);
      await c.connect();
      const r = new Redis({ host: '127.0.0.1', port: rdPort, password: REDIS_PW, lazyConnect: true });
      r.on('error', () => undefined);
      await r.connect();
      const put = async (rel: string, body: Buffer | null) => {
        const p = join(appDir, rel);
        if (body === null) await unlink(p); else { await mkdir(join(p, '..'), { recursive: true }); await writeFile(p, body); }
        acked.files.set(rel, body === null ? null : sha(body));
      };
      try {
        for (let i = 1; i <= 3000 && !stop; i++) {
          await c.query('INSERT INTO live_writes (id, v) VALUES ($1, $2)', [i, `v${i}`]); acked.rows.set(i, `v${i}`);
          if (i % 3 === 0) { await c.query('UPDATE live_writes SET v = $1 WHERE id = $2', [`u${i - 1}`, i - 1]); acked.rows.set(i - 1, `u${i - 1}`); }
          if (i % 5 === 0) { await c.query('DELETE FROM live_writes WHERE id = $1', [i - 2]); acked.rows.set(i - 2, null); }
          await r.set(`live:${i}`, `v${i}`); acked.keys.set(`live:${i}`, `v${i}`);
          if (i % 4 === 0) { await r.set(`live:exp:${i}`, 'x', 'PX', 50); acked.keys.set(`live:exp:${i}`, null); }
          if (i % 10 === 0) await put(`uploads/live/${i}.jpg`, randomBytes(2048 + i));
          if (i % 30 === 0) await put(`uploads/live/${i - 10}.jpg`, randomBytes(999)); // rewritten
          if (i % 50 === 0) await put(`uploads/live/${i - 20}.jpg`, null); // deleted
          if (i === 40) await put('outputs/job-0000.mp4', randomBytes(4096)); // a bulk-copied file rewritten
          await new Promise((ok) => setTimeout(ok, 20));
        }
      } catch (e) {
        if (!stop) throw e; // a write refused by the freeze after stop-writers began is not acknowledged
      } finally { await c.end().catch(() => undefined); r.disconnect(); }
    };
    const onEvent = (e: PlaybookEvent) => {
      if (e.type === 'step-done' && e.step === 'import:outputs' && !writing) writing = writer();
      if (e.type === 'step-start' && e.step === 'stop-writers') stop = true;
    };
    const args = ['--config', configPath, '--json'];
    // Killed at a step's start inside the freeze (the source frozen, the followers caught up or promoted up to
    // there): the child stops itself right after writing that step-start (stop-at-event.ts), so the kill lands
    // there whatever the machine's speed (a kill 150 ms after the event once landed after compose-cutover, which
    // now takes less than that, and the resume had nothing of it left to do).
    const killAt = async (step: string): Promise<PlaybookRun> => {
      const started = startPlaybook('migrate', args, env(), (e) => {
        onEvent(e);
        if (e.type === 'step-start' && e.step === step) started.child.kill('SIGKILL');
      }, { stopAt: { type: 'step-start', step } });
      const r = await started.done;
      expect(r.signal, `${step}: ${r.stderr.split('\n').slice(-20).join('\n')} ${JSON.stringify(r.events.slice(-3))}`).toBe('SIGKILL');
      return r;
    };
    const runs: PlaybookRun[] = [];
    runs.push(await killAt('catch-up:veogen-db'));
    stop = true;
    await writing;
    const firstDone = runs[0]!.events.filter((e) => e.type === 'step-done').map((e) => e.step);
    console.log(`cutover-follow-second-app: first run done ${firstDone.join(' ')}`);
    expect(firstDone).toEqual(expect.arrayContaining(['import:uploads', 'import:outputs', 'follow:veogen-db', 'follow:cache', 'follow:uploads', 'verify-pinned:uploads', 'freeze:veogen-db']));
    runs.push(await killAt('promote:cache'));
    runs.push(await killAt('compose-cutover'));
    const run = await runPlaybookProcess('migrate', args, env());
    expect(run.exitCode, run.stderr.split('\n').slice(-30).join('\n') + JSON.stringify(run.events.slice(-4))).toBe(0);
    const done = run.events.filter((e) => e.type === 'step-done').map((e) => e.step);
    console.log(`cutover-follow-second-app: last run done ${done.join(' ')}`);
    expect(done).toEqual(expect.arrayContaining(['compose-cutover', 'thaw:veogen-db', 'report']));
    // No resume copied a files store again (the bulk copy's export and import are skipped: the journaled
    // manifest is as the export wrote it, whatever the import and the final pass did beside it).
    for (const [i, r] of [...runs.slice(1), run].entries()) {
      for (const step of ['export:uploads', 'import:uploads', 'export:outputs', 'import:outputs']) {
        const seen = r.events.filter((e) => 'step' in e && e.step === step && (e.type === 'step-done' || e.type === 'step-skip')).map((e) => e.type);
        expect(seen, `run ${i + 2}: ${step}`).toEqual(['step-skip']);
      }
    }
    expect(acked.rows.size).toBeGreaterThan(20);
    expect([...acked.files.keys()].length).toBeGreaterThan(2);

    const report = JSON.parse(await readFile(join(stateDir, 'report.migrate.json'), 'utf8'));
    const parts = (report.downtimeParts as Array<{ part: string; ms: number }> | undefined)?.map((p) => [p.part, p.ms]);
    console.log(`cutover-follow-second-app: ${acked.rows.size} rows / ${acked.keys.size} keys / ${acked.files.size} files written while following; downtime ${report.downtimeKind} ${report.downtimeMs} ms; parts ${JSON.stringify(parts)}`);
    const steps = (report.timings as Array<{ step: string; durationMs: number }>).filter((t) => /^(freeze|catch-up|promote):|^compose-cutover$/.test(t.step));
    console.log(`cutover-follow-second-app: inside the freeze ${steps.map((t) => `${t.step} ${Math.round(t.durationMs)} ms`).join(', ')}`);
    expect(report.downtimeKind).toBe('measured');
    expect(report.downtimeParts.length).toBeGreaterThan(1);
    // The files stores' final pass (catch-up:<files store>) moved what changed since the bulk copy, recorded with files and bytes.
    const outputs = await readJournalOutputs(stateDir, 'migrate');
    const finalPass = Object.fromEntries(VEOGEN_VOLUMES.map((v) => [v, (outputs.get(`catch-up:${v}`)?.data as { finalPass?: { files: number; bytes: number; removed: number; entries: number } } | undefined)?.finalPass]));
    console.log(`cutover-follow-second-app: final passes ${JSON.stringify(finalPass)}; pinned verifies ${JSON.stringify(['veogen-db', 'cache', 'uploads'].map((id) => [id, (outputs.get(`verify-pinned:${id}`)?.data as { ok?: boolean; skipped?: string } | undefined)?.ok ?? 'skipped']))}`);
    // uploads changed while following (new, rewritten and deleted files): its final pass moved them, not the tree.
    expect(finalPass.uploads?.files).toBeGreaterThan(0);
    // Only files written while following can differ from the bulk copy: the pass sent no more than those (not the tree).
    const writtenUploads = [...acked.files].filter(([rel, h]) => rel.startsWith('uploads/') && h !== null).length;
    expect(finalPass.uploads!.files).toBeLessThanOrEqual(writtenUploads);
    expect(finalPass.uploads!.files).toBeLessThan(finalPass.uploads!.entries);
    expect((outputs.get('verify-pinned:cache')?.data as { ok?: boolean } | undefined)?.ok).toBe(true);

    // Every acknowledged write is on the source (the stack is compared with it by verify below).
    const c = new pg.Client({ connectionString: `postgres://veogen_app:${APP_PW}@127.0.0.1:${pgPort}/${VEOGEN_DATABASE}` });
    await c.connect();
    try {
      const { rows } = await c.query<{ id: number; v: string }>('SELECT id, v FROM live_writes');
      const onSource = new Map(rows.map((x) => [x.id, x.v]));
      for (const [id, v] of acked.rows) expect(onSource.get(id) ?? null, `row ${id}`).toBe(v);
    } finally { await c.end(); }
    const rd = new Redis({ host: '127.0.0.1', port: rdPort, password: REDIS_PW });
    try { for (const [k, v] of acked.keys) if (v !== null) expect(await rd.get(k), k).toBe(v); } finally { rd.disconnect(); }

    // Every acknowledged file write is in the volumes, byte for byte, and the volumes hold exactly the trees.
    const inVolume = new Map<string, Map<string, string>>();
    for (const v of VEOGEN_VOLUMES) {
      const got = await volumeHashes(`${project}_${v}`, testImages().redis);
      expect(Object.fromEntries(got), v).toEqual(Object.fromEntries(await treeHashes(join(appDir, v))));
      inVolume.set(v, got);
    }
    for (const [rel, h] of acked.files) {
      const [vol, ...rest] = rel.split('/');
      expect(inVolume.get(vol!)?.get(rest.join('/')) ?? null, rel).toBe(h);
    }

    const verify = await runPlaybookProcess('verify', args, env());
    expect(verify.exitCode, JSON.stringify(verify.events.filter((e) => e.type === 'step-fail'))).toBe(0);
    // The sources are thawed (after verify, which compares them with the stack): the app's role writes again, Redis takes a SET.
    const w = new pg.Client({ connectionString: `postgres://veogen_app:${APP_PW}@127.0.0.1:${pgPort}/${VEOGEN_DATABASE}` });
    await w.connect();
    try { await w.query('INSERT INTO live_writes (id, v) VALUES (1000001, $1)', ['after']); } finally { await w.end(); }
    const rw = new Redis({ host: '127.0.0.1', port: rdPort, password: REDIS_PW, commandTimeout: 5000 });
    try { expect(await rw.set('after:cutover', '1')).toBe('OK'); } finally { rw.disconnect(); }
    const all = runs.concat(run).map((x) => JSON.stringify(x.events) + x.stderr).join('') + (await readFile(join(stateDir, 'report.migrate.md'), 'utf8'));
    for (const secret of [PG_PW, REDIS_PW]) expect(all).not.toContain(secret);
  });
});

async function q(url: string, text: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try { await c.query(text); } finally { await c.end(); }
}
