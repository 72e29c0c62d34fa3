/**
 * Accounts, DEFINERs and SQL SECURITY on real servers (MariaDB 10.11 both sides). The source's app
 * account owns a view, a procedure and a function with SQL SECURITY DEFINER and holds a global privilege
 * and a grant on a database that is not migrated. After the import the app account logs in on the target
 * with its original password and calls its routine; every object keeps its DEFINER and SQL SECURITY (none
 * runs as root); the global privilege is reported, not copied. An account whose plugin the target lacks
 * (ed25519) is a preflight blocker with the statement to run, and is created with the password from its
 * secret file. Verify names a changed SQL SECURITY and a revoked grant. Rollback (the reverse import into
 * the host's server) keeps the host's accounts exactly as they were. Stripping sets SQL SECURITY INVOKER.
 */
import { mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, type Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMysql, type StartedMysql } from '../support/containers.ts';
import { exportMysql, importMysql, verifyMysql, type MysqlTarget } from '../../lib/engines/mysql/index.ts';
import { ACCOUNTS_FILE, readAccountsExport } from '../../lib/engines/mysql/accounts.ts';
import { accountFindings, planAccount } from '../../lib/engines/mysql/accounts-plan.ts';
import { readAccountTarget } from '../../lib/engines/mysql/accounts-apply.ts';
import { FerryError } from '../../lib/core/errors.ts';

const DB = 'appdb';
const APP_PW = 'app-pw-only-the-app-knows';
const REPORTER_PW = 'reporter-pw-from-the-secret-file';
const endpoint = (s: StartedMysql): MysqlTarget => ({ host: s.host, port: s.port, user: 'root', password: s.rootPassword });
const connect = (s: StartedMysql, user = 'root', password = s.rootPassword): Promise<Connection> =>
  createConnection({ host: s.host, port: s.port, user, password, charset: 'utf8mb4' });
const rowsOf = async (c: Connection, sql: string): Promise<Array<Record<string, unknown>>> => (await c.query(sql))[0] as Array<Record<string, unknown>>;
const grantsOf = async (c: Connection, account: string) => (await rowsOf(c, `SHOW GRANTS FOR ${account}`)).map((r) => String(Object.values(r)[0]));
const whoRuns = (c: Connection) => rowsOf(c, `SELECT * FROM (
  SELECT 'view' AS k, TABLE_NAME AS n, DEFINER AS d, SECURITY_TYPE AS s FROM information_schema.VIEWS WHERE TABLE_SCHEMA = '${DB}'
  UNION ALL SELECT LOWER(ROUTINE_TYPE), ROUTINE_NAME, DEFINER, SECURITY_TYPE FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = '${DB}'
  UNION ALL SELECT 'trigger', TRIGGER_NAME, DEFINER, NULL FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '${DB}') x ORDER BY k, n`);

describe('mysql: accounts, DEFINERs and SQL SECURITY', { timeout: 900_000 }, () => {
  let src: StartedMysql;
  let dst: StartedMysql;
  let work: string;
  let ed25519 = false;
  const passwords = new Map<string, string>();
  const passwordFor = async (a: { user: string; host: string }) => (a.user === 'reporter' ? readFile(join(work, 'secrets', 'reporter_password'), 'utf8').then((t) => t.trim()) : undefined);

  beforeAll(async () => {
    [src, dst] = await Promise.all([startMysql({ database: DB }), startMysql({ database: 'placeholder' })]);
    work = await mkdtemp(join(tmpdir(), 'ferry-mysql-accounts-'));
    const c = await connect(src);
    try {
      for (const sql of [
        `CREATE TABLE ${DB}.notes (id INT PRIMARY KEY, owner VARCHAR(20), body TEXT)`,
        `INSERT INTO ${DB}.notes VALUES (1, 'ann', 'first'), (2, 'bob', 'second'), (3, 'ann', 'third')`,
        'CREATE DATABASE otherdb',
        `CREATE USER 'app'@'%' IDENTIFIED BY '${APP_PW}'`,
        `GRANT SELECT, INSERT, UPDATE, EXECUTE, TRIGGER ON ${DB}.* TO 'app'@'%'`,
        "GRANT PROCESS ON *.* TO 'app'@'%'",
        "GRANT SELECT ON otherdb.* TO 'app'@'%'",
        `CREATE DEFINER='app'@'%' SQL SECURITY DEFINER VIEW ${DB}.v_ann AS SELECT id, body FROM ${DB}.notes WHERE owner = 'ann'`,
        `CREATE DEFINER='app'@'%' PROCEDURE ${DB}.count_notes(OUT n INT) SQL SECURITY DEFINER SELECT COUNT(*) INTO n FROM ${DB}.notes`,
        `CREATE DEFINER='app'@'%' FUNCTION ${DB}.note_len(i INT) RETURNS INT READS SQL DATA SQL SECURITY DEFINER RETURN (SELECT LENGTH(body) FROM ${DB}.notes WHERE id = i)`,
        `CREATE DEFINER='app'@'%' TRIGGER ${DB}.notes_owner BEFORE INSERT ON ${DB}.notes FOR EACH ROW SET NEW.owner = LOWER(NEW.owner)`,
      ]) await c.query(sql);
      // An account on a plugin the target lacks: ed25519 is loaded on the source only.
      ed25519 = await c.query("INSTALL SONAME 'auth_ed25519'").then(() => true, () => false);
      console.log(`ed25519 loaded on the source: ${ed25519}`);
      if (ed25519) {
        await c.query(`CREATE USER 'reporter'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('${REPORTER_PW}')`);
        await c.query(`GRANT SELECT ON ${DB}.v_ann TO 'reporter'@'%'`);
        await c.query(`CREATE DEFINER='reporter'@'%' SQL SECURITY DEFINER VIEW ${DB}.v_report AS SELECT COUNT(*) AS n FROM ${DB}.v_ann`);
        await c.query(`GRANT SELECT ON ${DB}.v_report TO 'reporter'@'%'`);
      }
    } finally { await c.end(); }
  });
  afterAll(async () => { await Promise.all([src?.stop(), dst?.stop()]); });

  it('exports the accounts the objects and the app need, without a credential in sight', async () => {
    await exportMysql({ source: endpoint(src), databases: [DB], dir: join(work, 'export'), accounts: [{ user: 'app' }] });
    const x = await readAccountsExport(join(work, 'export'));
    expect(x.accounts.map((a) => `${a.user}@${a.host}`)).toEqual(ed25519 ? ['app@%', 'reporter@%'] : ['app@%']);
    const app = x.accounts[0]!;
    expect(app.why).toContain('app account');
    expect(app.why).toContain(`DEFINER of procedure ${DB}.count_notes`);
    expect(app.plugin).toBe('mysql_native_password');
    expect(app.grants).toEqual([`GRANT SELECT, INSERT, UPDATE, EXECUTE, TRIGGER ON \`${DB}\`.* TO 'app'@'%'`]);
    expect(app.notCarried.map((n) => n.why)).toEqual(['a global privilege (never copied implicitly)', 'on otherdb, which is not migrated']);
    expect(app.notCarried.map((n) => n.grant).join('\n')).not.toMatch(/PASSWORD|\*[0-9A-F]{40}/);
    expect((await stat(join(work, 'export', ACCOUNTS_FILE))).mode & 0o777).toBe(0o600);
    const manifest = await readFile(join(work, 'export', 'manifest.json'), 'utf8');
    expect(manifest).not.toContain(app.authHex);
    expect(manifest).toMatch(/DEFINER=`app`@`%`/); // kept, not rewritten to root
  });

  it('preflight lists each account, its plugin and grants: created, kept or not carried, with the statement to run', async () => {
    const x = await readAccountsExport(join(work, 'export'));
    const c = await connect(dst);
    try {
      const target = await readAccountTarget(c);
      const findings = accountFindings(x.accounts.map((a) => planAccount(a, target, false)));
      const app = findings.find((f) => f.check === 'mysql-account' && f.subject === "account 'app'@'%'")!;
      expect(app.severity).toBe('info');
      expect(app.hint).toBe(`ferry runs: CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED VIA mysql_native_password USING <hash from the source>; GRANT SELECT, INSERT, UPDATE, EXECUTE, TRIGGER ON \`${DB}\`.* TO 'app'@'%'`);
      const global = findings.find((f) => f.check === 'mysql-grant-not-carried' && /PROCESS/.test(f.message))!;
      expect(global.hint).toBe("not copied; if the app needs it, run on the target: GRANT PROCESS ON *.* TO 'app'@'%'");
      if (ed25519) {
        const rep = findings.find((f) => f.subject === "account 'reporter'@'%'" && f.check === 'mysql-account')!;
        expect(rep.severity).toBe('blocker');
        expect(rep.message).toMatch(/the target lacks ed25519/);
        expect(rep.hint).toMatch(/CREATE USER 'reporter'@'%' IDENTIFIED BY '<its password>'; GRANT SELECT ON `appdb`.`v_(ann|report)` TO 'reporter'@'%'/);
        // Without the password, the import refuses with the same statement.
        const err = await importMysql({ target: endpoint(dst), dir: join(work, 'export'), stateFile: join(work, 'state-nopw.json') }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(FerryError);
        expect((err as FerryError).code).toBe('E_MYSQL_ACCOUNT');
        expect((err as FerryError).hint).toMatch(/CREATE USER 'reporter'@'%' IDENTIFIED BY '<its password>'/);
        await c.query(`DROP DATABASE ${DB}`);
        await c.query("DROP USER IF EXISTS 'app'@'%'");
      }
    } finally { await c.end(); }
  });

  it('imports them: the app logs in with its own password and calls its routine; objects run as the app, never root', async () => {
    await mkdir(join(work, 'secrets'), { recursive: true });
    await writeFile(join(work, 'secrets', 'reporter_password'), `${REPORTER_PW}\n`, { mode: 0o600 });
    const notes: string[] = [];
    const r = await importMysql({ target: endpoint(dst), dir: join(work, 'export'), stateFile: join(work, 'state.json'), passwordFor, note: (n) => notes.push(n) });
    expect(r.accounts.map((a) => [a.account, a.action])).toEqual(ed25519 ? [["'app'@'%'", 'create'], ["'reporter'@'%'", 'create-with-password']] : [["'app'@'%'", 'create']]);
    expect(notes.join('\n')).toMatch(/'app'@'%': not carried: GRANT PROCESS ON \*\.\* TO `app`@`%` \(a global privilege/);
    expect(JSON.stringify(r)).not.toMatch(/\*[0-9A-F]{40}|reporter-pw|app-pw/);

    const app = await connect(dst, 'app', APP_PW);
    try {
      await app.query(`CALL ${DB}.count_notes(@n)`);
      expect(await rowsOf(app, 'SELECT @n AS n')).toEqual([{ n: 3 }]);
      expect(await rowsOf(app, `SELECT ${DB}.note_len(2) AS l`)).toEqual([{ l: 6 }]);
      expect(await rowsOf(app, `SELECT COUNT(*) AS n FROM ${DB}.v_ann`)).toEqual([{ n: 2 }]);
      // The app's own account can read its routine's body (it is the definer).
      expect(await rowsOf(app, `SELECT ROUTINE_DEFINITION IS NOT NULL AS b FROM information_schema.ROUTINES WHERE ROUTINE_NAME = 'count_notes'`)).toEqual([{ b: 1 }]);
    } finally { await app.end(); }
    if (ed25519) {
      const rep = await connect(dst, 'reporter', REPORTER_PW);
      try { expect(await rowsOf(rep, `SELECT n FROM ${DB}.v_report`)).toEqual([{ n: 2 }]); } finally { await rep.end(); }
    }
    const [s, d] = await Promise.all([connect(src), connect(dst)]);
    try {
      const objects = await whoRuns(d);
      expect(objects).toEqual(await whoRuns(s));
      expect(objects.filter((o) => /^root@/.test(String(o.d)))).toEqual([]);
      expect(objects.find((o) => o.n === 'count_notes')).toEqual({ k: 'procedure', n: 'count_notes', d: 'app@%', s: 'DEFINER' });
      const grants = await grantsOf(d, "'app'@'%'");
      expect(grants.join('\n')).not.toMatch(/PROCESS|otherdb/);
      const [hs, hd] = await Promise.all([rowsOf(s, "SELECT authentication_string AS h FROM mysql.user WHERE User = 'app'"), rowsOf(d, "SELECT authentication_string AS h FROM mysql.user WHERE User = 'app'")]);
      expect(hd).toEqual(hs);
    } finally { await s.end(); await d.end(); }
    const v = await verifyMysql({ target: endpoint(dst), dir: join(work, 'export') });
    expect(v.findings).toEqual([]);
    // Running the import again changes nothing.
    const again = await importMysql({ target: endpoint(dst), dir: join(work, 'export'), stateFile: join(work, 'state.json'), passwordFor });
    expect(again.chunksLoaded).toBe(0);
  });

  it('verify names a changed SQL SECURITY and a revoked grant', async () => {
    const d = await connect(dst);
    try {
      await d.query(`ALTER PROCEDURE ${DB}.count_notes SQL SECURITY INVOKER`);
      await d.query(`REVOKE INSERT ON ${DB}.* FROM 'app'@'%'`);
      const v = await verifyMysql({ target: endpoint(dst), dir: join(work, 'export') });
      expect(v.ok).toBe(false);
      expect(v.accounts).toEqual([
        `account 'app'@'%': grants missing on the target: INSERT ON \`${DB}\`.* (GRANT them to keep what the app could do)`,
        `procedure ${DB}.count_notes: SQL SECURITY is INVOKER on the target, DEFINER expected`,
      ]);
      await d.query(`ALTER PROCEDURE ${DB}.count_notes SQL SECURITY DEFINER`);
      await d.query(`GRANT INSERT ON ${DB}.* TO 'app'@'%'`);
      expect((await verifyMysql({ target: endpoint(dst), dir: join(work, 'export') })).findings).toEqual([]);
    } finally { await d.end(); }
  });

  it('rollback (stack → host) never alters a host account', async () => {
    const [s, d] = await Promise.all([connect(src), connect(dst)]);
    try {
      const before = { grants: await grantsOf(s, "'app'@'%'"), auth: await rowsOf(s, "SELECT plugin, authentication_string FROM mysql.user WHERE User = 'app'") };
      // On the stack the app's password and grants changed after the cutover; the host keeps its own.
      await d.query(`ALTER USER 'app'@'%' IDENTIFIED BY 'changed-on-the-stack'`);
      await d.query(`GRANT DELETE ON ${DB}.* TO 'app'@'%'`);
      await d.query(`INSERT INTO ${DB}.notes VALUES (4, 'ANN', 'written on the stack')`);
      await exportMysql({ source: endpoint(dst), databases: [DB], dir: join(work, 'reverse'), accounts: [{ user: 'app' }] });
      const r = await importMysql({ target: endpoint(src), dir: join(work, 'reverse'), stateFile: join(work, 'state-reverse.json') });
      expect(r.accounts.every((a) => a.action === 'keep')).toBe(true);
      expect(await grantsOf(s, "'app'@'%'")).toEqual(before.grants);
      expect(await rowsOf(s, "SELECT plugin, authentication_string FROM mysql.user WHERE User = 'app'")).toEqual(before.auth);
      expect(await rowsOf(s, `SELECT owner FROM ${DB}.notes WHERE id = 4`)).toEqual([{ owner: 'ann' }]); // the stack's row (its trigger lower-cased it there) is back on the host
      const app = await connect(src, 'app', APP_PW);
      await app.end();
    } finally { await s.end(); await d.end(); }
  });

  it('stripping DEFINERs sets SQL SECURITY INVOKER and says so', async () => {
    const m = await exportMysql({ source: endpoint(src), databases: [DB], dir: join(work, 'strip'), definer: { mode: 'strip' } });
    const rewrites = m.schemas[0]!.definerRewrites;
    expect(rewrites.filter((x) => x.invoker).map((x) => x.object).sort()).toEqual(
      [`function ${DB}.note_len`, `procedure ${DB}.count_notes`, `view ${DB}.v_ann`, ...(ed25519 ? [`view ${DB}.v_report`] : [])].sort());
    const d = await connect(dst);
    try {
      await d.query(`DROP DATABASE ${DB}`);
      await importMysql({ target: endpoint(dst), dir: join(work, 'strip'), stateFile: join(work, 'state-strip.json') });
      const objects = await whoRuns(d);
      expect(objects.filter((o) => o.k !== 'trigger').map((o) => o.s)).toEqual(objects.filter((o) => o.k !== 'trigger').map(() => 'INVOKER'));
      expect((await verifyMysql({ target: endpoint(dst), dir: join(work, 'strip') })).findings).toEqual([]);
    } finally { await d.end(); }
  });

  it('carries what SHOW CREATE USER says beyond the password (REQUIRE, limits, expiry, lock) and verify names a lost option', async () => {
    const OPTIONS = "REQUIRE ISSUER '/CN=ferry-ca' AND SUBJECT '/CN=ops' WITH MAX_QUERIES_PER_HOUR 100 MAX_USER_CONNECTIONS 3 MAX_STATEMENT_TIME 5 PASSWORD EXPIRE INTERVAL 90 DAY ACCOUNT LOCK";
    const [s, d] = await Promise.all([connect(src), connect(dst)]);
    try {
      await s.query(`CREATE USER 'ops'@'%' IDENTIFIED BY 'ops-pw-never-logged' ${OPTIONS}`);
      await s.query(`GRANT SELECT ON ${DB}.* TO 'ops'@'%'`);
      await exportMysql({ source: endpoint(src), databases: [DB], dir: join(work, 'options'), accounts: [{ user: 'ops' }] });
      const ops = (await readAccountsExport(join(work, 'options'))).accounts.find((a) => a.user === 'ops')!;
      expect(ops.clauses!.map((c) => c.sql)).toEqual([
        "REQUIRE ISSUER '/CN=ferry-ca' AND SUBJECT '/CN=ops'", 'MAX_QUERIES_PER_HOUR 100', 'MAX_USER_CONNECTIONS 3', 'MAX_STATEMENT_TIME 5.000000',
        'ACCOUNT LOCK', 'PASSWORD EXPIRE INTERVAL 90 DAY']); // MariaDB prints the lock first
      // Preflight shows the options it carries; MariaDB → MySQL 8 would drop only MAX_STATEMENT_TIME (MariaDB's own).
      const plan = planAccount(ops, await readAccountTarget(d), false);
      expect(plan.statements[0]).toMatch(/ REQUIRE ISSUER '\/CN=ferry-ca' AND SUBJECT '\/CN=ops' WITH MAX_QUERIES_PER_HOUR 100 MAX_USER_CONNECTIONS 3 MAX_STATEMENT_TIME 5\.000000 ACCOUNT LOCK PASSWORD EXPIRE INTERVAL 90 DAY$/);
      expect(plan.dropped).toEqual([]);
      expect(planAccount(ops, { flavor: 'mysql', plugins: ['mysql_native_password'], accounts: [] }, false).dropped).toEqual(['MAX_STATEMENT_TIME 5.000000']);

      await d.query(`DROP DATABASE IF EXISTS ${DB}`);
      await mkdir(join(work, 'secrets'), { recursive: true });
      await writeFile(join(work, 'secrets', 'reporter_password'), `${REPORTER_PW}\n`, { mode: 0o600 });
      const r = await importMysql({ target: endpoint(dst), dir: join(work, 'options'), stateFile: join(work, 'state-options.json'), passwordFor });
      expect(r.accounts.find((a) => a.account === "'ops'@'%'")?.action).toBe('create');
      expect(JSON.stringify(r)).not.toContain('ops-pw');
      const created = String(Object.values((await rowsOf(d, "SHOW CREATE USER 'ops'@'%'"))[0]!)[0]);
      const original = String(Object.values((await rowsOf(s, "SHOW CREATE USER 'ops'@'%'"))[0]!)[0]);
      expect(created).toBe(original); // hash and every option, byte for byte
      // (the app's password differs: the rollback test changed it on this target, a kept account)
      const ofOps = (v: { accounts: readonly string[] }) => v.accounts.filter((x) => x.startsWith("account 'ops'"));
      expect(ofOps(await verifyMysql({ target: endpoint(dst), dir: join(work, 'options') }))).toEqual([]);

      await d.query("ALTER USER 'ops'@'%' WITH MAX_USER_CONNECTIONS 0 ACCOUNT UNLOCK");
      const v = await verifyMysql({ target: endpoint(dst), dir: join(work, 'options') });
      expect(ofOps(v)).toEqual(["account 'ops'@'%': account options differ from the source's: missing MAX_USER_CONNECTIONS 3, ACCOUNT LOCK"]);
    } finally {
      await s.query("DROP USER IF EXISTS 'ops'@'%'").catch(() => undefined);
      await s.end(); await d.end();
    }
  });
});
