/**
 * PostgreSQL follow on real servers (the test bed's PostgreSQL 15): source (wal_level=logical) and target
 * containers on a user-defined network the test creates, the target's subscription reaching the source BY
 * NAME; the host reaches both only on 127.0.0.1-published ports. A writer inserts, updates and deletes as
 * the app's role from before the export until the freeze (≤ 30 s): the export runs in the slot's snapshot,
 * the import loads it, follow subscribes without re-copying (killed with SIGKILL and re-run), freeze →
 * catch-up → promote through the engine contract; a fresh export of the frozen source verifies against the
 * target. Abort removes slot, publication and role; DDL during follow is refused; a wal_level=replica
 * source is a "freeze copy" with the reason.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { StartedNetwork, StartedTestContainer } from 'testcontainers';
import { startTestNetwork } from '../support/labels.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killLoopScript } from '../support/kill-loop.ts';
import { startPostgresContainer, type StartedPostgres } from '../support/postgres.ts';
import { seedSecondApp } from '../../fixtures/postgres/seed.ts';
import type { EngineParams } from '../../lib/core/engine.ts';
import { isFerryError } from '../../lib/core/errors.ts';
import { silentLogger } from '../../lib/core/logger.ts';
import { noProgress } from '../../lib/core/progress.ts';
import { Redactor } from '../../lib/util/redact.ts';
import { parsePgUrl, type PgTarget } from '../../lib/engines/postgres/connect.ts';
import { postgresEngine } from '../../lib/engines/postgres/engine.ts';
import { exportPostgres } from '../../lib/engines/postgres/export.ts';
import { abortPostgresFollow, catchUpPostgres, followPostgres, postgresFollowOptionsOf, postgresFollowStatus, promotePostgres, refreshMatviewsPostgres, type PgFollowOptions } from '../../lib/engines/postgres/follow.ts';
import type { PostgresOptions } from '../../lib/engines/postgres/options.ts';
import { readManifest } from '../../lib/engines/postgres/manifest.ts';
import { assessPgFollow, readReplicationFacts } from '../../lib/engines/postgres/replication-prereq.ts';
import { readPgFollowRecord, SECRET_FILE } from '../../lib/engines/postgres/replication-record.ts';
import { replicationNames } from '../../lib/engines/postgres/replication-sql.ts';

const PW = 'pg-Secret-for-follow';
const DB = 'veogen';
const SRC_ALIAS = 'ferry-src-pg';
/** Data size: 1 in the suite (≈ 8k rows); FERRY_FOLLOW_SCALE=250 (≈ 2M rows) shows the cutover does not grow with it. */
const SCALE = Number(process.env.FERRY_FOLLOW_SCALE ?? 1);

interface Server { readonly container: StartedTestContainer; readonly url: string; readonly port: number }

/** `db` is created by the image (the source's); the target's `veogen` is left for the import to create. */
async function startOn(network: StartedNetwork, alias: string, flags: readonly string[], db: string): Promise<Server> {
  const pgs = await startPostgresContainer({ password: PW, database: db, network: { network, alias }, flags });
  return { container: pgs.container!, url: `postgres://postgres:${PW}@127.0.0.1:${pgs.port}/${DB}`, port: pgs.port };
}

async function q<T extends pg.QueryResultRow = Record<string, unknown>>(url: string, text: string, args: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try { return (await c.query<T>(text, args)).rows; } finally { await c.end(); }
}

/** What follow leaves on the source: slots, publications and ferry roles (all must be gone after promote/abort). */
async function leftovers(url: string): Promise<string[]> {
  const rows = await q<{ x: string }>(url, `SELECT 'slot ' || slot_name AS x FROM pg_replication_slots UNION ALL SELECT 'publication ' || pubname FROM pg_publication
    UNION ALL SELECT 'role ' || rolname FROM pg_roles WHERE rolname LIKE 'ferry%' ORDER BY 1`);
  return rows.map((r) => r.x);
}

/** The leftovers of one store's follow (another test's failure must not fail this one's check). */
async function leftoversOf(url: string, id: string): Promise<string[]> {
  const n = replicationNames(id);
  const mine = new Set([`publication ${n.publication}`, `role ${n.role}`, `slot ${n.slot}`]);
  return (await leftovers(url)).filter((x) => mine.has(x));
}

/** Ends what a failed test left behind on the shared source: its follow (slot, publication, role) and a freeze. */
async function cleanUp(p: EngineParams<PostgresOptions>, target: string, frozen?: Awaited<ReturnType<NonNullable<typeof postgresEngine.freeze>>>): Promise<void> {
  if (frozen) await postgresEngine.thaw!(p, frozen).catch(() => undefined);
  await abortPostgresFollow(postgresFollowOptionsOf(p, { source: parsePgUrl(p.store.source as string), target: parsePgUrl(target) })).catch(() => undefined);
}

/**
 * The app: as its own role, inserts, updates and deletes orders, events and audit_log rows until `stop` or
 * `maxMs`; counts acknowledged writes only. The freeze ends its session and refuses writes (25006): it
 * reconnects and counts the refusals.
 */
async function writer(url: string, stop: { now: boolean }, maxMs: number): Promise<{ writes: number; refused: number }> {
  const app = url.replace(`postgres:${PW}`, 'veogen_app:veogen-app-pw');
  const started = performance.now();
  let writes = 0; let refused = 0; let i = 0;
  let c: pg.Client | undefined;
  const ids: string[] = [];
  while (!stop.now && performance.now() - started < maxMs) {
    i++;
    try {
      if (!c) { c = new pg.Client({ connectionString: app }); c.on('error', () => undefined); await c.connect(); }
      const r = await c.query<{ id: string }>(`INSERT INTO orders (user_id, product_id, status, placed_at, items, total, note)
        VALUES ($1, $2, 'paid', now(), $3, $4, $5) RETURNING id::text`, [1 + (i % 400), 1 + (i % 100), JSON.stringify([{ sku: `SKU-${i}`, qty: i % 5 }]), (i * 3.17).toFixed(2), `follow ${i} ✓ é\ttab`]);
      ids.push(r.rows[0]!.id);
      if (i % 3 === 0) await c.query("UPDATE orders SET note = note || ' +', total = total + 1 WHERE id = $1", [ids[ids.length - 2] ?? ids[0]]);
      if (i % 5 === 0) await c.query('DELETE FROM orders WHERE id = $1', [ids.splice(0, 1)[0]]);
      if (i % 4 === 0) await c.query("INSERT INTO events (id, at, kind, payload) VALUES ($1, now(), 'follow', $2)", [10_000_000 + i, JSON.stringify({ i })]);
      if (i % 7 === 0) await c.query("UPDATE audit_log SET detail = jsonb_build_object('touched', $1::int) WHERE ctid = (SELECT ctid FROM audit_log WHERE action = 'login' LIMIT 1)", [i]);
      if (i % 11 === 0) await c.query("UPDATE users SET score = score + 1, profile = profile || '{\"f\": 1}' WHERE id = $1", [1 + (i % 400)]);
      writes++;
    } catch (e) {
      const code = (e as { code?: string }).code;
      refused++;
      if (code !== '25006') { await c?.end().catch(() => undefined); c = undefined; } // the freeze ended the session
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  await c?.end().catch(() => undefined);
  return { writes, refused };
}

const CHILD = `
  const { followPostgres } = await import(${JSON.stringify(fileURLToPath(new URL('../../lib/engines/postgres/follow.ts', import.meta.url)))});
  process.stdout.write('ready\\n');
  const s = await followPostgres(JSON.parse(process.env.FERRY_FOLLOW_OPTIONS));
  process.stdout.write(JSON.stringify(s));
`;

const EXPORT_CHILD = `
  const { postgresEngine } = await import(${JSON.stringify(fileURLToPath(new URL('../../lib/engines/postgres/engine.ts', import.meta.url)))});
  const { Redactor } = await import(${JSON.stringify(fileURLToPath(new URL('../../lib/util/redact.ts', import.meta.url)))});
  const { silentLogger } = await import(${JSON.stringify(fileURLToPath(new URL('../../lib/core/logger.ts', import.meta.url)))});
  const { noProgress } = await import(${JSON.stringify(fileURLToPath(new URL('../../lib/core/progress.ts', import.meta.url)))});
  const s = JSON.parse(process.env.FERRY_STORE);
  process.stdout.write('ready\\n');
  await postgresEngine.export({ store: { id: s.id, engine: 'postgres', source: s.source, target: { service: 'postgres' }, options: s.options },
    targetUrl: s.target, artifactDir: s.artifactDir, stateDir: s.stateDir, signal: new AbortController().signal, log: silentLogger, progress: noProgress, redactor: new Redactor() });
`;

function paramsOf(work: string, id: string, source: string, target: string, options: Record<string, unknown>, redactor: Redactor): EngineParams<PostgresOptions> {
  return {
    store: { id, engine: 'postgres', source, target: { service: 'postgres' }, options: postgresEngine.parseOptions({ chunkBytes: 64 << 10, ...options }, id) },
    targetUrl: target, artifactDir: join(work, id, 'artifact'), stateDir: join(work, id, 'state'),
    signal: new AbortController().signal, log: silentLogger, progress: noProgress, redactor,
  };
}

describe('postgres follow: logical replication from the export\'s slot, catch up, promote', { timeout: 900_000 }, () => {
  let network: StartedNetwork;
  let src: Server; let dst: Server;
  let replica: StartedPostgres;
  let work: string;
  const redactor = new Redactor();

  beforeAll(async () => {
    network = await startTestNetwork();
    [src, dst, replica] = await Promise.all([
      startOn(network, SRC_ALIAS, ['-c', 'wal_level=logical'], DB),
      startOn(network, 'ferry-dst-pg', [], 'postgres'),
      startPostgresContainer({ database: DB, password: PW }),
    ]);
    await seedSecondApp(src.url, SCALE);
    work = await mkdtemp(join(tmpdir(), 'ferry-follow-pg-'));
  }, 900_000);
  afterAll(async () => {
    await Promise.all([src?.container.stop({ remove: true, removeVolumes: true }), dst?.container.stop({ remove: true, removeVolumes: true }), replica?.stop()]);
    await network?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('names the tables logical replication could not publish UPDATE/DELETE for', async () => {
    const c = new pg.Client({ connectionString: src.url });
    await c.connect();
    try {
      const facts = await readReplicationFacts(c, `127.0.0.1:${src.port}`);
      expect(facts.walLevel).toBe('logical');
      const blockers = assessPgFollow(facts, 15);
      expect(blockers.map((b) => b.check)).toEqual(['postgres-follow-identity']);
      expect(blockers[0]!.subject).toBe('tables public.audit_log');
      expect(blockers[0]!.hint).toContain('ALTER TABLE public.audit_log REPLICA IDENTITY FULL;');
      await c.query(blockers[0]!.hint.replace(/^.*run on the source: /, '')); // the operator's one change
      expect(assessPgFollow(await readReplicationFacts(c, 'x'), 15)).toEqual([]);
    } finally { await c.end(); }
  });

  it('follows a live writer from the export\'s snapshot; freeze → catch-up → promote takes seconds; every write is on the target', async () => {
    const p = paramsOf(work, 'pg', src.url, dst.url, { followFrom: { host: SRC_ALIAS, port: 5432 } }, redactor);
    let frozenState: Awaited<ReturnType<NonNullable<typeof postgresEngine.freeze>>> | undefined;
    let thawed = false;
    try {
      // One writer through export, import and the follow kills, another from the follow to the freeze (each ended by its flag).
      const before = { now: false };
      const early = writer(src.url, before, 600_000); // each writer ends by its flag, not at a time a busy machine could reach first
      await new Promise((r) => setTimeout(r, 1_000));

      const exported = await postgresEngine.export(p);
      const rec = await readPgFollowRecord(join(p.stateDir, 'follow'));
      expect(rec).toMatchObject({ state: 'exported', names: replicationNames('pg') });
      expect(rec!.consistentPoint).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
      expect(await postgresEngine.exported!(p)).toBe(true); // the source moved on, yet this export stays the one to import
      expect(exported.data.snapshot).toMatch(/^[0-9A-F]+-[0-9A-F]+-\d+$/);
      await postgresEngine.import(p);

      // follow killed with SIGKILL at growing delays inside the call, then run again to the end.
      const opts: PgFollowOptions = postgresFollowOptionsOf(p, { source: parsePgUrl(src.url), target: parsePgUrl(dst.url) });
      const kills = await killLoopScript(CHILD, { FERRY_FOLLOW_OPTIONS: JSON.stringify({ ...opts, redactor: undefined, log: undefined, signal: undefined }) },
        { firstMs: 5, next: (d) => Math.round(d * 1.6) + 5, maxMs: 20_000 });
      console.log(`follow killed ${kills.length} times (at ${kills.join(', ')} ms), then ran to the end`);
      expect(kills.length).toBeGreaterThan(0);
      const st = await postgresEngine.follow!(p);
      expect(st.following).toBe(true);
      before.now = true;
      const w0 = await early;
      const stop = { now: false };
      const running = writer(src.url, stop, 600_000); // still writing at the freeze, whatever the steps before it took: refusals counted
      expect((await postgresEngine.follow!(p)).following).toBe(true); // again: nothing more happens
      expect(await q(dst.url, 'SELECT subname FROM pg_subscription')).toEqual([{ subname: replicationNames('pg').subscription }]);

      const secret = join(p.stateDir, 'follow', SECRET_FILE);
      expect((await stat(secret)).mode & 0o777).toBe(0o600);
      const pw = (await readFile(secret, 'utf8')).trim();
      expect(await readFile(join(p.stateDir, 'follow', 'follow.json'), 'utf8')).not.toContain(pw);
      expect(redactor.redact(`x ${pw} y`)).not.toContain(pw);

      await new Promise((r) => setTimeout(r, 4_000));
      console.log(`while writing: ${(await postgresFollowStatus(opts)).detail}`);

      // Lag that never closes (the subscription held): catch-up fails at its budget, changes nothing.
      await q(dst.url, `ALTER SUBSCRIPTION ${replicationNames('pg').subscription} DISABLE`);
      await q(src.url, "INSERT INTO audit_log VALUES (now(), 'ferry-test', 'while the subscription is held', NULL)");
      const over = await catchUpPostgres(opts, 500).catch((e: unknown) => e);
      expect(isFerryError(over) && over.code).toBe('E_FOLLOW_BUDGET');
      expect((over as Error).message).toMatch(/within 500ms: confirmed .* bytes behind/);
      const lagging = await promotePostgres(opts).catch((e: unknown) => e); // a target that is behind is not promoted
      expect(isFerryError(lagging) && lagging.code).toBe('E_PG_PROMOTE_LAG');
      await q(dst.url, `ALTER SUBSCRIPTION ${replicationNames('pg').subscription} ENABLE`);
      // The launcher restarts the apply worker up to wal_retrieve_retry_interval (5 s) later: wait for it, so the
      // cutover below measures the catch-up, not the test's own hold.
      for (let i = 0; i < 300; i++) {
        const [row] = await q<{ pid: number | null }>(dst.url, 'SELECT pid FROM pg_stat_subscription WHERE subname = $1 AND relid IS NULL', [replicationNames('pg').subscription]);
        if (row?.pid) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      await new Promise((r) => setTimeout(r, 1_000));

      const t0 = performance.now();
      const frozen = await postgresEngine.freeze!(p);
      frozenState = frozen;
      const frozenAt = performance.now();
      const caught = await postgresEngine.catchUp!(p, 30_000);
      const caughtAt = performance.now();
      await postgresEngine.promote!(p);
      const t1 = performance.now();
      stop.now = true;
      const w = await running;
      console.log(`writers: ${w0.writes} acknowledged writes before the follow, ${w.writes} after, ${w.refused} refused by the freeze`);
      console.log(`cutover: freeze ${Math.round(frozenAt - t0)} ms, catch-up ${Math.round(caughtAt - frozenAt)} ms, promote ${Math.round(t1 - caughtAt)} ms, freeze→promoted ${Math.round(t1 - t0)} ms`);
      const r0 = performance.now();
      expect(await refreshMatviewsPostgres(postgresFollowOptionsOf(p, { source: parsePgUrl(src.url), target: parsePgUrl(dst.url) }, await readManifest(p.artifactDir)))).toBe(1);
      console.log(`after the cutover: materialized views refreshed in ${Math.round(performance.now() - r0)} ms`);
      expect(await q(dst.url, 'SELECT count(*)::int AS n FROM user_totals')).toEqual(await q(src.url, 'SELECT count(DISTINCT user_id)::int AS n FROM orders'));
      expect(frozen).toMatchObject({ engine: 'postgres', before: null });
      expect(caught.lag).toBe(0);
      expect(w0.writes + w.writes).toBeGreaterThan(100);
      expect(w.refused).toBeGreaterThan(0);
      // Seconds, not the copy: a generous bound (the figure itself is measured by the cutover bench, never by a timed test):
      // catch-up's own budget (30 s) and the promote.
      expect(t1 - t0).toBeLessThan(60_000);

      // Every acknowledged write: a fresh export of the frozen source, verified table by table against the target.
      const final = { ...p, artifactDir: join(work, 'pg', 'final') };
      await exportPostgres({ source: parsePgUrl(src.url), dir: final.artifactDir, chunkBytes: 64 << 10 });
      const report = await postgresEngine.verify(final);
      expect(report.entries.filter((e) => !e.ok)).toEqual([]);
      expect(report.ok).toBe(true);
      const probe = "SELECT count(*)::int AS n, max(id)::text AS top, md5(string_agg(id || note || total, ',' ORDER BY id)) AS h FROM orders WHERE note LIKE 'follow%'";
      const [a] = await q(src.url, probe);
      expect(await q(dst.url, probe)).toEqual([a]);
      expect(Number(a!.n)).toBeGreaterThan(50);
      // Sequences carried at promote: the next order id on the target follows the source's last one.
      const [next] = await q<{ v: string }>(dst.url, "SELECT nextval(pg_get_serial_sequence('orders', 'id'))::text AS v");
      expect(BigInt(next!.v)).toBeGreaterThan(BigInt(a!.top as string));
      expect(await leftovers(src.url)).toEqual([]);
      expect(await q(dst.url, 'SELECT subname FROM pg_subscription')).toEqual([]);
      await expect(stat(secret)).rejects.toThrow();
      await promotePostgres(opts); // again: nothing
      expect((await followPostgres(opts)).following).toBe(false);

      await postgresEngine.thaw!(p, frozen);
      thawed = true;
      expect(await q(src.url, 'SELECT count(*)::int AS n FROM pg_db_role_setting')).toEqual([{ n: 0 }]);
      await q(src.url.replace(`postgres:${PW}`, 'veogen_app:veogen-app-pw'), "INSERT INTO audit_log VALUES (now(), 'after thaw', 'write', NULL)");
    } finally {
      if (!thawed) await cleanUp(p, dst.url, frozenState);
    }
  });

  it('refuses DDL made during the follow phase, naming the object; abort removes everything and never froze the source', async () => {
    const target = dst.url.replace(/\/veogen$/, '/veogen_abort');
    const p = paramsOf(work, 'pg-abort', src.url, target, { followFrom: { host: SRC_ALIAS, port: 5432 }, targetDatabase: 'veogen_abort' }, redactor);
    await postgresEngine.export(p);
    await postgresEngine.import(p);
    expect((await postgresEngine.follow!(p)).following).toBe(true);
    const n = replicationNames('pg-abort');
    expect(await leftoversOf(src.url, 'pg-abort')).toEqual([`publication ${n.publication}`, `role ${n.role}`, `slot ${n.slot}`]);

    await q(src.url, 'ALTER TABLE products ADD COLUMN ferry_probe text');
    const ddl = await postgresEngine.catchUp!(p, 5_000).catch((e: unknown) => e);
    expect(isFerryError(ddl) && ddl.code).toBe('E_PG_FOLLOW_DDL');
    expect((ddl as Error).message).toContain('column public.products.ferry_probe');
    await q(src.url, 'ALTER TABLE products DROP COLUMN ferry_probe');
    const [lo] = await q<{ oid: string }>(src.url, "SELECT lo_from_bytea(0, 'written during follow')::int8::text AS oid");
    const loErr = await postgresEngine.catchUp!(p, 5_000).catch((e: unknown) => e);
    expect(isFerryError(loErr) && loErr.code).toBe('E_PG_FOLLOW_DDL');
    expect((loErr as Error).message).toContain(`large object ${lo!.oid} created`);
    await q(src.url, 'SELECT lo_unlink($1::oid)', [lo!.oid]);

    await abortPostgresFollow(postgresFollowOptionsOf(p, { source: parsePgUrl(src.url), target: parsePgUrl(target) }));
    expect(await leftoversOf(src.url, 'pg-abort')).toEqual([]);
    expect(await q(target, 'SELECT subname FROM pg_subscription')).toEqual([]);
    expect(await q(src.url, 'SELECT count(*)::int AS n FROM pg_db_role_setting')).toEqual([{ n: 0 }]);
    await abortPostgresFollow(postgresFollowOptionsOf(p, { source: parsePgUrl(src.url) })); // again: nothing
    const again = await postgresEngine.follow!(p).catch((e: unknown) => e);
    expect(isFerryError(again) && again.code).toBe('E_PG_FOLLOW_ABORTED');
  });

  it('an export for follow killed with SIGKILL resumes (the slot made again); a source the stack cannot reach is named; abort cleans up', async () => {
    const target = dst.url.replace(/\/veogen$/, '/veogen_lost');
    const p = paramsOf(work, 'pg-lost', src.url, target, { followFrom: { host: 'ferry-nowhere', port: 5432 }, targetDatabase: 'veogen_lost' }, redactor);
    const env = { FERRY_STORE: JSON.stringify({ id: 'pg-lost', source: src.url, target, artifactDir: p.artifactDir, stateDir: p.stateDir, options: p.store.options }) };
    const kills = await killLoopScript(EXPORT_CHILD, env, { firstMs: 50, next: (d) => Math.round(d * 1.7), maxMs: 60_000 });
    console.log(`export for follow killed ${kills.length} times (at ${kills.join(', ')} ms), then ran to the end`);
    expect(kills.length).toBeGreaterThan(1);
    const n = replicationNames('pg-lost');
    expect(await leftoversOf(src.url, 'pg-lost')).toEqual([`publication ${n.publication}`, `role ${n.role}`, `slot ${n.slot}`]);
    expect((await readPgFollowRecord(join(p.stateDir, 'follow')))?.state).toBe('exported');
    await postgresEngine.import(p);
    expect((await postgresEngine.verify(p)).ok).toBe(true);

    const err = await postgresEngine.follow!(p).catch((e: unknown) => e);
    expect(isFerryError(err) && err.code).toBe('E_PG_FOLLOW_UNREACHABLE');
    expect((err as Error).message).toContain('ferry-nowhere:5432');
    expect((err as { hint: string }).hint).toContain('listen_addresses');
    const pw = (await readFile(join(p.stateDir, 'follow', SECRET_FILE), 'utf8')).trim();
    expect(JSON.stringify(err)).not.toContain(pw);
    expect(String((err as Error).message)).not.toContain(PW);

    await abortPostgresFollow(postgresFollowOptionsOf(p, { source: parsePgUrl(src.url), target: parsePgUrl(target) }));
    expect(await leftoversOf(src.url, 'pg-lost')).toEqual([]);
    expect(await q(target, 'SELECT subname FROM pg_subscription')).toEqual([]);
  });

  it('a wal_level=replica source is exported as a freeze copy, with the reason and the restart it needs', async () => {
    await seedSecondApp(replica.url, 0.05);
    const target = dst.url.replace(/\/veogen$/, '/veogen_replica');
    const p = paramsOf(work, 'pg-replica', replica.url, target, { followFrom: {}, targetDatabase: 'veogen_replica' }, redactor);
    await postgresEngine.export(p);
    const rec = await readPgFollowRecord(join(p.stateDir, 'follow'));
    expect(rec?.state).toBe('freeze-copy');
    expect(rec?.reason).toContain('wal_level is replica');
    expect(rec?.reason).toContain('restart PostgreSQL');
    expect(rec?.reason).toContain('ferry never restarts it');
    await postgresEngine.import(p);
    const st = await postgresEngine.follow!(p);
    expect(st.following).toBe(false);
    expect(st.detail).toMatch(/^freeze copy: wal_level is replica/);
    expect(await leftovers(replica.url)).toEqual([]);
    expect((await postgresEngine.verify(p)).ok).toBe(true);
  });
});
