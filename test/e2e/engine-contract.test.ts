/**
 * The MySQL and Redis engines driven ONLY through the engine contract (lib/core/engine.ts) on real
 * servers, source container → target container: facts → assess → export → import → verify ok →
 * import again is a no-op → one damaged row/key is named by verify → freeze → thaw puts the source
 * back as it was. Then reverse (rollback --with-data) and clearTarget.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, type Connection } from 'mysql2/promise';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMysql, startRedis, startRedisWithDataDir, type StartedMysql, type StartedRedis } from '../support/containers.ts';
import { seedVedfolnirMysql } from '../../fixtures/mysql/seed.ts';
import { seedVedfolnirRedis } from '../../fixtures/redis/seed.ts';
import { engines, type AnyEngine } from '../../lib/engines/index.ts';
import type { EngineKind, EngineParams, FreezeRecord, Store, StoreTarget } from '../../lib/core/engine.ts';
import { createLogger, type LogRecord } from '../../lib/core/logger.ts';
import { noProgress } from '../../lib/core/progress.ts';
import { Redactor } from '../../lib/util/redact.ts';
import { killedChildAtTick } from '../support/stop-at-tick.ts';

/** One store's params, as the runner would build them. */
async function paramsFor(kind: EngineKind, id: string, source: string, targetUrl: string, options: unknown, logs: LogRecord[], redactor: Redactor): Promise<EngineParams> {
  const engine = engines[kind]!;
  const dir = await mkdtemp(join(tmpdir(), `ferry-contract-${id}-`));
  const target: StoreTarget = { service: kind };
  const store: Store = { id, engine: kind, source, target, options: engine.parseOptions(options, id) };
  return {
    store, targetUrl, artifactDir: join(dir, 'artifacts', id), stateDir: join(dir, 'stores', id),
    signal: new AbortController().signal, log: createLogger((r) => logs.push(r), redactor), progress: noProgress, redactor,
  };
}

/**
 * Run `import` of the store in a child process that stops itself at its `n`-th progress tick (after a
 * chunk or batch is written and its progress saved), then SIGKILL it there: a kill at a known point, not a race.
 */
async function importKilledAtTick(p: EngineParams, n: number): Promise<void> {
  const mod = (rel: string) => JSON.stringify(new URL(rel, import.meta.url).href);
  // The store's URLs carry passwords: they travel by env, never argv.
  await killedChildAtTick((tick, done) => [
    `const { writeFileSync } = await import('node:fs');`,
    `const { engines } = await import(${mod('../../lib/engines/index.ts')});`,
    `const { Redactor } = await import(${mod('../../lib/util/redact.ts')});`,
    `const { silentLogger } = await import(${mod('../../lib/core/logger.ts')});`,
    `const o = JSON.parse(process.env.FERRY_TEST_PARAMS);`,
    `let ticks = 0;`,
    `const progress = { update() { if (++ticks < ${n}) return; writeFileSync(${JSON.stringify(tick)}, '1'); process.kill(process.pid, 'SIGSTOP'); } };`,
    `await engines[o.store.engine].import({ ...o, signal: new AbortController().signal, log: silentLogger, redactor: new Redactor(), progress });`,
    `writeFileSync(${JSON.stringify(done)}, '1');`,
  ].join('\n'), { FERRY_TEST_PARAMS: JSON.stringify({ store: p.store, targetUrl: p.targetUrl, artifactDir: p.artifactDir, stateDir: p.stateDir }) });
}

/** The same params, aborted at the phase's first progress tick (a Ctrl-C mid-import). */
function interruptedAtFirstTick(p: EngineParams): EngineParams {
  const ac = new AbortController();
  return { ...p, signal: ac.signal, progress: { update() { ac.abort(); } } };
}

const mysqlConnect = (s: StartedMysql, user = 'root', password = s.rootPassword): Promise<Connection> =>
  createConnection({ host: s.host, port: s.port, user, password, database: s.database });
const scalar = async (c: Connection, sql: string): Promise<unknown> => Object.values(((await c.query(sql))[0] as Array<Record<string, unknown>>)[0]!)[0];

describe('engine contract: mysql', { timeout: 900_000 }, () => {
  let src: StartedMysql;
  let dst: StartedMysql;
  let engine: AnyEngine;
  let p: EngineParams;
  const logs: LogRecord[] = [];
  const redactor = new Redactor();

  beforeAll(async () => {
    [src, dst] = await Promise.all([startMysql({ rootPassword: 'src-root-pw-1' }), startMysql({ rootPassword: 'dst-root-pw-2' })]);
    const c = await mysqlConnect(src);
    await seedVedfolnirMysql(c, { scale: 0.2, tricky: false });
    // An app account without privileges over read_only: what the freeze must stop.
    await c.query("CREATE USER 'app'@'%' IDENTIFIED BY 'app-pw-123'");
    await c.query("GRANT SELECT, INSERT, UPDATE, DELETE ON vedfolnir.* TO 'app'@'%'");
    await c.end();
    engine = engines.mysql!;
    p = await paramsFor('mysql', 'shop', src.url, `mysql://root:${dst.rootPassword}@127.0.0.1:${dst.port}`, { parallelism: 2 }, logs, redactor);
  });
  afterAll(async () => {
    await Promise.all([src?.stop(), dst?.stop()]);
    if (p) await rm(join(p.stateDir, '..', '..'), { recursive: true, force: true });
  });

  it('facts and assess: both servers read, findings as data, no blocker for root', async () => {
    const facts = await engine.facts(p) as { source: { version: string; tables: Array<{ name: string }> }; target: { version: string; accounts: string[] } };
    expect(facts.source.version).toMatch(/MariaDB/);
    expect(facts.source.tables.map((t) => t.name)).toContain('users');
    expect(facts.target.accounts).toContain('root@%');
    const findings = engine.assess(facts, p.store);
    expect(findings.find((f) => f.check === 'mysql-version')?.message).toContain(facts.target.version);
    expect(findings.filter((f) => f.severity === 'blocker')).toEqual([]);
    expect(findings.find((f) => f.check === 'mysql-foreign-key-cycle')).toBeDefined();
  });

  it('export: a manifest, also the rollback backup; exported() then says so', async () => {
    expect(await engine.exported!(p)).toBe(false);
    const state = await engine.sourceState(p);
    const e = await engine.export(p);
    expect((await stat(e.manifest)).size).toBeGreaterThan(0);
    expect(e.data).toMatchObject({ sourceState: state, databases: ['vedfolnir'], snapshot: 'locked' });
    expect(e.data.rows as number).toBeGreaterThan(500);
    expect(await engine.exported!(p)).toBe(true);
    expect(await engine.sourceState(p)).toBe(state); // exporting never changes the source
  });

  it('an interrupted import, then one killed with SIGKILL, resumes when run again; verify ok (one entry per table); import again changes nothing', async () => {
    await expect(engine.import(interruptedAtFirstTick(p))).rejects.toThrow();
    // The first tick of the next run may be the chunk already loaded (skipped): killed at the second.
    await importKilledAtTick(p, 2);
    const loaded = JSON.parse(await readFile(join(p.stateDir, 'import-progress.json'), 'utf8')) as { loaded: Record<string, string> };
    expect(Object.keys(loaded.loaded).length).toBeGreaterThanOrEqual(2); // one chunk per interrupted run
    const first = await engine.import(p);
    expect(first.data).toMatchObject({ alreadyImported: false });
    expect(first.data.chunksSkipped as number).toBeGreaterThanOrEqual(2); // loaded before the interruptions, not again
    const v = await engine.verify(p);
    expect(v.entries.filter((x) => !x.ok)).toEqual([]);
    expect(v.ok).toBe(true);
    const users = v.entries.find((x) => x.subject === 'table vedfolnir.users')!;
    const d = await mysqlConnect(dst);
    try {
      expect(users.counts?.rows).toBe(Number(await scalar(d, 'SELECT COUNT(*) FROM users')));
      expect(v.entries.map((x) => x.subject).sort()).toEqual(((await d.query("SELECT CONCAT('table vedfolnir.', TABLE_NAME) AS s FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'vedfolnir' AND TABLE_TYPE = 'BASE TABLE'"))[0] as Array<{ s: string }>).map((r) => r.s).sort());
      const before = JSON.stringify((await d.query('CHECKSUM TABLE users, posts, images EXTENDED'))[0]);
      const second = await engine.import(p);
      expect(second.data).toMatchObject({ alreadyImported: true, chunksLoaded: 0 });
      expect(JSON.stringify((await d.query('CHECKSUM TABLE users, posts, images EXTENDED'))[0])).toBe(before);
    } finally { await d.end(); }
  });

  it('a damaged row on the target is named by verify, table and key', async () => {
    const d = await mysqlConnect(dst);
    try { await d.query("UPDATE users SET display_name = 'damaged by the test' WHERE id = 3"); } finally { await d.end(); }
    const v = await engine.verify(p);
    expect(v.ok).toBe(false);
    const bad = v.entries.filter((x) => !x.ok);
    expect(bad.map((x) => x.subject)).toEqual(['table vedfolnir.users']);
    expect(bad[0]!.counts?.mismatchedChunks).toBe(1);
    expect(bad[0]!.findings?.join('\n')).toMatch(/vedfolnir\.users: .* 3 differs/);
    expect(JSON.stringify(v)).not.toContain(dst.rootPassword);
    // With the source gone (after a cutover), the differing chunk is still named, without its rows.
    const gone = { ...p, store: { ...p.store, source: 'mysql://root:nope@127.0.0.1:1/vedfolnir' } };
    const w = await engine.verify(gone);
    expect(w.entries.filter((x) => !x.ok).map((x) => x.subject)).toEqual(['table vedfolnir.users']);
    expect(w.entries.find((x) => !x.ok)!.findings?.join('\n')).toMatch(/vedfolnir\.users: .* differs \(source \d+ rows, target \?\)/);
  });

  it('freeze stops the app account writing; a second freeze keeps the first record; thaw restores read_only as it was', async () => {
    const app = await mysqlConnect(src, 'app', 'app-pw-123');
    const root = await mysqlConnect(src);
    try {
      expect(Number(await scalar(root, 'SELECT @@global.read_only'))).toBe(0);
      const a = await engine.quietSample!(p);
      const record: FreezeRecord = await engine.freeze!(p);
      expect(record).toMatchObject({ engine: 'mysql', readOnlyBefore: false });
      expect(await engine.freeze!(p)).toEqual(record);
      expect(Number(await scalar(root, 'SELECT @@global.read_only'))).toBe(1);
      await expect(app.query("INSERT INTO audit_log (user_id, action, created_at) VALUES (1, 'x', NOW())")).rejects.toThrow(/read-only|read_only/i);
      expect(await engine.quietSample!(p)).toBe(await engine.quietSample!(p));
      // MariaDB 10.11 has no Innodb_rows_* counters (MySQL 8 has): the Com_* counters are in both.
      expect(a).toMatch(/^binlog .* \| .*Com_insert=\d+/);
      await engine.thaw!(p, record);
      expect(Number(await scalar(root, 'SELECT @@global.read_only'))).toBe(0);
      await engine.thaw!(p, undefined); // nothing recorded any more: nothing done
      expect(Number(await scalar(root, 'SELECT @@global.read_only'))).toBe(0);
      // A source that was read-only before the freeze stays read-only after the thaw.
      await root.query('SET GLOBAL read_only = ON');
      await engine.freeze!(p);
      await engine.thaw!(p, undefined);
      expect(Number(await scalar(root, 'SELECT @@global.read_only'))).toBe(1);
      await root.query('SET GLOBAL read_only = OFF');
    } finally { await app.end(); await root.end(); }
  });

  it('reverse copies what the stack wrote back to the host; clearTarget drops what ferry loaded', async () => {
    const d = await mysqlConnect(dst);
    try {
      await d.query("UPDATE users SET display_name = 'written in the stack' WHERE id = 3");
      await d.query("INSERT INTO audit_log (user_id, action, created_at) VALUES (2, 'after cutover', '2026-01-01 00:00:00')");
      await d.query('DELETE FROM audit_log WHERE id = 1');
    } finally { await d.end(); }
    const r = await engine.reverse!(p);
    expect(r.data.chunksLoaded as number).toBeGreaterThan(0);
    const s = await mysqlConnect(src);
    try {
      expect(await scalar(s, 'SELECT display_name FROM users WHERE id = 3')).toBe('written in the stack');
      expect(Number(await scalar(s, "SELECT COUNT(*) FROM audit_log WHERE action = 'after cutover'"))).toBe(1);
      expect(Number(await scalar(s, 'SELECT COUNT(*) FROM audit_log WHERE id = 1'))).toBe(0);
    } finally { await s.end(); }
    await engine.clearTarget!(p);
    await engine.clearTarget!(p);
    const d2 = await mysqlConnect(dst, 'root', dst.rootPassword).catch((e: Error) => e);
    expect(d2).toBeInstanceOf(Error); // its default database is gone
    expect(logs.map((l) => l.message).join('\n')).not.toContain(src.rootPassword);
  });
});

const redisClient = async (s: StartedRedis, db = 0): Promise<Redis> => {
  const r = new Redis({ host: s.host, port: s.port, password: s.password, db, lazyConnect: true, maxRetriesPerRequest: 0 });
  r.on('error', () => undefined);
  await r.connect();
  return r;
};

describe('engine contract: redis', { timeout: 600_000 }, () => {
  let src: StartedRedis;
  let dst: StartedRedis;
  let engine: AnyEngine;
  let p: EngineParams;
  const logs: LogRecord[] = [];
  const redactor = new Redactor();

  beforeAll(async () => {
    [src, dst] = await Promise.all([startRedis({ password: 'src-redis-pw-1' }), startRedis({ password: 'dst-redis-pw-2' })]);
    const r = await redisClient(src);
    await seedVedfolnirRedis(r, { scale: 0.05 });
    r.disconnect();
    engine = engines.redis!;
    p = await paramsFor('redis', 'cache', src.url, dst.url, { ttlToleranceMs: 3000 }, logs, redactor);
  });
  afterAll(async () => {
    await Promise.all([src?.stop(), dst?.stop()]);
    if (p) await rm(join(p.stateDir, '..', '..'), { recursive: true, force: true });
  });

  it('facts and assess', async () => {
    const facts = await engine.facts(p) as { source: { version: string; keyspace: Record<number, { keys: number }>; consumerGroups: number }; target: { version: string } };
    expect(Object.keys(facts.source.keyspace)).toEqual(expect.arrayContaining(['0', '1', '15']));
    expect(facts.source.consumerGroups).toBeGreaterThan(0);
    const findings = engine.assess(facts, p.store);
    expect(findings.find((f) => f.check === 'redis-version')?.message).toContain(`→ target ${facts.target.version}`);
    expect(findings.filter((f) => f.severity === 'blocker')).toEqual([]);
  });

  it('export (the RDB over replication), import, verify ok per db, import again changes nothing', async () => {
    expect(await engine.exported!(p)).toBe(false);
    const e = await engine.export(p);
    expect((await stat(e.manifest)).size).toBe(e.data.bytes);
    expect(await engine.exported!(p)).toBe(true);
    // No service with a data directory: a logical copy. Interrupted after its first batch, it resumes.
    await expect(engine.import(interruptedAtFirstTick(p))).rejects.toThrow(/interrupted/);
    const progress = JSON.parse(await readFile(join(p.stateDir, 'copy-progress.json'), 'utf8')) as { dbs: Record<string, { done: boolean }> };
    expect(Object.values(progress.dbs).some((d) => d.done)).toBe(true);
    expect(Object.keys(progress.dbs).length).toBeLessThan(3);
    await importKilledAtTick(p, 1);
    const i = await engine.import(p);
    expect(i.data).toMatchObject({ alreadyImported: false, path: 'dump' });
    const v = await engine.verify(p);
    expect(v.entries.filter((x) => !x.ok)).toEqual([]);
    expect(v.entries.map((x) => x.subject)).toEqual(expect.arrayContaining(['db 0', 'db 1', 'db 15', 'app (sessions, queues)']));
    const t = await redisClient(dst, 1);
    try {
      expect(v.entries.find((x) => x.subject === 'db 1')!.counts?.targetKeys).toBe(await t.dbsize());
      const before = await t.dbsize();
      const again = await engine.import(p);
      expect(again.data).toMatchObject({ alreadyImported: true });
      expect(await t.dbsize()).toBe(before);
    } finally { t.disconnect(); }
  });

  it('a damaged key on the target is named by verify, with its db', async () => {
    const s = await redisClient(src);
    const t = await redisClient(dst);
    try {
      const key = 'user:1';
      expect(await s.type(key)).toBe('hash');
      await t.hset(key, 'karma', 'damaged-by-the-test');
      const v = await engine.verify(p);
      expect(v.ok).toBe(false);
      const db0 = v.entries.find((x) => x.subject === 'db 0')!;
      expect(db0.ok).toBe(false);
      expect(db0.findings?.join('\n')).toContain(`db 0 key \`${key}\`: hash fields differ`);
      expect(v.entries.filter((x) => x.subject.startsWith('db ') && x.subject !== 'db 0').every((x) => x.ok)).toBe(true);
      expect(JSON.stringify(v)).not.toContain('dst-redis-pw-2');
    } finally { s.disconnect(); t.disconnect(); }
  });

  it('a new export (the source changed since) is imported again: ferry\'s earlier copy is replaced, deletions included', async () => {
    const s = await redisClient(src);
    try {
      await s.del('user:2');
      await s.set('added-after-the-first-export', 'x');
      // The source state counts persistent keys per db (cheap; a same-count change is not seen): one more key.
      await s.set('also-added', 'y');
    } finally { s.disconnect(); }
    expect(await engine.exported!(p)).toBe(false);
    await engine.export(p);
    const i = await engine.import(p);
    expect(i.data).toMatchObject({ alreadyImported: false, finished: true });
    const v = await engine.verify(p);
    expect(v.entries.filter((x) => !x.ok)).toEqual([]);
    const t = await redisClient(dst);
    try {
      expect(await t.exists('user:2')).toBe(0);
      expect(await t.get('added-after-the-first-export')).toBe('x');
    } finally { t.disconnect(); }
    expect((await engine.import(p)).data).toMatchObject({ alreadyImported: true });
  });

  it('freeze pauses writes on the source (reads go on); thaw lets them through as before', async () => {
    const w = await redisClient(src);
    try {
      const record = await engine.freeze!(p);
      expect(record).toMatchObject({ engine: 'redis' });
      expect(await w.get('never-there')).toBeNull(); // reads are not paused
      const write = w.set('written-during-freeze', '1');
      const raced = await Promise.race([write.then(() => 'written'), new Promise((res) => setTimeout(() => res('blocked'), 1500))]);
      expect(raced).toBe('blocked');
      expect(await engine.quietSample!(p)).toBe(await engine.quietSample!(p));
      await engine.thaw!(p, record);
      expect(await write).toBe('OK');
      await engine.thaw!(p, undefined); // nothing recorded: nothing done
      expect(await w.set('written-after-thaw', '1')).toBe('OK');
      await w.del('written-during-freeze', 'written-after-thaw');
    } finally { w.disconnect(); }
  });

  it('reverse copies the stack\'s keys back to the host; clearTarget empties what ferry wrote', async () => {
    const t = await redisClient(dst);
    try {
      await t.set('written-in-the-stack', 'after cutover');
      await t.del('user:3'); // deleted by the app after the cutover
    } finally { t.disconnect(); }
    const r = await engine.reverse!(p);
    expect(r.data.keys as number).toBeGreaterThan(100);
    expect(r.data.pruned).toBe(1);
    const s = await redisClient(src);
    try {
      expect(await s.get('written-in-the-stack')).toBe('after cutover');
      expect(await s.exists('user:3')).toBe(0);
    } finally { s.disconnect(); }
    // The host now mirrors the stack: verify (stack → host) finds nothing, and a second reverse changes nothing more.
    const back = { ...p, store: { ...p.store, source: dst.url }, targetUrl: src.url };
    expect((await engine.verify(back)).entries.filter((x) => !x.ok)).toEqual([]);
    expect((await engine.reverse!(p)).data).toMatchObject({ pruned: 0 });
    await engine.clearTarget!(p);
    await engine.clearTarget!(p);
    const t2 = await redisClient(dst);
    try { expect(await t2.dbsize()).toBe(0); } finally { t2.disconnect(); }
    expect(logs.map((l) => l.message).join('\n')).not.toContain('src-redis-pw-1');
  });

  it('with the target service\'s data directory at hand, imports by the physical path; clearTarget removes the placed RDB', async () => {
    const target = await startRedisWithDataDir();
    const q = { ...(await paramsFor('redis', 'cache', src.url, target.url, {}, logs, redactor)), service: target.service };
    try {
      await engine.export(q);
      const i = await engine.import(q);
      expect(i.data).toMatchObject({ alreadyImported: false, path: 'physical' });
      expect((await stat(join(target.service.dataDir, 'dump.rdb'))).size).toBeGreaterThan(0);
      expect((await engine.verify(q)).entries.filter((x) => !x.ok)).toEqual([]);
      expect((await engine.import(q)).data).toMatchObject({ alreadyImported: true });
      await engine.clearTarget!(q);
      // Empty, and still empty after a restart: the placed RDB does not come back.
      const keys = async () => {
        const t = new Redis({ host: target.host, port: target.port, lazyConnect: true });
        t.on('error', () => undefined);
        await t.connect();
        try { return await t.dbsize(); } finally { t.disconnect(); }
      };
      expect(await keys()).toBe(0);
      await target.service.stop();
      await target.service.start();
      expect(await keys()).toBe(0);
    } finally {
      await target.remove();
      await rm(join(q.stateDir, '..', '..'), { recursive: true, force: true });
    }
  });

  it('imports a frozen store by the rewrite path (its EVAL reads would block under the pause), and leaves it frozen', async () => {
    const q = await paramsFor('redis', 'cache', src.url, dst.url, { path: 'rewrite', ttlToleranceMs: 3000 }, logs, redactor);
    const w = await redisClient(src);
    try {
      const record = await engine.freeze!(q);
      const i = await engine.import(q);
      expect(i.data).toMatchObject({ alreadyImported: false, path: 'rewrite' });
      expect((await engine.verify(q)).ok).toBe(true);
      const write = w.set('written-during-freeze', '1');
      expect(await Promise.race([write.then(() => 'written'), new Promise((res) => setTimeout(() => res('blocked'), 1500))])).toBe('blocked');
      await engine.thaw!(q, record);
      expect(await write).toBe('OK');
      await w.del('written-during-freeze');
      expect(logs.some((l) => /write pause lowered for the copy/.test(l.message))).toBe(true);
    } finally {
      w.disconnect();
      await rm(join(q.stateDir, '..', '..'), { recursive: true, force: true });
    }
  });
});
