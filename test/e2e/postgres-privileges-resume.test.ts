/**
 * PostgreSQL engine gaps, on real servers (the test bed's PostgreSQL 15 image as source and as target):
 * - an account without SELECT on a sequence: the source fingerprint is E_PG_PRIVILEGE naming the sequences
 *   with their GRANT (was: a raw 42501 before the export), which then works;
 * - preflight lists the large objects the account cannot read (pg_read_all_data does not cover them),
 *   the same set lo_get refuses, with the statement that grants them;
 * - the target ending ferry's import sessions (pg_terminate_backend) at a chosen point: a FerryError
 *   naming the table and host:port/db, never the password, and the same import run again ends verified;
 * - a resumed import over another export (the killed run's keys and triggers in place, the source changed)
 *   with an account that is not a superuser: refused before anything is deleted, naming the table and what to
 *   do (was: stuck on 23503 with a hint saying a re-run works); as a superuser it then ends verified.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedSecondApp } from '../../fixtures/postgres/seed.ts';
import { exportPostgres, largeObjectGrant } from '../../lib/engines/postgres/export.ts';
import { importPostgres } from '../../lib/engines/postgres/import.ts';
import { verifyPostgres } from '../../lib/engines/postgres/verify.ts';
import { parsePgUrl, type PgTarget } from '../../lib/engines/postgres/connect.ts';
import { sourceFingerprint } from '../../lib/engines/postgres/fingerprint.ts';
import { gatherSourceFacts } from '../../lib/engines/postgres/facts.ts';
import { assessPostgres } from '../../lib/engines/postgres/assess.ts';
import type { Progress } from '../../lib/core/progress.ts';
import { startPostgresContainer, type StartedPostgres } from '../support/postgres.ts';

async function sql(url: string, text: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try { return await c.query(text, params); } finally { await c.end(); }
}

describe('postgres engine: privileges named, a lost target session and a non-superuser resume', { timeout: 600_000 }, () => {
  let source: StartedPostgres;
  let target: StartedPostgres;
  let work: string;
  const dbUrl = (db: string) => target.url.replace(/\/postgres$/, `/${db}`);
  const into = (db: string): PgTarget => parsePgUrl(dbUrl(db));

  beforeAll(async () => {
    [source, target] = await Promise.all([
      startPostgresContainer({ database: 'veogen', password: 'src-Secret-p2' }),
      startPostgresContainer({ password: 'tgt-Secret-p2' }),
    ]);
    await seedSecondApp(source.url, 1);
    work = await mkdtemp(join(tmpdir(), 'ferry-pg-p2-'));
  });
  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('an account without SELECT on a sequence: E_PG_PRIVILEGE naming it with its GRANT, which then works', async () => {
    await sql(source.url, "CREATE ROLE seqless LOGIN PASSWORD 'seq-Secret'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO seqless");
    const seqless = { ...parsePgUrl(source.url), user: 'seqless', password: 'seq-Secret' };
    const e = await sourceFingerprint(seqless).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'E_PG_PRIVILEGE' });
    expect((e as Error).message).toContain(`127.0.0.1:${source.port}/veogen`);
    expect((e as Error).message).toMatch(/public\.users_id_seq/);
    const hint = (e as { hint: string }).hint;
    expect(hint).toMatch(/^as a superuser run: GRANT SELECT ON SEQUENCE "public"\."[^;]+ TO "seqless";$/);
    expect(JSON.stringify(e)).not.toMatch(/seq-Secret|src-Secret/);
    await sql(source.url, hint.replace(/^as a superuser run: /, ''));
    expect(await sourceFingerprint(seqless)).toMatch(/^[0-9a-f]{32}$/);
  });

  it('preflight lists the large objects the account cannot read (the ones lo_get refuses) with the statement granting them', async () => {
    await sql(source.url, "CREATE ROLE loreader LOGIN PASSWORD 'lo-Secret'; GRANT pg_read_all_data TO loreader");
    const lr = { ...parsePgUrl(source.url), user: 'loreader', password: 'lo-Secret' };
    const lrUrl = source.url.replace(/\/\/[^@]+@/, '//loreader:lo-Secret@');
    // One owned by the superuser (not readable), one granted to PUBLIC, one loreader owns: only the first is listed.
    const [hidden, shared] = await Promise.all([0, 1].map(async () => Number((await sql(source.url, "SELECT lo_from_bytea(0, '\\x0102'::bytea) AS oid")).rows[0].oid)));
    await sql(source.url, `GRANT SELECT ON LARGE OBJECT ${shared} TO PUBLIC`);
    const own = Number((await sql(lrUrl, "SELECT lo_from_bytea(0, '\\x03'::bytea) AS oid")).rows[0].oid);
    try {
      const facts = await gatherSourceFacts(lr);
      // The server's own answer for each large object: lo_get in a read-only transaction.
      const all = (await sql(source.url, 'SELECT oid::int8 AS oid FROM pg_largeobject_metadata ORDER BY 1')).rows.map((r) => Number(r.oid));
      const refused: number[] = [];
      const c = new pg.Client({ connectionString: lrUrl });
      await c.connect();
      try {
        for (const oid of all) {
          await c.query('BEGIN READ ONLY');
          await c.query('SELECT lo_get($1::oid, 0, 0)', [oid]).catch((x: { code?: string }) => { if (x.code === '42501') refused.push(oid); else throw x; });
          await c.query('ROLLBACK');
        }
      } finally {
        await c.end();
      }
      expect(refused).toContain(hidden);
      expect(facts.unreadableLargeObjects).toEqual(refused);
      expect(facts.unreadableLargeObjects).not.toContain(shared);
      expect(facts.unreadableLargeObjects).not.toContain(own);
      const blocker = assessPostgres({ source: facts, target: undefined, disk: { dir: '/', freeBytes: 1e12 } }, { allowDowngrade: false, replace: false })
        .find((f) => f.check === 'postgres-privilege-large-objects')!;
      expect(blocker.severity).toBe('blocker');
      expect(blocker.message).toContain(String(hidden));
      expect(blocker.hint).toBe(`as a superuser run: ${largeObjectGrant('loreader')}`);
      // The export refuses before any data, naming every one, with the same statement.
      const e = await exportPostgres({ source: lr, dir: join(work, 'lo') }).catch((x: unknown) => x);
      expect(e).toMatchObject({ code: 'E_PG_PRIVILEGE', hint: blocker.hint });
      expect((e as Error).message).toContain(`for reading large object ${refused[0]}`);
      for (const oid of refused) expect((e as Error).message).toContain(String(oid));
      expect(JSON.stringify(e)).not.toContain('lo-Secret');
      await sql(source.url, blocker.hint.replace(/^as a superuser run: /, ''));
      expect((await gatherSourceFacts(lr)).unreadableLargeObjects).toEqual([]);
      expect((await exportPostgres({ source: lr, dir: join(work, 'lo') })).largeObjects.map((l) => l.oid)).toEqual(expect.arrayContaining(refused));
    } finally {
      await sql(source.url, 'SELECT lo_unlink(o) FROM unnest($1::oid[]) o', [[hidden, shared, own]]);
    }
  });

  /**
   * `text` run by psql inside the target's container (local socket: no password), synchronously: called from
   * a progress tick, it holds the import's event loop, so the import goes no further until it returned.
   */
  const psqlSync = (db: string, text: string, detached = false): string => execFileSync('docker', [
    'exec', ...(detached ? ['-d'] : []), '-e', 'PGAPPNAME=ferry-test', target.container!.getId(), 'psql', '-U', 'postgres', '-d', db, '-XAtqc', text,
  ], { encoding: 'utf8', timeout: 60_000 });
  const TERMINATE = (db: string) => `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '${db}' AND application_name = 'ferry import'`;

  /**
   * Import `dir` into `db`, ending the target's ferry import sessions once `when(rows done)` first holds: from
   * within that progress tick (the import waits for it), so the sessions end right after that chunk
   * committed, never after the import went on or ended.
   */
  async function importTerminatedAt(dir: string, db: string, stateDir: string, when: (done: number) => boolean): Promise<{ error: unknown; terminated: number }> {
    let terminated = 0;
    const progress: Progress = {
      update: (u) => {
        if (terminated || !when(u.done)) return;
        terminated = Number(psqlSync(db, TERMINATE(db)).trim());
      },
    };
    const error = await importPostgres({ target: into(db), dir, stateDir, progress }).then(() => undefined, (x: unknown) => x);
    return { error, terminated };
  }

  it('the target ends the import\'s sessions after the first chunk: named by table and host:port/db, and the same import again ends verified', async () => {
    const dir = join(work, 'kill');
    const m = await exportPostgres({ source: parsePgUrl(source.url), dir, chunkBytes: 64 << 10 });
    expect(m.totals.chunks).toBeGreaterThan(6);
    const state = join(work, 'kill-state');
    const r = await importTerminatedAt(dir, 'veogen_kill', state, (done) => done > 0);
    expect(r.terminated).toBeGreaterThan(0);
    expect(r.error).toMatchObject({ code: 'E_PG_IMPORT' });
    const msg = (r.error as Error).message;
    expect(msg).toContain(`on the target 127.0.0.1:${target.port}/veogen_kill (user postgres) failed: the session was lost`);
    // The sessions ended right after the first chunk committed. What a session did next is the plan's order
    // (which session's error surfaces first is the scheduler's): another chunk (of that table, or another's),
    // its statistics flush, or, for a table whose every chunk is in, a build (its session set up for post-data
    // first). Each names what it was doing; a chunk, a flush and a build name the table.
    expect(msg).toMatch(/^(loading public\.\w+ \(|flushing the statistics after public\.\w+ \(|building [\w ]+ \(\w+\) on "public"\."\w+" |setting a session up for post-data on )/);
    expect((r.error as { hint: string }).hint).toContain('run the same import again — it resumes');
    expect(JSON.stringify(r.error)).not.toMatch(/tgt-Secret|src-Secret/);
    const again = await importPostgres({ target: into('veogen_kill'), dir, stateDir: state });
    expect(again.resumed).toBe(true);
    expect(again.chunksSkipped).toBeGreaterThan(0);
    expect((await verifyPostgres({ target: into('veogen_kill'), dir })).entries.filter((x) => !x.ok)).toEqual([]);
  });

  it('the target ends the sessions while a build waits (after the chunks): named as the target\'s, and the same import again ends verified', async () => {
    const dir = join(work, 'kill');
    const state = join(work, 'kill2-state');
    const db = 'veogen_kill2';
    // A chosen point after the loads: a session holding ACCESS SHARE on orders (COPY's ROW EXCLUSIVE passes,
    // the primary key's ALTER TABLE waits); once a ferry session waits on it, the target ends them all. The
    // lock is taken and seen granted within the first orders chunk's progress tick, before the import can
    // go on to the key (taken after it, it could come once the key was built and the import over).
    let locked = false;
    let waiter: Promise<boolean> | undefined;
    const progress: Progress = {
      update: (u) => {
        if (locked || u.label !== 'table public.orders') return;
        locked = true;
        psqlSync(db, 'BEGIN; LOCK TABLE public.orders IN ACCESS SHARE MODE; SELECT pg_sleep(600)', true);
        const granted = "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'ferry-test' AND l.relation = 'public.orders'::regclass AND l.granted";
        for (let i = 0; i < 300 && psqlSync(db, granted).trim() !== '1'; i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
        waiter = (async () => {
          for (let i = 0; i < 1200; i++) {
            const w = await sql(dbUrl(db), "SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND application_name = 'ferry import' AND wait_event_type = 'Lock'", [db]);
            if (w.rowCount) {
              await sql(dbUrl(db), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'ferry import'", [db]);
              return true;
            }
            await new Promise((res) => setTimeout(res, 100));
          }
          return false;
        })();
      },
    };
    let error: unknown;
    try {
      error = await importPostgres({ target: into(db), dir, stateDir: state, progress }).then(() => undefined, (x: unknown) => x);
      expect(await waiter, 'a ferry session waited on the held lock').toBe(true);
    } finally {
      await waiter?.catch(() => undefined);
      await sql(target.url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'ferry-test'");
    }
    expect(locked).toBe(true);
    expect(error).toMatchObject({ code: 'E_PG_IMPORT' });
    expect((error as Error).message).toContain(`on the target 127.0.0.1:${target.port}/${db} (user postgres) failed: the session was lost`);
    expect((error as { hint: string }).hint).toContain('run the same import again — it resumes');
    expect(JSON.stringify(error)).not.toMatch(/tgt-Secret|src-Secret/);
    const lines = (await readFile(join(state, 'import.log'), 'utf8')).split('\n');
    expect(lines).not.toContain('done');
    const again = await importPostgres({ target: into(db), dir, stateDir: state });
    expect(again.resumed).toBe(true);
    expect((await verifyPostgres({ target: into(db), dir })).entries.filter((x) => !x.ok)).toEqual([]);
  });

  it('a resumed import over another export with a non-superuser account: refused before any delete, naming the table and what to do; as a superuser it ends verified', async () => {
    const a = join(work, 'res-a');
    const b = join(work, 'res-b');
    const state = join(work, 'res-state');
    await exportPostgres({ source: parsePgUrl(source.url), dir: a, chunkBytes: 64 << 10 });
    await importPostgres({ target: into('veogen_res'), dir: a, stateDir: state });
    // What a SIGKILL leaves just before the import's last lines: everything committed (keys and triggers in), the log without them.
    const logFile = join(state, 'import.log');
    const lines = (await readFile(logFile, 'utf8')).split('\n').filter(Boolean);
    expect(lines.slice(-2)).toEqual(['analyze', 'done']);
    await writeFile(logFile, lines.slice(0, -2).map((l) => `${l}\n`).join(''));
    await sql(source.url, "UPDATE users SET name = name || ' (renamed)' WHERE id = 5; UPDATE orders SET total = total + 1 WHERE id = 4000");
    try {
      await exportPostgres({ source: parsePgUrl(source.url), dir: b, chunkBytes: 64 << 10 });
      // Row-level security (orders has policies) hides rows from an account that is not the owner: no range can be checked.
      await sql(target.url, "CREATE ROLE nosu LOGIN PASSWORD 'nosu-Secret'; GRANT pg_read_all_data, pg_write_all_data TO nosu");
      const nosu = { ...into('veogen_res'), user: 'nosu', password: 'nosu-Secret' };
      const before = (await sql(dbUrl('veogen_res'), 'SELECT name FROM users WHERE id = 5')).rows[0].name as string;
      const hidden = await importPostgres({ target: nosu, dir: b, stateDir: state }).catch((x: unknown) => x);
      expect(hidden).toMatchObject({ code: 'E_PG_IMPORT' });
      expect((hidden as Error).message).toMatch(/row-level security hides rows of public\.orders from nosu/);
      expect((hidden as { hint: string }).hint).toContain('as a superuser');
      // With BYPASSRLS the ranges are checked: the changed ones are under the killed run's keys.
      await sql(target.url, 'ALTER ROLE nosu BYPASSRLS');
      const e = await importPostgres({ target: nosu, dir: b, stateDir: state }).catch((x: unknown) => x);
      expect(e).toMatchObject({ code: 'E_PG_IMPORT' });
      const msg = (e as Error).message;
      expect(msg).toContain(`127.0.0.1:${target.port}/veogen_res`);
      expect(msg).toMatch(/public\.(users|orders)/);
      expect(msg).toMatch(/foreign key \w+/);
      expect(msg).toContain('nosu is not a superuser');
      const hint = (e as { hint: string }).hint;
      expect(hint).toContain('as a superuser');
      expect(hint).toContain('DROP DATABASE "veogen_res" WITH (FORCE);');
      expect(JSON.stringify(e)).not.toMatch(/nosu-Secret|tgt-Secret/);
      // Nothing was deleted or changed by the refused run.
      expect((await sql(dbUrl('veogen_res'), 'SELECT name FROM users WHERE id = 5')).rows[0].name).toBe(before);
      expect(before).not.toMatch(/renamed/);
      // The hint's first way: the same import as a superuser.
      const im = await importPostgres({ target: into('veogen_res'), dir: b, stateDir: state });
      expect(im.resumed).toBe(true);
      expect(im.chunksLoaded).toBeGreaterThanOrEqual(1);
      expect((await verifyPostgres({ target: into('veogen_res'), dir: b })).entries.filter((x) => !x.ok)).toEqual([]);
      expect((await sql(dbUrl('veogen_res'), 'SELECT name FROM users WHERE id = 5')).rows[0].name).toMatch(/renamed/);
    } finally {
      await sql(source.url, "UPDATE users SET name = replace(name, ' (renamed)', '') WHERE id = 5; UPDATE orders SET total = total - 1 WHERE id = 4000");
    }
  });
});
