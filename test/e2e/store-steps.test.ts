/**
 * Steps generated per store, over the real engines and real servers (no compose): an app of two MySQL
 * schemas (one source server, one target server) and two Redis instances, each store's export, import,
 * verify, freeze and thaw a journal entry of its own; a re-run of the finished playbook is a no-op; a
 * damaged target is repaired by `--restart-from import:<store>`; a source written after its export is
 * refused on resume.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMysql, startRedis, type StartedMysql, type StartedRedis } from '../support/containers.ts';
import { runPlaybook, type RunResult } from '../../lib/runner/index.ts';
import { createFileJournal } from '../../lib/journal/index.ts';
import { normalizeConfig, type Config } from '../../lib/config/index.ts';
import { Redactor } from '../../lib/util/redact.ts';
import { engines } from '../../lib/engines/index.ts';
import { resolveContext, storeSpecs, withEngineOptions } from '../../lib/playbooks/index.ts';
import { migrateSteps } from '../../lib/steps/order.ts';
import type { FerryContext } from '../../lib/steps/context.ts';

const ids = (r: RunResult) => r.steps.map((s) => `${s.id}:${s.status}`);

describe('an app of four stores (two MySQL schemas, two Redis instances) through generated steps', { timeout: 900_000 }, () => {
  let src: StartedMysql, dst: StartedMysql;
  let r1: StartedRedis, r2: StartedRedis, t1: StartedRedis, t2: StartedRedis;
  let stateDir: string;
  let config: Config;
  let ctx: FerryContext;
  const redactor = new Redactor();

  beforeAll(async () => {
    [src, dst, r1, r2, t1, t2] = await Promise.all([
      startMysql({ database: 'shop', rootPassword: 'src-root-pw-1' }), startMysql({ database: 'scratch', rootPassword: 'dst-root-pw-2' }),
      startRedis({ password: 'r1-pw-1234' }), startRedis(), startRedis({ password: 't1-pw-5678' }), startRedis(),
    ]);
    const c = await createConnection({ host: src.host, port: src.port, user: 'root', password: src.rootPassword, multipleStatements: true });
    await c.query(`CREATE TABLE shop.orders (id INT PRIMARY KEY AUTO_INCREMENT, item VARCHAR(40), total DECIMAL(10,2));
      CREATE DATABASE blog; CREATE TABLE blog.posts (id INT PRIMARY KEY, title VARCHAR(80), body TEXT);`);
    for (let i = 1; i <= 300; i++) await c.query('INSERT INTO shop.orders (item, total) VALUES (?, ?); INSERT INTO blog.posts VALUES (?, ?, ?)', [`item ${i}`, i * 1.5, i, `post ${i} ✓`, 'x'.repeat(i)]);
    await c.end();
    for (const [r, prefix] of [[r1, 'cache'], [r2, 'queue']] as const) {
      const k = new Redis({ host: r.host, port: r.port, ...(r.password ? { password: r.password } : {}) });
      for (let i = 0; i < 200; i++) await k.set(`${prefix}:${i}`, `v${i}`);
      await k.hset(`${prefix}:hash`, { a: '1', b: '2' });
      k.disconnect();
    }
    stateDir = await mkdtemp(join(tmpdir(), 'ferry-store-steps-'));
    await writeFile(join(stateDir, 'app.env'), 'FLASK_ENV=production\n');
    redactor.add(src.rootPassword, dst.rootPassword, 'r1-pw-1234', 't1-pw-5678');
    const target = `mysql://root:${dst.rootPassword}@127.0.0.1:${dst.port}`;
    // Two schemas of one source server land in one target service (one port); target logins given as URLs.
    config = withEngineOptions(normalizeConfig({
      app: { envFile: join(stateDir, 'app.env'), appServices: [] },
      stores: [
        { id: 'shop-db', engine: 'mysql', source: src.url, target: { service: 'db', migrationPort: dst.port, url: target }, options: { databases: ['shop'] } },
        { id: 'blog-db', engine: 'mysql', source: `mysql://root:${src.rootPassword}@127.0.0.1:${src.port}/blog`, target: { service: 'db', migrationPort: dst.port, url: target } },
        { id: 'cache', engine: 'redis', source: r1.url, target: { service: 'cache', migrationPort: t1.port, url: t1.url }, options: { path: 'dump' } },
        { id: 'queue', engine: 'redis', source: r2.url, target: { service: 'queue', migrationPort: t2.port, url: t2.url }, options: { path: 'dump' } },
      ],
      target: { composeDir: stateDir, project: 'store-steps' },
      freeze: { quietSeconds: 1 },
      stateDir,
    }, { baseDir: stateDir, env: {} }));
    ctx = resolveContext({ config, mode: 'migrate', redactor, engines });
  });
  afterAll(async () => { await Promise.all([src, dst, r1, r2, t1, t2].map((s) => s?.stop())); });

  // migrate's per-store part (the compose and .env steps need a stack: test/e2e/playbooks.test.ts runs those).
  const playbook = () => ({ id: 'migrate', title: 'four stores', steps: migrateSteps(storeSpecs(config)).filter((s) => s.id.includes(':') || s.id === 'stop-writers' || s.id === 'prove-quiet') });
  const run = (o: { restartFrom?: string } = {}) => runPlaybook<Config, FerryContext>({ playbook: playbook(), config, ctx, stateDir, redactor, journal: createFileJournal(stateDir, 'migrate'), ...o });

  async function targetRows(db: string, table: string): Promise<number> {
    const c = await createConnection({ host: dst.host, port: dst.port, user: 'root', password: dst.rootPassword });
    try { return Number(((await c.query(`SELECT COUNT(*) AS n FROM ${db}.${table}`))[0] as Array<{ n: number }>)[0]!.n); } finally { await c.end(); }
  }

  it('moves every store, each phase its own journal entry, and leaves every source thawed', async () => {
    const r = await run();
    expect(r.error, JSON.stringify(r.error)).toBeUndefined();
    expect(r.steps.filter((s) => s.status === 'failed').map((s) => s.error?.message)).toEqual([]);
    expect(ids(r)).toEqual([
      'stop-writers:done', 'freeze:shop-db:done', 'freeze:blog-db:done', 'freeze:cache:done', 'freeze:queue:done', 'prove-quiet:done',
      'export:shop-db:done', 'export:blog-db:done', 'export:cache:done', 'export:queue:done',
      'import:shop-db:done', 'import:blog-db:done', 'import:cache:done', 'import:queue:done',
      'verify:shop-db:done', 'verify:blog-db:done', 'verify:cache:done', 'verify:queue:done',
      // last frozen, first thawed: blog-db restores the read_only shop-db's freeze left, shop-db the original
      'thaw:queue:done', 'thaw:cache:done', 'thaw:blog-db:done', 'thaw:shop-db:done',
    ]);
    expect([await targetRows('shop', 'orders'), await targetRows('blog', 'posts')]).toEqual([300, 300]);
    const verify = r.steps.find((s) => s.id === 'verify:blog-db')!.outputs!.data as { entries: Array<{ subject: string; ok: boolean }> };
    expect(verify.entries.map((e) => [e.subject, e.ok])).toContainEqual(['table blog.posts', true]);
    for (const [t, prefix, pw] of [[t1, 'cache', 't1-pw-5678'], [t2, 'queue', undefined]] as const) {
      const k = new Redis({ host: t.host, port: t.port, ...(pw ? { password: pw } : {}) });
      expect([await k.dbsize(), await k.get(`${prefix}:7`), await k.hget(`${prefix}:hash`, 'b')]).toEqual([201, 'v7', '2']);
      k.disconnect();
    }
    // thawed: the source MySQL takes writes again, the source Redis is not paused
    const c = await createConnection({ host: src.host, port: src.port, user: 'root', password: src.rootPassword });
    expect(Number(((await c.query('SELECT @@global.read_only AS ro'))[0] as Array<{ ro: number }>)[0]!.ro)).toBe(0);
    await c.end();
    const k = new Redis({ host: r1.host, port: r1.port, password: 'r1-pw-1234', commandTimeout: 2000 });
    expect(await k.set('probe:after-thaw', '1', 'EX', 5)).toBe('OK');
    k.disconnect();
    expect(JSON.stringify(r)).not.toContain(src.rootPassword);
  });

  it('a re-run of the finished playbook changes nothing', async () => {
    const r = await run();
    expect(r.status).toBe('ok');
    expect(r.steps.every((s) => s.status === 'skipped')).toBe(true);
  });

  it('--restart-from import:blog-db repairs a damaged target store and verifies it again', async () => {
    const c = await createConnection({ host: dst.host, port: dst.port, user: 'root', password: dst.rootPassword });
    await c.query('DELETE FROM blog.posts WHERE id <= 10');
    await c.end();
    const r = await run({ restartFrom: 'import:blog-db' });
    expect(r.steps.filter((s) => s.status === 'failed').map((s) => `${s.id}: ${s.error?.message}`)).toEqual([]);
    expect(r.status).toBe('ok');
    expect(r.steps.find((s) => s.id === 'import:blog-db')!.status).toBe('done');
    expect(r.steps.find((s) => s.id === 'export:blog-db')!.status).toBe('skipped');
    expect(await targetRows('blog', 'posts')).toBe(300);
  });

  it('refuses to resume once a store\'s source changed since its export, naming the step to restart from', async () => {
    const c = await createConnection({ host: src.host, port: src.port, user: 'root', password: src.rootPassword });
    await c.query("INSERT INTO shop.orders (item, total) VALUES ('late', 1)");
    await c.end();
    await createFileJournal(stateDir, 'migrate').unrecord('thaw:queue'); // a run stopped before its last step
    const r = await run();
    expect(r.status).toBe('failed');
    const failed = r.steps.find((s) => s.status === 'failed')!;
    expect([failed.id, failed.error?.code]).toEqual(['export:shop-db', 'E_SOURCE_CHANGED']);
    expect(failed.error?.hint).toContain('--restart-from export:shop-db');
  });
});
