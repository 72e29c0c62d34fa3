/**
 * copy-protocol.ts on a real PostgreSQL 15 server: COPY … TO STDOUT read at the protocol level gives the
 * same bytes (and sha256) as pg-copy-streams, across 1 MiB blocks and rows bigger than a block, with
 * notices between rows; COPY … FROM STDIN from a file loads them back; a server error before or in the
 * middle of either direction, and a sink that fails, reject with that error and leave the session usable.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COPY_BLOCK, copyInFromFile, copyOutTo, copyOutToFile } from '../../lib/engines/postgres/copy-protocol.ts';
import { startPostgresContainer, type StartedPostgres } from '../support/postgres.ts';

describe('postgres copy protocol', { timeout: 300_000 }, () => {
  let server: StartedPostgres;
  let c: pg.Client;
  let work: string;

  /** The reference: pg-copy-streams' bytes of the same COPY. */
  async function reference(sql: string): Promise<Buffer> {
    const parts: Buffer[] = [];
    await pipeline(c.query(copyTo(sql)), new Writable({ write(b: Buffer, _e, cb) { parts.push(b); cb(); } }));
    return Buffer.concat(parts);
  }

  beforeAll(async () => {
    server = await startPostgresContainer({ password: 'copy-pw' });
    c = new pg.Client({ connectionString: server.url });
    await c.connect();
    work = await mkdtemp(join(tmpdir(), 'ferry-pg-copy-'));
    // Small rows (many per block), rows of 3 MiB (bigger than a block), a row hash of each.
    await c.query(`CREATE TABLE t (id int PRIMARY KEY, note text, blob bytea);
      INSERT INTO t SELECT i, md5(i::text) || E'\\t\\\\N\\n', CASE WHEN i % 5000 = 0 THEN decode(repeat(md5(i::text), 98304), 'hex') END FROM generate_series(1, 40000) i;
      CREATE FUNCTION noisy(i int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN IF i % 1000 = 0 THEN RAISE NOTICE 'row %', i; END IF; RETURN i; END $$`);
  });
  afterAll(async () => {
    await c?.end().catch(() => undefined);
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it.each(['', ' (FORMAT binary)'])('reads the same bytes as pg-copy-streams, into a file or a digest (format%s)', async (fmt) => {
    const sql = `COPY (SELECT id, note, blob FROM t ORDER BY id) TO STDOUT${fmt}`;
    const want = await reference(sql);
    expect(want.length).toBeGreaterThan(8 * COPY_BLOCK);
    const file = join(work, `t${fmt ? '.bin' : '.txt'}`);
    const out = await copyOutToFile(c, sql, file);
    expect(out).toEqual({ rows: 40000, bytes: want.length, sha256: createHash('sha256').update(want).digest('hex') });
    expect((await readFile(file)).equals(want)).toBe(true);
    const digest = await copyOutTo(c, sql);
    expect(digest).toEqual(out);
    // Notices between the rows (40 of them: as a plain query, pg hears each) are the server's, not data.
    const notices: string[] = [];
    const onNotice = (n: { message?: string }) => notices.push(n.message ?? '');
    c.on('notice', onNotice);
    try {
      await c.query('SELECT count(noisy(id)) FROM t');
    } finally {
      c.off('notice', onNotice);
    }
    expect(notices).toHaveLength(40);
    const noisy = `COPY (SELECT noisy(id), note FROM t ORDER BY id) TO STDOUT${fmt}`;
    const quiet = await reference(noisy);
    expect(await copyOutTo(c, noisy)).toEqual({ rows: 40000, bytes: quiet.length, sha256: createHash('sha256').update(quiet).digest('hex') });
  });

  it('loads a file back with COPY FROM STDIN: the same rows, the sha256 of what was sent', async () => {
    const file = join(work, 'load.bin');
    const exported = await copyOutToFile(c, 'COPY (SELECT id, note, blob FROM t ORDER BY id) TO STDOUT (FORMAT binary)', file);
    await c.query('CREATE TABLE t2 (LIKE t)');
    const sent = await copyInFromFile(c, 'COPY t2 (id, note, blob) FROM STDIN (FORMAT binary)', file);
    expect(sent).toEqual({ rows: 40000, bytes: exported.bytes, sha256: exported.sha256 });
    const diff = await c.query('SELECT count(*)::int AS n FROM (SELECT * FROM t EXCEPT SELECT * FROM t2 UNION ALL SELECT * FROM t2 EXCEPT SELECT * FROM t) d');
    expect(diff.rows[0].n).toBe(0);
  });

  it('a server error before or during COPY TO rejects with it; the session goes on', async () => {
    await expect(copyOutTo(c, 'COPY nowhere TO STDOUT')).rejects.toThrow(/relation "nowhere" does not exist/);
    expect((await c.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    // Rows are streamed, then a division by zero at row 30,000.
    await expect(copyOutToFile(c, 'COPY (SELECT i, 1 / (i - 30000), repeat(\'x\', 200) FROM generate_series(1, 40000) i) TO STDOUT', join(work, 'half.txt')))
      .rejects.toThrow(/division by zero/);
    expect((await c.query('SELECT 2 AS two')).rows[0].two).toBe(2);
  });

  it('a slow sink pauses the socket (two blocks in flight at most) and still gets every byte in order', async () => {
    const sql = 'COPY (SELECT id, note, blob FROM t ORDER BY id) TO STDOUT';
    const want = await reference(sql);
    const got: Buffer[] = [];
    let active = 0;
    let most = 0;
    const out = await copyOutTo(c, sql, async (b) => {
      most = Math.max(most, ++active);
      await new Promise((r) => setTimeout(r, 15));
      got.push(Buffer.from(b));
      active--;
    });
    expect(most).toBe(1);
    expect(got.length).toBeGreaterThan(8);
    expect(Buffer.concat(got).equals(want)).toBe(true);
    expect(out.sha256).toBe(createHash('sha256').update(want).digest('hex'));
  });

  it('a sink that fails rejects with its error once the COPY ended; the session goes on', async () => {
    let calls = 0;
    await expect(copyOutTo(c, 'COPY (SELECT id, note, blob FROM t ORDER BY id) TO STDOUT', async () => { if (++calls === 2) throw new Error('disk full (test)'); }))
      .rejects.toThrow('disk full (test)');
    expect(calls).toBe(2);
    expect((await c.query('SELECT 3 AS three')).rows[0].three).toBe(3);
  });

  it('a server error during COPY FROM rejects with it, nothing loaded; the session goes on', async () => {
    const file = join(work, 'bad.txt');
    // 30,000 good rows, then one that breaks the key's type, then more.
    const lines = Array.from({ length: 40000 }, (_, i) => (i === 30000 ? 'not-a-number\tx\t\\N' : `${i + 1}\tnote ${i}\t\\N`));
    await writeFile(file, lines.join('\n') + '\n');
    await c.query('CREATE TABLE t3 (LIKE t)');
    await c.query('BEGIN');
    await expect(copyInFromFile(c, 'COPY t3 (id, note, blob) FROM STDIN', file)).rejects.toThrow(/invalid input syntax for type integer/);
    await c.query('ROLLBACK');
    expect((await c.query('SELECT count(*)::int AS n FROM t3')).rows[0].n).toBe(0);
    await expect(copyInFromFile(c, 'COPY nowhere FROM STDIN', file)).rejects.toThrow(/relation "nowhere" does not exist/);
    expect((await c.query('SELECT 4 AS four')).rows[0].four).toBe(4);
  });
});
