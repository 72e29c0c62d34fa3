/**
 * MySQL follow on real servers (MariaDB 10.11 standing in for MySQL 8): source and target containers on
 * a user-defined network the test creates, the target reaching the source BY NAME; the host reaches both
 * only on 127.0.0.1-published ports. Export + import, then follow while a writer inserts, updates and
 * deletes; freeze (read_only) with the writer still running, catch up, promote; every acknowledged write is
 * on the target (a fresh export of the frozen source verified against it). A follow killed with SIGKILL
 * resumes by running it again; abort removes the account; a source without a binary log is refused.
 */
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createConnection, type Connection } from 'mysql2/promise';
import { GenericContainer, Wait, type StartedNetwork, type StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onLoopback } from '../support/containers.ts';
import { testImages } from '../support/images.ts';
import { testLabels, startTestNetwork } from '../support/labels.ts';
import { killLoop as killLoopOf } from '../support/kill-loop.ts';
import { seedVedfolnirMysql } from '../../fixtures/mysql/seed.ts';
import { exportMysql, importMysql, verifyMysql, type Manifest, type MysqlTarget } from '../../lib/engines/mysql/index.ts';
import { abortMysqlFollow, catchUpMysql, followMysql, mysqlFollowStatus, probeSourceFromStack, promoteMysql, type MysqlFollowOptions } from '../../lib/engines/mysql/follow.ts';
import { accountFor, SECRET_FILE } from '../../lib/engines/mysql/replication-account.ts';
import { verifyMysqlPinned } from '../../lib/engines/mysql/replication-pin.ts';
import { Redactor } from '../../lib/util/redact.ts';
import { isFerryError } from '../../lib/core/errors.ts';
import type { EngineParams } from '../../lib/core/engine.ts';
import { silentLogger } from '../../lib/core/logger.ts';
import { noProgress } from '../../lib/core/progress.ts';
import { mysqlEngine } from '../../lib/engines/mysql/engine.ts';
import type { MysqlOptions } from '../../lib/engines/mysql/options.ts';

const ROOT_PW = 'root-pw-for-follow';
const APP_PW = 'app-pw-for-follow';
const DB = 'vedfolnir';

/** Data size: 1 in the suite; FERRY_FOLLOW_SCALE=100 measures the cutover on a big store (it should not grow). */
const SCALE = Number(process.env.FERRY_FOLLOW_SCALE ?? 1);

interface Server { readonly container: StartedTestContainer; readonly ep: MysqlTarget }

/** A MariaDB on the test's network under `alias`, published on 127.0.0.1 only. */
async function startOn(network: StartedNetwork, alias: string, flags: readonly string[]): Promise<Server> {
  const container = await onLoopback(new GenericContainer(testImages().mysql)
    .withLabels(testLabels())
    .withNetwork(network).withNetworkAliases(alias)
    .withEnvironment({ MYSQL_ROOT_PASSWORD: ROOT_PW, MYSQL_DATABASE: DB })
    .withExposedPorts(3306)
    .withCommand(['mysqld', '--max-allowed-packet=256M', ...flags])
    .withWaitStrategy(Wait.forHealthCheck())
    .withStartupTimeout(180_000)).start();
  return { container, ep: { host: '127.0.0.1', port: container.getMappedPort(3306), user: 'root', password: ROOT_PW } };
}

const connect = (ep: MysqlTarget, user = ep.user, password = ep.password): Promise<Connection> =>
  createConnection({ host: ep.host, port: ep.port, user, password, database: DB, dateStrings: true, supportBigNumbers: true, bigNumberStrings: true });
const one = async <T>(c: Connection, sql: string, args: unknown[] = []): Promise<T> => ((await c.query(sql, args))[0] as T[])[0]!;

/**
 * The app: inserts, updates and deletes as the non-admin account `app` (read_only stops it) until `stop`
 * or `maxMs`; counts only acknowledged writes. One binlog rotation mid-way, so lag spans files.
 */
async function writer(ep: MysqlTarget, admin: Connection, stop: { now: boolean; writes?: number }, maxMs: number): Promise<{ writes: number; refused: number }> {
  const c = await connect(ep, 'app', APP_PW);
  const started = performance.now();
  let writes = 0; let refused = 0; let i = 0; let rotated = false;
  try {
    while (!stop.now && performance.now() - started < maxMs) {
      i++;
      try {
        await c.query('INSERT INTO audit_log (user_id, action, details, ip, amount, created_at) VALUES (?, ?, ?, UNHEX(?), ?, NOW())',
          [1 + (i % 10), `follow-${i}`, `détails ${i} ✓`, (i % 256).toString(16).padStart(2, '0').repeat(4), i / 7]);
        if (i % 3 === 0) await c.query('UPDATE audit_log SET amount = amount * 2, details = CONCAT(details, ?) WHERE action = ?', ['+', `follow-${i - 1}`]);
        if (i % 5 === 0) await c.query('DELETE FROM audit_log WHERE action = ?', [`follow-${i - 2}`]);
        if (i % 4 === 0) await c.query('UPDATE posts SET post_content = ? WHERE id = ?', [`edited ${i}`, 1 + (i % 50)]);
        if (i % 7 === 0) await c.query('DELETE FROM user_sessions ORDER BY expires_at LIMIT 1');
        writes++;
        stop.writes = writes; // seen live by the test
      } catch (e) {
        if ((e as { errno?: number }).errno !== 1290) throw e; // read_only: the freeze has begun
        refused++;
        await new Promise((r) => setTimeout(r, 20));
      }
      if (!rotated && performance.now() - started > 2_500) { await admin.query('FLUSH BINARY LOGS'); rotated = true; }
    }
  } finally { await c.end(); }
  return { writes, refused };
}

async function accounts(ep: MysqlTarget, user: string): Promise<number> {
  const c = await connect(ep);
  try { return Number((await one<{ n: unknown }>(c, 'SELECT COUNT(*) AS n FROM mysql.user WHERE User = ?', [user])).n); } finally { await c.end(); }
}

const FOLLOW_MODULE = fileURLToPath(new URL('../../lib/engines/mysql/follow.ts', import.meta.url));
const killLoop = (fn: string, o: MysqlFollowOptions): Promise<number[]> => killLoopOf(FOLLOW_MODULE, fn, o);

describe('mysql follow: replicate, catch up, promote', { timeout: 900_000 }, () => {
  let network: StartedNetwork;
  let src: Server; let dst: Server; let spare: Server;
  let work: string;
  let manifest: Manifest;
  const redactor = new Redactor();
  let opts: MysqlFollowOptions;
  /** The same store through the engine contract: catch-up and promote run as the playbook will call them. */
  let params: EngineParams<MysqlOptions>;

  beforeAll(async () => {
    network = await startTestNetwork();
    // Both servers keep MySQL's default server_id 1 on the target side and an event scheduler that is ON:
    // follow must give the target its own id and hold its events, and put both back at promote.
    [src, dst, spare] = await Promise.all([
      startOn(network, 'ferry-src-mysql', ['--log-bin=mysql-bin', '--binlog-format=ROW', '--server-id=1']),
      startOn(network, 'ferry-dst-mysql', ['--server-id=1', '--event-scheduler=ON']),
      startOn(network, 'ferry-spare-mysql', ['--server-id=3']),
    ]);
    work = await mkdtemp(join(tmpdir(), 'ferry-follow-mysql-'));
    const c = await connect(src.ep);
    await seedVedfolnirMysql(c, { scale: SCALE, tricky: false });
    await c.query(`CREATE USER 'app'@'%' IDENTIFIED BY '${APP_PW}'`);
    await c.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${DB}.* TO 'app'@'%'`);
    await c.end();
    manifest = await exportMysql({ source: src.ep, databases: [DB], dir: join(work, 'export'), parallelism: 2 });
    await importMysql({ target: dst.ep, dir: join(work, 'export'), stateFile: join(work, 'import-state.json') });
    opts = {
      storeId: 'mysql', source: src.ep, target: dst.ep, databases: [DB], start: manifest.binlog,
      from: { host: 'ferry-src-mysql', port: 3306 }, stateDir: join(work, 'store', 'follow'), redactor,
    };
    const url = (ep: MysqlTarget) => `mysql://root:${ROOT_PW}@${ep.host}:${ep.port}/${DB}`;
    params = {
      store: { id: 'mysql', engine: 'mysql', source: url(src.ep), target: { service: 'mysql' }, options: mysqlEngine.parseOptions({ followFrom: { host: 'ferry-src-mysql', port: 3306 } }, 'mysql') },
      targetUrl: url(dst.ep), artifactDir: join(work, 'export'), stateDir: join(work, 'store'),
      signal: new AbortController().signal, log: silentLogger, progress: noProgress, redactor,
    };
  }, 900_000);
  afterAll(async () => {
    await Promise.all([src, dst, spare].map((s) => s?.container.stop({ remove: true, removeVolumes: true })));
    await network?.stop();
  });

  it('starts from the snapshot coordinates, and a follow killed with SIGKILL resumes by running it again', async () => {
    expect(manifest.binlog?.file).toMatch(/^mysql-bin\.\d+$/);
    // Writes between export and follow must arrive too: they sit after the snapshot position.
    const c = await connect(src.ep);
    await c.query("INSERT INTO audit_log (user_id, action, created_at) VALUES (1, 'between export and follow', NOW())");
    await c.end();
    // Kills land inside followMysql: the timer starts when the child has loaded ferry and says so.
    const kills = await killLoop('followMysql', opts);
    console.log(`follow killed ${kills.length} times (at ${kills.join(', ')} ms), then ran to the end`);
    expect(kills.length).toBeGreaterThan(0);
    const status = await followMysql(opts);
    expect(status.following).toBe(true);
    // Run again: nothing more happens.
    expect((await followMysql(opts)).following).toBe(true);
    const secret = join(opts.stateDir, SECRET_FILE);
    expect((await stat(secret)).mode & 0o777).toBe(0o600);
    const pw = (await readFile(secret, 'utf8')).trim();
    expect(await readFile(join(opts.stateDir, 'follow.json'), 'utf8')).not.toContain(pw);
    expect(redactor.redact(`x ${pw} y`)).not.toContain(pw);
    const d = await connect(dst.ep);
    try {
      expect(await one(d, 'SELECT @@GLOBAL.server_id AS id, @@GLOBAL.event_scheduler AS ev')).toEqual({ id: '2', ev: 'OFF' });
    } finally { await d.end(); }
    expect(await accounts(src.ep, accountFor('mysql').user)).toBe(1);
  });

  it('the stack\'s MySQL restarted while following (server_id, filter and event scheduler lost) resumes by running follow again', async () => {
    await dst.container.restart();
    dst = { container: dst.container, ep: { ...dst.ep, port: dst.container.getMappedPort(3306) } };
    opts = { ...opts, target: dst.ep };
    params = { ...params, targetUrl: `mysql://root:${ROOT_PW}@${dst.ep.host}:${dst.ep.port}/${DB}` };
    const c = await connect(src.ep);
    await c.query("INSERT INTO audit_log (user_id, action, created_at) VALUES (1, 'while the target restarted', NOW())");
    await c.end();
    let d: Connection | undefined;
    for (let i = 0; i < 600 && !d; i++) d = await connect(dst.ep).catch(async () => { await new Promise((r) => setTimeout(r, 200)); return undefined; });
    try {
      // What the restart lost: the id reverts to the source's, the filter is gone, events are on again.
      expect(await one(d!, 'SELECT @@GLOBAL.server_id AS id, @@GLOBAL.replicate_wild_do_table AS f, @@GLOBAL.event_scheduler AS ev')).toEqual({ id: '1', f: '', ev: 'ON' });
      const st = await followMysql(opts);
      expect(st.following).toBe(true);
      expect(await one(d!, 'SELECT @@GLOBAL.server_id AS id, @@GLOBAL.replicate_wild_do_table AS f, @@GLOBAL.event_scheduler AS ev')).toEqual({ id: '2', f: 'vedfolnir.%', ev: 'OFF' });
      expect((await catchUpMysql(opts, 30_000)).lag).toBe(0);
      expect(await one(d!, "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'while the target restarted'")).toEqual({ n: '1' });
    } finally { await d?.end(); }
  });

  it('follows a live writer, then freeze → catch-up → promote takes seconds and every write is on the target', async () => {
    const admin = await connect(src.ep);
    const stop: { now: boolean; writes?: number } = { now: false };
    // Bounded by `stop` (the freeze below), not by a time a busy machine could reach before the freeze.
    const running = writer(src.ep, admin, stop, 600_000);
    await new Promise((r) => setTimeout(r, 8_000));
    // Following a live writer: at least 100 writes in (a busy machine may need longer than 8 s for them).
    for (let i = 0; i < 1200 && (stop.writes ?? 0) <= 100; i++) await new Promise((r) => setTimeout(r, 100));
    const mid = await mysqlFollowStatus(opts);
    console.log(`while writing: ${mid.detail}`);
    expect(mid.following).toBe(true);

    // Verify while the app still writes: pinned at one binlog position on both sides, then following goes on.
    const pinned = await verifyMysqlPinned({ source: src.ep, target: dst.ep, dir: join(work, 'export'), reachTimeoutMs: 30_000 });
    console.log(`pinned verify at ${pinned.pinnedAt.file}:${pinned.pinnedAt.position}: ${pinned.chunks} chunks, ${pinned.rows} rows, applier held ${pinned.heldMs} ms, ${pinned.seconds.toFixed(2)} s`);
    expect(pinned.findings).toEqual([]);
    expect(pinned.ok).toBe(true);
    expect((await mysqlFollowStatus(opts)).following).toBe(true);

    // Lag that never closes (the applier held): over the budget catch-up fails, changes nothing, loses nothing.
    const d0 = await connect(dst.ep);
    await d0.query('STOP SLAVE SQL_THREAD');
    // Lag to close: writes acknowledged after the applier stopped (waited for, not assumed within 300 ms).
    const held = stop.writes ?? 0;
    for (let i = 0; i < 600 && (stop.writes ?? 0) < held + 5; i++) await new Promise((r) => setTimeout(r, 50));
    expect(stop.writes).toBeGreaterThanOrEqual(held + 5);
    const over = await catchUpMysql(opts, 500).catch((e: unknown) => e);
    expect(isFerryError(over) && over.code).toBe('E_FOLLOW_BUDGET');
    expect((over as Error).message).toMatch(/within 500ms: executed .* bytes behind/);
    await d0.query('START SLAVE SQL_THREAD');
    await d0.end();

    const t0 = performance.now();
    await admin.query('SET GLOBAL read_only = ON'); // the freeze, as lib/freeze does it (MariaDB: no super_read_only)
    const frozenAt = performance.now();
    const caught = await mysqlEngine.catchUp!(params, 30_000);
    const caughtAt = performance.now();
    await mysqlEngine.promote!(params);
    const t1 = performance.now();
    stop.now = true;
    const w = await running;
    console.log(`writer: ${w.writes} acknowledged writes, ${w.refused} refused by the freeze`);
    console.log(`cutover: freeze ${Math.round(frozenAt - t0)} ms, catch-up ${Math.round(caughtAt - frozenAt)} ms, promote ${Math.round(t1 - caughtAt)} ms, freeze→promoted ${Math.round(t1 - t0)} ms`);
    expect(caught.lag).toBe(0);
    expect(w.writes).toBeGreaterThan(100);
    // Seconds, not the copy: a generous bound on a shared machine (the figure is measured by the cutover bench, never by a
    // timed test): catch-up's own budget (30 s) and the promote.
    expect(t1 - t0).toBeLessThan(60_000);

    // Every acknowledged write: a fresh export of the frozen source, verified row by row against the target.
    const final = await exportMysql({ source: src.ep, databases: [DB], dir: join(work, 'export-final'), parallelism: 2 });
    const report = await verifyMysql({ target: dst.ep, source: src.ep, dir: join(work, 'export-final') });
    expect(report.findings).toEqual([]);
    expect(report.ok).toBe(true);
    expect(final.totals.rows).toBeGreaterThan(manifest.totals.rows - 100);
    const s = await connect(src.ep); const d = await connect(dst.ep);
    try {
      const sql = "SELECT COUNT(*) AS n, MAX(id) AS top FROM audit_log WHERE action LIKE 'follow-%' OR action = 'between export and follow'";
      expect(await one(d, sql)).toEqual(await one(s, sql));
      expect(await one(d, 'SELECT @@GLOBAL.server_id AS id, @@GLOBAL.event_scheduler AS ev')).toEqual({ id: '1', ev: 'ON' });
      expect((await d.query('SHOW SLAVE STATUS'))[0]).toEqual([]);
      expect(await one(d, 'SELECT @@GLOBAL.replicate_wild_do_table AS f')).toEqual({ f: '' });
    } finally { await s.end(); await d.end(); await admin.end(); }
    expect(await accounts(src.ep, accountFor('mysql').user)).toBe(0);
    expect(await accounts(dst.ep, accountFor('mysql').user)).toBe(0);
    await expect(stat(join(opts.stateDir, SECRET_FILE))).rejects.toThrow();
    // Promote again, and follow after promote: nothing changes.
    await promoteMysql(opts);
    expect((await followMysql(opts)).following).toBe(false);
  });

  it('an unreachable source is named with the fix; abort during follow removes the account and never froze the source', async () => {
    const c = await connect(src.ep);
    await c.query('SET GLOBAL read_only = OFF'); // the previous test left it frozen
    await c.end();
    await importMysql({ target: spare.ep, dir: join(work, 'export'), stateFile: join(work, 'spare-import.json') });
    // Preflight from a throwaway container on the stack's network: the source answers by name; a wrong name is said with the fix.
    const seen = await probeSourceFromStack({ image: testImages().mysql, from: { host: 'ferry-src-mysql', port: 3306 }, network: network.getName(), source: src.ep });
    expect(seen).toEqual({ ok: true, detail: "MySQL answers at ferry-src-mysql:3306 from the stack's side" });
    const unseen = await probeSourceFromStack({ image: testImages().mysql, from: { host: 'ferry-nowhere', port: 3306 }, network: network.getName(), source: src.ep });
    expect(unseen.ok).toBe(false);
    expect(unseen.detail).toMatch(/^nothing answers at ferry-nowhere:3306/);
    expect(unseen.hint).toMatch(/ferry-nowhere:3306/);
    const lost: MysqlFollowOptions = { ...opts, storeId: 'lost', target: spare.ep, from: { host: 'ferry-nowhere', port: 3306 }, stateDir: join(work, 'lost'), connectTimeoutMs: 6_000 };
    const err = await followMysql(lost).catch((e: unknown) => e);
    expect(isFerryError(err) && err.code).toBe('E_MYSQL_FOLLOW_UNREACHABLE');
    expect(String((err as Error).message)).toContain('ferry-nowhere:3306');
    expect(JSON.stringify(err)).not.toContain(ROOT_PW);
    await abortMysqlFollow(lost);
    expect(await accounts(src.ep, accountFor('lost').user)).toBe(0);

    const live: MysqlFollowOptions = { ...opts, storeId: 'spare', target: spare.ep, stateDir: join(work, 'spare') };
    expect((await followMysql(live)).following).toBe(true);
    // A row changed on the target behind replication's back: the pinned verify names its chunk.
    const sp0 = await connect(spare.ep);
    await sp0.query("UPDATE audit_log SET amount = -1 WHERE action NOT LIKE 'follow-%' ORDER BY id LIMIT 1");
    await sp0.end();
    const pinned = await verifyMysqlPinned({ source: src.ep, target: spare.ep, dir: join(work, 'export'), reachTimeoutMs: 30_000 });
    expect(pinned.ok).toBe(false);
    expect(pinned.findings).toHaveLength(1);
    expect(pinned.findings[0]).toMatch(/^vedfolnir\.audit_log: .*\(values differ\)$/);
    const admin = await connect(src.ep);
    const stop = { now: false };
    const running = writer(src.ep, admin, stop, 120_000);
    await new Promise((r) => setTimeout(r, 1_500));
    await abortMysqlFollow(live); // while the app writes (stopped below, not by a time)
    stop.now = true;
    await running;
    await abortMysqlFollow(live); // twice: nothing more
    expect(await accounts(src.ep, accountFor('spare').user)).toBe(0);
    const sp = await connect(spare.ep);
    try {
      expect((await sp.query('SHOW SLAVE STATUS'))[0]).toEqual([]);
    } finally { await sp.end(); }
    expect(await one(admin, 'SELECT @@GLOBAL.read_only AS ro')).toEqual({ ro: '0' });
    await admin.end();
    const again = await followMysql(live).catch((e: unknown) => e);
    expect(isFerryError(again) && again.code).toBe('E_MYSQL_FOLLOW_ABORTED');
  });

  it('a cutover killed during promote resumes by running promote again, to a verified end', async () => {
    // The spare target again, cleared and imported from the export as a fresh store would be.
    const sp = await connect(spare.ep);
    await sp.query(`DROP DATABASE ${DB}`);
    await sp.end();
    await importMysql({ target: spare.ep, dir: join(work, 'export'), stateFile: join(work, 'spare2-import.json') });
    const o: MysqlFollowOptions = { ...opts, storeId: 'spare2', target: spare.ep, stateDir: join(work, 'spare2') };
    expect((await followMysql(o)).following).toBe(true);
    const admin = await connect(src.ep);
    const stop = { now: false };
    const running = writer(src.ep, admin, stop, 120_000);
    await new Promise((r) => setTimeout(r, 2_000));
    await admin.query('SET GLOBAL read_only = ON');
    stop.now = true;
    await running;
    expect((await catchUpMysql(o, 30_000)).lag).toBe(0);
    const kills = await killLoop('promoteMysql', o);
    console.log(`promote killed ${kills.length} times (at ${kills.join(', ')} ms), then ran to the end`);
    expect(kills.length).toBeGreaterThan(0);
    await promoteMysql(o);
    expect(JSON.parse(await readFile(join(o.stateDir, 'follow.json'), 'utf8')).state).toBe('promoted');
    expect(await accounts(src.ep, accountFor('spare2').user)).toBe(0);
    await exportMysql({ source: src.ep, databases: [DB], dir: join(work, 'export-spare2'), parallelism: 2 });
    const report = await verifyMysql({ target: spare.ep, source: src.ep, dir: join(work, 'export-spare2') });
    expect(report.findings).toEqual([]);
    const d = await connect(spare.ep);
    try { expect((await d.query('SHOW SLAVE STATUS'))[0]).toEqual([]); } finally { await d.end(); }
    await admin.query('SET GLOBAL read_only = OFF');
    await admin.end();
  });

  it('a source without a binary log is refused with the one change that enables following', async () => {
    const err = await followMysql({ ...opts, storeId: 'nolog', source: spare.ep, target: dst.ep, start: null, stateDir: join(work, 'nolog') }).catch((e: unknown) => e);
    expect(isFerryError(err) && err.code).toBe('E_MYSQL_FOLLOW_PREREQ');
    expect((err as { hint: string }).hint).toMatch(/log-bin/);
    expect(await accounts(spare.ep, accountFor('nolog').user)).toBe(0);

    // Statement-based logging: refused too, before anything is created on the source.
    const c = await connect(src.ep);
    await c.query("SET GLOBAL binlog_format = 'STATEMENT'");
    try {
      const stmt = await followMysql({ ...opts, storeId: 'stmt', target: spare.ep, stateDir: join(work, 'stmt') }).catch((e: unknown) => e);
      expect(isFerryError(stmt) && stmt.code).toBe('E_MYSQL_FOLLOW_PREREQ');
      expect((stmt as Error).message).toMatch(/STATEMENT format; following needs ROW/);
      expect((stmt as { hint: string }).hint).toMatch(/binlog_format = ROW/);
      expect(await accounts(src.ep, accountFor('stmt').user)).toBe(0);
    } finally {
      await c.query("SET GLOBAL binlog_format = 'ROW'");
      await c.end();
    }
  });
});
