/**
 * What the export account cannot see, messages that would carry a row's value, and what verify compares
 * beyond columns and keys, on real servers (MariaDB 10.11 standing in for MySQL 8):
 * - an account with table-level grants only does not see the other tables (information_schema hides
 *   them): preflight blocks, naming the account, the database and the GRANT; database-level grants (given
 *   directly or through a default role) pass;
 * - a chunk that meets a duplicate unique key on the target fails naming table, key range, error number
 *   and the key's name, never the value;
 * - verify names a target table whose comment, engine, explicit row format, partitioning or CHECK
 *   constraint differs from the source's.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { createConnection, type Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMysql, type StartedMysql } from '../support/containers.ts';
import { exportMysql, importMysql, verifyMysql, type MysqlTarget } from '../../lib/engines/mysql/index.ts';
import { gatherMysqlFacts } from '../../lib/engines/mysql/facts.ts';
import { assessMysql, DEFAULT_MYSQL_TARGET } from '../../lib/engines/mysql/assess.ts';
import { connectMysql } from '../../lib/engines/mysql/connect.ts';
import { loadChunk } from '../../lib/engines/mysql/load-chunk.ts';
import { readManifest } from '../../lib/engines/mysql/manifest.ts';
import { FerryError } from '../../lib/core/errors.ts';

const DB = 'gm';
const PW = 'visibility-test-pw';
const root = (s: StartedMysql): MysqlTarget => ({ host: s.host, port: s.port, user: 'root', password: s.rootPassword });
const connect = (s: StartedMysql): Promise<Connection> => createConnection({ ...root(s), charset: 'utf8mb4' });

describe('mysql: what the export account cannot see, values kept out of messages, table options and CHECKs verified', { timeout: 600_000 }, () => {
  let src: StartedMysql;
  let dst: StartedMysql;
  let work: string;

  beforeAll(async () => {
    [src, dst] = await Promise.all([startMysql({ database: DB }), startMysql({ database: 'other' })]);
    work = await mkdtemp(join(tmpdir(), 'ferry-mysql-visibility-'));
    const c = await connect(src);
    try {
      for (const sql of [
        `CREATE TABLE ${DB}.users (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL, n INT NOT NULL DEFAULT 0,
           UNIQUE KEY email (email), CONSTRAINT n_nonneg CHECK (n >= 0)) ENGINE=InnoDB ROW_FORMAT=DYNAMIC COMMENT='app users'`,
        `CREATE TABLE ${DB}.events (id INT NOT NULL, created DATE NOT NULL, PRIMARY KEY (id, created)) ENGINE=InnoDB
           PARTITION BY RANGE (YEAR(created)) (PARTITION p2023 VALUES LESS THAN (2024), PARTITION pmax VALUES LESS THAN MAXVALUE)`,
        `CREATE TABLE ${DB}.notes (id INT PRIMARY KEY, body TEXT) ENGINE=InnoDB`,
        `CREATE TABLE ${DB}.secret_t (id INT PRIMARY KEY, token VARCHAR(64)) ENGINE=InnoDB`,
        `INSERT INTO ${DB}.users VALUES (1, 'alice@example.com', 3), (2, 'bob@example.com', 0), (3, 'carol@example.com', 7)`,
        `INSERT INTO ${DB}.events VALUES (1, '2023-05-01'), (2, '2025-01-01')`,
        `INSERT INTO ${DB}.notes VALUES (1, 'hello')`,
        `INSERT INTO ${DB}.secret_t VALUES (1, 'tok')`,
        'CREATE DATABASE hidden_db',
        `CREATE PROCEDURE ${DB}.p_touch() SELECT 1`,
        // Table-level grants only (plus what the freeze needs): secret_t is invisible to this account.
        `CREATE USER 'partial'@'%' IDENTIFIED BY '${PW}'`,
        `GRANT SELECT, SHOW VIEW, TRIGGER ON ${DB}.users TO 'partial'@'%'`,
        `GRANT SELECT ON ${DB}.events TO 'partial'@'%'`,
        `GRANT EVENT, LOCK TABLES ON ${DB}.* TO 'partial'@'%'`,
        "GRANT RELOAD, SUPER ON *.* TO 'partial'@'%'",
        "GRANT SELECT ON mysql.proc TO 'partial'@'%'",
        `CREATE USER 'whole'@'%' IDENTIFIED BY '${PW}'`,
        `GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON ${DB}.* TO 'whole'@'%'`,
        "GRANT RELOAD, SUPER ON *.* TO 'whole'@'%'",
        "GRANT SELECT ON mysql.proc TO 'whole'@'%'",
        // The same through a default role (MariaDB: one current role, activated at login).
        'CREATE ROLE gm_reader',
        `GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON ${DB}.* TO gm_reader`,
        `CREATE USER 'roled'@'%' IDENTIFIED BY '${PW}'`,
        "GRANT RELOAD, SUPER ON *.* TO 'roled'@'%'",
        "GRANT gm_reader TO 'roled'@'%'",
        "SET DEFAULT ROLE gm_reader FOR 'roled'@'%'",
      ]) await c.query(sql);
    } finally { await c.end(); }
  });
  afterAll(async () => {
    await Promise.all([src?.stop(), dst?.stop()]);
    if (work) await rm(work, { recursive: true, force: true });
  });

  const assessAs = async (user: string, databases = [DB]) => {
    const f = await gatherMysqlFacts({ host: src.host, port: src.port, user, password: PW, databases });
    return { facts: f, blockers: assessMysql(f, DEFAULT_MYSQL_TARGET, { definer: 'keep' }).filter((x) => x.severity === 'blocker') };
  };

  it('preflight blocks an account with table-level grants only, naming it, the database and the GRANT; database-level grants pass', async () => {
    const partial = await assessAs('partial');
    // The gap itself: the tables it has no privilege on are not there for it.
    expect(partial.facts.tables.map((t) => t.name).sort()).toEqual(['events', 'users']);
    expect(partial.blockers).toHaveLength(1);
    expect(partial.blockers[0]).toMatchObject({ check: 'mysql-privileges', subject: `mysql ${src.host}:${src.port} database ${DB}` });
    expect(partial.blockers[0]!.message).toMatch(new RegExp(`^'partial'@'%' lacks SELECT, SHOW VIEW, TRIGGER on database ${DB}: it holds 2 table- or column-level grant\\(s\\) there, so the tables it has no privilege on are invisible`));
    expect(partial.blockers[0]!.hint).toBe(`as an administrator run: GRANT SELECT, SHOW VIEW, TRIGGER ON \`${DB}\`.* TO 'partial'@'%'`);
    expect(JSON.stringify(partial)).not.toContain(PW);

    const whole = await assessAs('whole');
    expect(whole.facts.tables.map((t) => t.name).sort()).toEqual(['events', 'notes', 'secret_t', 'users']);
    expect(whole.facts.definers.map((d) => `${d.kind} ${d.name}`)).toEqual(['ROUTINE p_touch']);
    expect(whole.blockers).toEqual([]);
    // A database it holds no privilege on is not even listed for it: named as possibly hidden, with the GRANT.
    const hidden = (await assessAs('whole', [DB, 'hidden_db'])).blockers;
    expect(hidden).toHaveLength(1);
    expect(hidden[0]).toMatchObject({ check: 'mysql-database-missing', subject: 'database hidden_db',
      message: "listed in the config but not visible to 'whole'@'%': absent on the source, or hidden because the account has no privilege on it" });
    expect(hidden[0]!.hint).toMatch(/^if it exists, as an administrator run: GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON `hidden_db`\.\* TO 'whole'@'%'; else fix/);
    const roled = await assessAs('roled');
    expect(roled.facts.tables).toHaveLength(4);
    // Without SELECT on mysql.proc (MariaDB) the routine it did not define is hidden: blocked, with the GRANT.
    expect(roled.facts.definers).toEqual([]);
    expect(roled.blockers.map((b) => b.message)).toEqual([`'roled'@'%' cannot see the stored procedures and functions it did not define in ${DB}: information_schema.ROUTINES hides them, so the export would leave them out`]);
    expect(roled.blockers[0]!.hint).toBe("as an administrator run: GRANT SELECT ON mysql.proc TO 'roled'@'%'");
    const a = await connect(src);
    try { await a.query(roled.blockers[0]!.hint.replace(/^as an administrator run: /, '')); } finally { await a.end(); }
    const granted = await assessAs('roled');
    expect(granted.facts.definers.map((d) => d.name)).toEqual(['p_touch']);
    expect(granted.blockers).toEqual([]);

    // The hint, run as given, clears the blocker.
    const c = await connect(src);
    try { await c.query(partial.blockers[0]!.hint.replace(/^as an administrator run: /, '')); } finally { await c.end(); }
    expect((await assessAs('partial')).blockers).toEqual([]);
  });

  it('a duplicate unique key on the target fails naming table, key range, error number and key name, not the value', async () => {
    await exportMysql({ source: root(src), databases: [DB], dir: join(work, 'dup'), parallelism: 1, definer: { mode: 'keep' } });
    const m = await readManifest(join(work, 'dup'));
    const users = m.tables.find((t) => t.table.name === 'users')!;
    expect(users.chunks).toHaveLength(1);
    const d = await connect(dst);
    const pool = await connectMysql(root(dst), { connections: 1 });
    try {
      await d.query(`CREATE DATABASE ${DB}`);
      await d.query(`CREATE TABLE ${DB}.users (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL, n INT NOT NULL DEFAULT 0, UNIQUE KEY email (email))`);
      await d.query(`INSERT INTO ${DB}.users VALUES (500000, 'alice@example.com', 0)`);
      const c = await pool.getConnection();
      const chunk = users.chunks[0]!;
      const err = await loadChunk(c, { table: users.table, range: chunk, path: join(work, 'dup', chunk.file), rows: chunk.rows, clear: false, via: 'insert', expect: chunk, first: true })
        .then(() => undefined, (e: unknown) => e);
      c.release();
      expect(err).toBeInstanceOf(FerryError);
      const fe = err as FerryError;
      expect(fe.code).toBe('E_MYSQL_LOAD');
      expect(fe.message).toMatch(new RegExp(`into ${DB}\\.users, key range id any failed: Duplicate entry for key 'email' \\(server error 1062 ER_DUP_ENTRY\\)$`));
      expect(fe.hint).toMatch(/clear gm\.users on the target/);
      // Nowhere: message, hint, detail, cause, or the error as a log would print it.
      for (const shown of [fe.message, fe.hint, fe.detail ?? '', inspect(fe, { depth: 5 }), JSON.stringify(fe)]) expect(shown).not.toContain('alice@example.com');
      // Rolled back: the target holds only its own row.
      const [rows] = await d.query(`SELECT id FROM ${DB}.users`);
      expect(rows).toEqual([{ id: 500000 }]);
    } finally {
      await pool.end();
      await d.query(`DROP DATABASE IF EXISTS ${DB}`);
      await d.end();
    }
  });

  it('verify names a target table whose comment, engine, row format, partitioning or CHECK constraint differs', async () => {
    await exportMysql({ source: root(src), databases: [DB], dir: join(work, 'exp'), parallelism: 2, definer: { mode: 'keep' } });
    const m = await readManifest(join(work, 'exp'));
    expect(m.facts[DB]).toMatchObject({
      'check users.n_nonneg': 'CHECK `n` >= 0',
      'partitions events': expect.stringMatching(/^RANGE\(year\(`created`\)\): p2023 2024, pmax MAXVALUE$/),
    });
    expect(m.facts[DB]!['table users']).toMatch(/^ENGINE=InnoDB row_format=DYNAMIC COLLATE=\S+ COMMENT "app users"$/);
    await importMysql({ target: root(dst), dir: join(work, 'exp'), stateFile: join(work, 'state.json'), via: 'insert' });
    expect((await verifyMysql({ target: root(dst), source: root(src), dir: join(work, 'exp') })).findings).toEqual([]);
    const d = await connect(dst);
    try {
      for (const sql of [
        `ALTER TABLE ${DB}.users COMMENT = 'changed'`,
        `ALTER TABLE ${DB}.users DROP CONSTRAINT n_nonneg`,
        `ALTER TABLE ${DB}.notes ENGINE = MyISAM`,
        `ALTER TABLE ${DB}.notes ROW_FORMAT = FIXED`,
        `ALTER TABLE ${DB}.events REMOVE PARTITIONING`,
      ]) await d.query(sql);
      const r = await verifyMysql({ target: root(dst), source: root(src), dir: join(work, 'exp') });
      expect(r.ok).toBe(false);
      expect(r.schema).toEqual(expect.arrayContaining([
        `${DB}: check users.n_nonneg is missing on the target`,
        `${DB}: partitions events is missing on the target`,
        expect.stringMatching(new RegExp(`^${DB}: table users differs: source .*COMMENT "app users" / target .*COMMENT "changed"$`)),
        expect.stringMatching(new RegExp(`^${DB}: table notes differs: source ENGINE=InnoDB .* / target ENGINE=MyISAM row_format=FIXED `)),
      ]));
    } finally { await d.end(); }
  });
});
