/**
 * The MySQL copy's failure paths on real servers (MariaDB 10.11 standing in for MySQL 8): an export
 * whose worker fails rejects only once its other worker has returned (nothing written into the partial
 * directory after it is removed); a streaming copy whose loader fails names the table and key range, has
 * released its connections and left nothing behind, and the same copy as an account that may converges,
 * every key in; verify names a key the target lacks or holds differently (direction, visibility, type),
 * and the import adds the missing ones; a target refusing ferry, or a loader getting no connection, stops
 * the copy named as the target's, and keys it refuses are named with the grant to give; a streaming copy killed with SIGKILL mid-way converges when run again;
 * an import over a target holding an older export's rows, where a unique value moved to a lower key on the
 * source since, loads and verifies (each range cleared before any is loaded); a chunk loaded but not
 * recorded is found on the target, never loaded twice, even in a table without a key holding duplicate rows.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { createConnection, type Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMysql, type StartedMysql } from '../support/containers.ts';
import { exportMysql, importMysql, verifyMysql, type MysqlTarget } from '../../lib/engines/mysql/index.ts';
import { copyMysql } from '../../lib/engines/mysql/copy.ts';
import { connectMysql } from '../../lib/engines/mysql/connect.ts';
import { addAllDeferredKeys, splitDeferred } from '../../lib/engines/mysql/deferred-keys.ts';
import { loadSession } from '../../lib/engines/mysql/import.ts';
import { isFerryError } from '../../lib/core/errors.ts';

const DB = 'faults';
const root = (s: StartedMysql): MysqlTarget => ({ host: s.host, port: s.port, user: 'root', password: s.rootPassword });
const connect = (s: StartedMysql, database?: string): Promise<Connection> =>
  createConnection({ host: s.host, port: s.port, user: 'root', password: s.rootPassword, ...(database ? { database } : {}) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** `user`'s sessions on the server, once the ones closing are gone (a closed client's thread ends a moment later; 30 s at most: a busy machine). */
const sessions = async (c: Connection, user: string): Promise<number> => {
  let n = -1;
  for (let i = 0; i < 300 && n !== 0; i++) {
    if (i) await sleep(100);
    const [rows] = await c.query('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ?', [user]);
    n = Number((rows as Array<{ n: unknown }>)[0]!.n);
  }
  return n;
};

describe('mysql copy: failures stop cleanly, named; resumes converge', { timeout: 600_000 }, () => {
  let src: StartedMysql;
  let dst: StartedMysql;
  let work: string;

  beforeAll(async () => {
    [src, dst] = await Promise.all([startMysql({ database: DB }), startMysql({ database: 'other', command: ['--local-infile=1'] })]);
    work = await mkdtemp(join(tmpdir(), 'ferry-mysql-faults-'));
    const c = await connect(src, DB);
    try {
      // 30 small tables with a secondary index and a foreign key each (t00..t29), loaded in name order.
      for (let i = 0; i < 30; i++) {
        const t = `t${String(i).padStart(2, '0')}`;
        await c.query(`CREATE TABLE ${t} (id INT PRIMARY KEY, ref INT NULL, label VARCHAR(40) NOT NULL, KEY ix_label (label(10), id),
          CONSTRAINT fk_${t} FOREIGN KEY (ref) REFERENCES ${t} (id) ON DELETE SET NULL)`);
        await c.query(`INSERT INTO ${t} (id, ref, label) SELECT seq, IF(seq > 1, seq - 1, NULL), CONCAT('row-', seq) FROM seq_1_to_400`);
      }
      await c.query('CREATE TABLE notes (id INT PRIMARY KEY, body VARCHAR(200) NOT NULL, FULLTEXT KEY ft_body (body))');
      await c.query("INSERT INTO notes SELECT seq, CONCAT('note number ', seq) FROM seq_1_to_50");
    } finally { await c.end(); }
  });
  afterAll(async () => {
    await Promise.all([src?.stop(), dst?.stop()]);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('an export whose worker is refused a table rejects once its other worker has returned: nothing left, nothing still writing', async () => {
    const c = await connect(src);
    try {
      await c.query("CREATE USER IF NOT EXISTS 'partial_ro'@'%' IDENTIFIED BY 'partial-Secret-1'");
      await c.query("GRANT RELOAD, REPLICATION CLIENT ON *.* TO 'partial_ro'@'%'");
      await c.query("GRANT SELECT ON mysql.* TO 'partial_ro'@'%'");
      await c.query(`GRANT SHOW VIEW, TRIGGER, EVENT ON ${DB}.* TO 'partial_ro'@'%'`);
      // Every table readable but t06 (visible through INSERT, not readable): the worker reaching it fails at once.
      for (let i = 0; i < 30; i++) {
        const t = `t${String(i).padStart(2, '0')}`;
        await c.query(`GRANT ${t === 't06' ? 'INSERT' : 'SELECT'} ON ${DB}.${t} TO 'partial_ro'@'%'`);
      }
      await c.query(`GRANT SELECT ON ${DB}.notes TO 'partial_ro'@'%'`);
    } finally { await c.end(); }
    const dir = join(work, 'refused', 'export');
    const e = await exportMysql({ source: { ...root(src), user: 'partial_ro', password: 'partial-Secret-1' }, databases: [DB], dir, parallelism: 2 })
      .catch((x: unknown) => x);
    expect(isFerryError(e) && e.code, String(e)).toBe('E_MYSQL_PRIVILEGE');
    expect(JSON.stringify(e)).not.toContain('partial-Secret-1');
    expect(existsSync(`${dir}.partial`)).toBe(false);
    await sleep(1000);
    expect(readdirSync(join(work, 'refused'))).toEqual([]);
  });

  it('an export account that cannot read every column of a table is refused naming the table (was: those columns left out, or a TypeError)', async () => {
    const c = await connect(src);
    try {
      for (const [user, notes] of [['cols_ro', 'SELECT (id)'], ['trig_ro', '']] as const) {
        await c.query(`CREATE USER IF NOT EXISTS '${user}'@'%' IDENTIFIED BY 'cols-Secret-1'`);
        await c.query(`GRANT RELOAD, REPLICATION CLIENT ON *.* TO '${user}'@'%'`);
        await c.query(`GRANT SELECT ON mysql.* TO '${user}'@'%'`);
        await c.query(`GRANT SHOW VIEW, TRIGGER, EVENT ON ${DB}.* TO '${user}'@'%'`);
        for (let i = 0; i < 30; i++) await c.query(`GRANT SELECT ON ${DB}.t${String(i).padStart(2, '0')} TO '${user}'@'%'`);
        if (notes) await c.query(`GRANT ${notes} ON ${DB}.notes TO '${user}'@'%'`);
        const dir = join(work, `cols-${user}`, 'export');
        const e = await exportMysql({ source: { ...root(src), user, password: 'cols-Secret-1' }, databases: [DB], dir, parallelism: 2 }).catch((x: unknown) => x);
        expect(isFerryError(e) && e.code, `${user}: ${String(e)}`).toBe('E_MYSQL_PRIVILEGE');
        expect((e as Error).message).toMatch(/SELECT command denied .* for table `faults`\.`notes`/);
        expect(existsSync(dir)).toBe(false);
        expect(existsSync(`${dir}.partial`)).toBe(false);
      }
    } finally { await c.end(); }
  });

  it('a streaming copy whose loader is refused names the table and key range, releases its connections, leaves nothing; the same copy as root converges with every key', async () => {
    const d = await connect(dst);
    try {
      await d.query("CREATE USER IF NOT EXISTS 'no_insert'@'%' IDENTIFIED BY 'noins-Secret-1'");
      await d.query(`GRANT SELECT, CREATE, DROP, ALTER, INDEX, DELETE, REFERENCES ON ${DB}.* TO 'no_insert'@'%'`);
      await d.query(`DROP DATABASE IF EXISTS ${DB}`);
      const dir = join(work, 'stream', 'export');
      const o = { source: root(src), databases: [DB], dir, stateFile: join(work, 'stream.json'), parallelism: 2, chunkBytes: 4096 };
      const e = await copyMysql({ ...o, target: { ...root(dst), user: 'no_insert', password: 'noins-Secret-1' } }).catch((x: unknown) => x);
      expect(isFerryError(e) && e.code).toBe('E_MYSQL_LOAD');
      const message = (e as Error).message;
      expect(message).toMatch(/into faults\.(t\d\d|notes), key range id (any|[<>])/);
      expect(JSON.stringify(e)).not.toContain('noins-Secret-1');
      expect(existsSync(`${dir}.partial`)).toBe(false);
      await sleep(500);
      expect(existsSync(`${dir}.partial`)).toBe(false);
      expect(await sessions(d, 'no_insert')).toBe(0);

      const r = await copyMysql({ ...o, target: root(dst) });
      expect(r.streamedChunks).toBe(0); // the tables were there: export, then import checking every chunk
      const v = await verifyMysql({ target: root(dst), source: root(src), dir });
      expect(v.findings).toEqual([]);
      const [ix] = await d.query("SELECT COUNT(DISTINCT TABLE_NAME, INDEX_NAME) AS n FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND INDEX_NAME = 'ix_label'", [DB]);
      expect(Number((ix as Array<{ n: unknown }>)[0]!.n)).toBe(30);
    } finally { await d.end(); }
  });

  it('verify names a key or foreign key missing on the target and an index whose direction, visibility or type differs; the import adds what is missing', async () => {
    const d = await connect(dst, DB);
    const dir = join(work, 'stream', 'export');
    try {
      // As a run killed before its deferred keys were in would leave them, and as a target could change them.
      await d.query('ALTER TABLE t03 DROP FOREIGN KEY fk_t03');
      await d.query('ALTER TABLE t04 DROP INDEX ix_label');
      await d.query('ALTER TABLE t05 DROP INDEX ix_label, ADD KEY ix_label (label(10) DESC, id)');
      await d.query('ALTER TABLE t07 ALTER INDEX ix_label IGNORED'); // MariaDB 10.6+; MySQL 8: ALTER INDEX … INVISIBLE
      await d.query('ALTER TABLE notes DROP INDEX ft_body, ADD KEY ft_body (body)');
      const changed = [/foreign key t03\.fk_t03 is missing on the target/, /index t04\.ix_label is missing on the target/,
        /index t05\.ix_label differs: source \(label\(10\),id\) \/ target \(label\(10\) DESC,id\)/,
        /index t07\.ix_label differs: .* target \(label\(10\),id\) INVISIBLE/, /index notes\.ft_body differs: source \(body\) FULLTEXT \/ target \(body\)$/];
      const v = await verifyMysql({ target: root(dst), source: root(src), dir });
      expect(v.ok).toBe(false);
      for (const re of changed) expect(v.schema.filter((f) => re.test(f)), String(re)).toHaveLength(1);
      expect(v.schema).toHaveLength(changed.length);
      const r = await importMysql({ target: root(dst), dir, stateFile: join(work, 'stream.json'), parallelism: 2, addMissingKeys: true });
      expect(r.chunksLoaded).toBe(0);
      const after = await verifyMysql({ target: root(dst), source: root(src), dir });
      expect(after.schema).toHaveLength(3); // what the target changed is named, not changed back
      for (const re of changed.slice(2)) expect(after.schema.filter((f) => re.test(f)), String(re)).toHaveLength(1);
    } finally { await d.end(); }
  });

  it('a streaming copy refused by its target is named as the target\'s (not as the source\'s privilege); one whose loader gets no connection stops at once, named', async () => {
    const dir = join(work, 'conn', 'export');
    const o = { source: root(src), databases: [DB], dir, stateFile: join(work, 'conn.json'), parallelism: 2 };
    const refused = await copyMysql({ ...o, target: { ...root(dst), password: 'wrong-Target-pw1' } }).catch((x: unknown) => x);
    expect(isFerryError(refused) && refused.code, String(refused)).toBe('E_MYSQL_AUTH');
    expect((refused as Error).message).toContain(`127.0.0.1:${dst.port}`);
    expect(JSON.stringify(refused)).not.toContain('wrong-Target-pw1');
    expect(existsSync(`${dir}.partial`)).toBe(false);

    const d = await connect(dst);
    try {
      await d.query("CREATE USER IF NOT EXISTS 'one_conn'@'%' IDENTIFIED BY 'oneconn-Secret-1' WITH MAX_USER_CONNECTIONS 1");
      await d.query(`GRANT ALL ON ${DB}.* TO 'one_conn'@'%'`);
      await d.query(`DROP DATABASE IF EXISTS ${DB}`);
      const e = await copyMysql({ ...o, target: { ...root(dst), user: 'one_conn', password: 'oneconn-Secret-1' } }).catch((x: unknown) => x);
      expect(isFerryError(e) && e.code, String(e)).toBe('E_MYSQL_CONNECT');
      expect((e as Error).message).toContain(`one_conn@127.0.0.1:${dst.port}`);
      expect(JSON.stringify(e)).not.toContain('oneconn-Secret-1');
      expect(existsSync(`${dir}.partial`)).toBe(false);
      expect(await sessions(d, 'one_conn')).toBe(0);
    } finally { await d.end(); }
  });

  it('an import whose deferred keys the target refuses names the table and keys, with the grant to give; as root it adds them; verified', async () => {
    const d = await connect(dst);
    const dir = join(work, 'stream', 'export');
    try {
      await d.query("CREATE USER IF NOT EXISTS 'no_alter'@'%' IDENTIFIED BY 'noalter-Secret-1'");
      await d.query(`GRANT SELECT, INSERT, DELETE, CREATE, DROP, INDEX, REFERENCES ON ${DB}.* TO 'no_alter'@'%'`);
      await d.query(`DROP DATABASE IF EXISTS ${DB}`);
      const o = { dir, stateFile: join(work, 'no-alter.json'), parallelism: 2, deferKeys: true };
      const e = await importMysql({ ...o, target: { ...root(dst), user: 'no_alter', password: 'noalter-Secret-1' } }).catch((x: unknown) => x);
      expect(isFerryError(e) && e.code, String(e)).toBe('E_MYSQL_KEYS');
      expect((e as Error).message).toMatch(/^Adding index ix_label, index fk_t\d\d to faults\.t\d\d on the target failed: ALTER command denied/);
      expect(isFerryError(e) && e.hint).toContain('ALTER and REFERENCES on `faults`.*');
      expect(JSON.stringify(e)).not.toContain('noalter-Secret-1');
      expect(await sessions(d, 'no_alter')).toBe(0);
      const r = await importMysql({ ...o, target: root(dst) });
      expect(r.chunksLoaded).toBe(0);
      expect((await verifyMysql({ target: root(dst), source: root(src), dir })).findings).toEqual([]);
    } finally { await d.end(); }
  });

  it('a streaming copy killed with SIGKILL once some tables have their deferred index, run again, converges: every row, key and foreign key; verified', async () => {
    const d = await connect(dst);
    const dir = join(work, 'killed', 'export');
    const stateFile = join(work, 'killed.json');
    const indexed = async () => Number(((await d.query("SELECT COUNT(DISTINCT TABLE_NAME) AS n FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND INDEX_NAME = 'ix_label'", [DB]))[0] as Array<{ n: unknown }>)[0]!.n);
    const holder = await connect(dst);
    try {
      await d.query(`DROP DATABASE IF EXISTS ${DB}`);
      const lib = new URL('../../lib/engines/mysql/copy.ts', import.meta.url).pathname;
      const at = (s: StartedMysql) => `{ host: '127.0.0.1', port: ${s.port}, user: 'root', password: process.env.FERRY_TEST_PW }`;
      const code = `import { copyMysql } from '${lib}';
        await copyMysql({ source: ${at(src)}, target: ${at(dst)}, databases: ['${DB}'], dir: '${dir}', stateFile: '${stateFile}', parallelism: 2, chunkBytes: 4096 });`;
      const child = execa(process.execPath, ['--input-type=module', '-e', code], { env: { FERRY_TEST_PW: src.rootPassword }, reject: false });
      // The last table loaded (t29) held by an open transaction once the copy created it: its rows load, its deferred
      // index waits (metadata lock), so the kill lands with some tables indexed and t29 not, however fast the copy.
      for (let i = 0; i < 6000; i++) {
        const [t] = await d.query("SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 't29'", [DB]);
        if (Number((t as Array<{ n: unknown }>)[0]!.n) > 0) break;
        await sleep(10);
      }
      await holder.query('START TRANSACTION');
      await holder.query(`SELECT id FROM ${DB}.t29 LIMIT 1`);
      let n = 0;
      for (let i = 0; i < 6000 && n < 1; i++) { await sleep(20); n = await indexed().catch(() => 0); }
      child.kill('SIGKILL');
      expect((await child).signal).toBe('SIGKILL');
      expect(n).toBeGreaterThan(0);
      expect(await indexed()).toBeLessThan(30); // killed mid-way: some tables still lack their index
      await holder.query('COMMIT'); // the killed run's ALTER, still queued on the server, may go on now: the resume counts it
      const r = await copyMysql({ source: root(src), target: root(dst), databases: [DB], dir, stateFile, parallelism: 2, chunkBytes: 4096 });
      expect(r.streamedChunks).toBe(0);
      expect(await indexed()).toBe(30);
      const [fks] = await d.query("SELECT COUNT(*) AS n FROM information_schema.TABLE_CONSTRAINTS WHERE TABLE_SCHEMA = ? AND CONSTRAINT_TYPE = 'FOREIGN KEY'", [DB]);
      expect(Number((fks as Array<{ n: unknown }>)[0]!.n)).toBe(30);
      expect((await verifyMysql({ target: root(dst), source: root(src), dir })).findings).toEqual([]);
    } finally { await holder.query('ROLLBACK').catch(() => undefined); await holder.end(); await d.end(); }
  });

  it('an import over an older export\'s rows, a unique value moved to a lower key since, clears each range before loading any; verified', async () => {
    const s = await connect(src, DB);
    const d = await connect(dst);
    try {
      await s.query('CREATE TABLE accounts (id INT PRIMARY KEY, email VARCHAR(60) NOT NULL, UNIQUE KEY uq_email (email))');
      await s.query("INSERT INTO accounts SELECT seq, CONCAT('user', seq, '@example.org') FROM seq_1_to_3000");
      const o = { source: root(src), databases: [DB], parallelism: 2, chunkBytes: 16384 };
      const first = await exportMysql({ ...o, dir: join(work, 'older') });
      expect(first.tables.find((t) => t.table.name === 'accounts')!.chunks.length).toBeGreaterThan(3);
      await d.query(`DROP DATABASE IF EXISTS ${DB}`);
      await importMysql({ target: root(dst), dir: join(work, 'older'), stateFile: join(work, 'older.json'), parallelism: 2 });
      // Since: the last account is gone and the first took its address (a low key now holds a value the target has at a high one).
      await s.query('DELETE FROM accounts WHERE id = 3000');
      await s.query("UPDATE accounts SET email = 'user3000@example.org' WHERE id = 1");
      await exportMysql({ ...o, dir: join(work, 'newer') });
      const r = await importMysql({ target: root(dst), dir: join(work, 'newer'), stateFile: join(work, 'newer.json'), parallelism: 2, addMissingKeys: true });
      expect(r.chunksLoaded).toBeGreaterThan(0);
      expect((await verifyMysql({ target: root(dst), source: root(src), dir: join(work, 'newer') })).findings).toEqual([]);
    } finally { await s.end(); await d.end(); }
  });
  it('a chunk loaded but not recorded (progress lost) is found on the target, not loaded twice, even in a table without a key holding duplicate rows', async () => {
    const s = await connect(src, DB);
    const d = await connect(dst, DB);
    try {
      await s.query('CREATE TABLE nokey (a INT, b VARCHAR(10))');
      await s.query("INSERT INTO nokey SELECT seq % 7, 'same' FROM seq_1_to_500");
      const dir = join(work, 'nokey');
      await exportMysql({ source: root(src), databases: [DB], dir, parallelism: 2 });
      const first = await importMysql({ target: root(dst), dir, stateFile: join(work, 'nokey-1.json'), parallelism: 2 });
      expect(first.chunksLoaded).toBeGreaterThan(0);
      const again = await importMysql({ target: root(dst), dir, stateFile: join(work, 'nokey-lost.json'), parallelism: 2 });
      expect(again.chunksLoaded).toBe(0);
      expect(((await d.query('SELECT COUNT(*) AS n FROM nokey'))[0] as Array<{ n: unknown }>)[0]!.n).toBe(500);
      expect((await verifyMysql({ target: root(dst), source: root(src), dir })).findings).toEqual([]);
    } finally { await s.end(); await d.end(); }
  });
  it('deferred keys another session adds while ferry waits for the table (a killed run\'s ALTER the server carried on with) count as added', async () => {
    const d = await connect(dst, DB);
    const holder = await connect(dst, DB);
    const other = await connect(dst, DB);
    const pool = await connectMysql(root(dst), { connections: 3, session: loadSession('') });
    const waiting = async (sql: string) => {
      for (let i = 0; i < 1200; i++) { // up to a minute: a busy machine
        const [rows] = await d.query("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE STATE LIKE 'Waiting for table metadata lock' AND INFO LIKE ?", [`${sql}%`]);
        if (Number((rows as Array<{ n: unknown }>)[0]!.n) > 0) return true;
        await sleep(50);
      }
      return false;
    };
    try {
      const [[row]] = await d.query('SHOW CREATE TABLE t09') as unknown as [[Record<string, string>]];
      const keys = splitDeferred(String(row!['Create Table'])).deferred.filter((k) => k.kind === 'index');
      await d.query('ALTER TABLE t09 DROP INDEX ix_label');
      // The table held by an open transaction: the other session's ALTER waits for it, ferry's waits behind that one.
      await holder.query('START TRANSACTION');
      await holder.query('SELECT id FROM t09 LIMIT 1');
      const theirs = other.query('ALTER TABLE t09 ADD KEY ix_label (label(10), id)');
      expect(await waiting('ALTER TABLE t09 ADD KEY')).toBe(true);
      const ours = addAllDeferredKeys(pool, [{ db: DB, name: 't09', keys }], 2).then(() => undefined, (e: unknown) => e);
      expect(await waiting('ALTER TABLE `faults`.`t09`')).toBe(true);
      await holder.query('COMMIT');
      await theirs;
      expect(await ours).toBeUndefined();
      const [ix] = await d.query("SELECT COUNT(*) AS n FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 't09' AND INDEX_NAME = 'ix_label'", [DB]);
      expect(Number((ix as Array<{ n: unknown }>)[0]!.n)).toBe(2);
    } finally { await holder.end(); await other.end(); await d.end(); await pool.end(); }
  });
});
