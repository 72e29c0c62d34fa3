import { describe, expect, it } from 'vitest';
import { classifyGrants, splitAccount, withoutAuthentication, type SourceAccount } from '../../../../lib/engines/mysql/accounts.ts';
import { accountFindings, createWithHash, defaultPlugins, planAccount } from '../../../../lib/engines/mysql/accounts-plan.ts';
import { grantPairs } from '../../../../lib/engines/mysql/accounts-apply.ts';
import { appAccountsFromEnv } from '../../../../lib/engines/mysql/accounts-env.ts';
import { applyDefiner } from '../../../../lib/engines/mysql/definer.ts';
import { assessMysql, DEFAULT_MYSQL_TARGET } from '../../../../lib/engines/mysql/assess.ts';
import type { MysqlFacts } from '../../../../lib/engines/mysql/facts.ts';

const app = (over: Partial<SourceAccount> = {}): SourceAccount => ({
  user: 'app', host: '%', why: ['app account'], exists: true, plugin: 'caching_sha2_password', authHex: '24412430303524',
  grants: ["GRANT SELECT ON `vedfolnir`.* TO 'app'@'%'"], notCarried: [], ...over,
});

describe('accounts', () => {
  it('reads DEFINER spellings', () => {
    expect(splitAccount('app@%')).toEqual({ user: 'app', host: '%' });
    expect(splitAccount('`a``b`@`10.0.%`')).toEqual({ user: 'a`b', host: '10.0.%' });
    expect(splitAccount("'x'@'localhost'")).toEqual({ user: 'x', host: 'localhost' });
  });

  it('carries grants on migrated databases only; global, other-database, role and proxy grants are reported', () => {
    const shown = [
      "GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD '*0123456789ABCDEF0123456789ABCDEF01234567'",
      "GRANT PROCESS, REPLICATION CLIENT ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD '*0123456789ABCDEF0123456789ABCDEF01234567'",
      'GRANT ALL PRIVILEGES ON `vedfolnir`.* TO `app`@`%` WITH GRANT OPTION',
      'GRANT SELECT (`id`, `name`), UPDATE (`name`) ON `vedfolnir`.`users` TO `app`@`%`',
      'GRANT EXECUTE ON PROCEDURE `vedfolnir`.`purge` TO `app`@`%`',
      'GRANT SELECT ON `my\\_other`.* TO `app`@`%`',
      'GRANT `reader`@`%` TO `app`@`%`',
      "GRANT PROXY ON ''@'' TO 'app'@'%'",
    ];
    const r = classifyGrants(shown, { user: 'app', host: '%' }, ['vedfolnir']);
    expect(r.grants).toEqual([
      "GRANT ALL PRIVILEGES ON `vedfolnir`.* TO 'app'@'%' WITH GRANT OPTION",
      "GRANT SELECT (`id`, `name`), UPDATE (`name`) ON `vedfolnir`.`users` TO 'app'@'%'",
      "GRANT EXECUTE ON PROCEDURE `vedfolnir`.`purge` TO 'app'@'%'",
    ]);
    expect(r.notCarried.map((n) => n.why)).toEqual(['a global privilege (never copied implicitly)', 'on my_other, which is not migrated', 'a role', 'a proxy grant']);
    expect(JSON.stringify(r)).not.toContain('0123456789ABCDEF');
    expect(withoutAuthentication("GRANT USAGE ON *.* TO `u`@`%` IDENTIFIED VIA ed25519 USING 'abc' WITH GRANT OPTION")).toBe('GRANT USAGE ON *.* TO `u`@`%` WITH GRANT OPTION');
    expect(grantPairs("GRANT select, SELECT (`a`, `b`) ON `d`.`t` TO 'x'@'%' WITH GRANT OPTION")).toEqual(['SELECT ON `d`.`t`', 'SELECT (`a`, `b`) ON `d`.`t`', 'GRANT OPTION ON `d`.`t`']);
  });

  it('creates with the source hash where the target has the plugin, else with a password, else says what to run', () => {
    const mysql8 = { flavor: 'mysql' as const, plugins: defaultPlugins('mysql', '8.0.36'), accounts: ['root@%'] };
    const maria = { flavor: 'mariadb' as const, plugins: defaultPlugins('mariadb', '10.11.6'), accounts: ['root@%', 'app@%'] };
    expect(createWithHash(app(), 'mysql').sql).toBe("CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED WITH 'caching_sha2_password' AS 0x24412430303524");
    expect(createWithHash(app({ plugin: 'mysql_native_password', authHex: Buffer.from("*AB'C").toString('hex') }), 'mariadb').sql)
      .toBe("CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED VIA mysql_native_password USING '*AB''C'");
    expect(planAccount(app(), mysql8, false).action).toBe('create');
    expect(planAccount(app(), maria, false).action).toBe('keep');
    const other = { ...maria, accounts: ['root@%'] };
    expect(planAccount(app(), other, true).action).toBe('create-with-password');
    const cannot = planAccount(app(), other, false);
    expect(cannot.action).toBe('cannot');
    const [f] = accountFindings([cannot]);
    expect(f).toMatchObject({ severity: 'blocker', check: 'mysql-account', subject: "account 'app'@'%'" });
    expect(f!.message).toMatch(/the target lacks caching_sha2_password/);
    expect(f!.hint).toContain("CREATE USER 'app'@'%' IDENTIFIED BY '<its password>'; GRANT SELECT ON `vedfolnir`.* TO 'app'@'%'");
    expect(JSON.stringify(accountFindings([planAccount(app(), mysql8, false)]))).not.toContain('24412430303524');
    expect(defaultPlugins('mysql', '8.4.2')).not.toContain('mysql_native_password');
  });

  it('finds the app\'s accounts in its .env', () => {
    const env = 'DB_PASSWORD="p%40ss%3Aw%2Frd"\nDATABASE_URL=mysql+pymysql://vedfolnir_app:${DB_PASSWORD}@localhost/vedfolnir\nREDIS_URL=redis://:x@localhost\nREPORT_DB_USER=reporter\nREPORT_DB_PASSWORD=r3p\n';
    expect(appAccountsFromEnv(env)).toEqual([
      { user: 'vedfolnir_app', key: 'DATABASE_URL', password: 'p@ss:w/rd' },
      { user: 'reporter', key: 'REPORT_DB_USER', password: 'r3p' },
    ]);
  });

  it('stripping a DEFINER makes views and routines SQL SECURITY INVOKER', () => {
    const v = applyDefiner('CREATE ALGORITHM=UNDEFINED DEFINER=`app`@`%` SQL SECURITY DEFINER VIEW `v` AS select 1', 'view d.v', { mode: 'strip' });
    expect(v.ddl).toBe('CREATE ALGORITHM=UNDEFINED SQL SECURITY INVOKER VIEW `v` AS select 1');
    expect(v.rewrite).toEqual({ object: 'view d.v', from: '`app`@`%`', to: null, invoker: true });
    expect(applyDefiner('CREATE DEFINER=`app`@`%` FUNCTION f() RETURNS INT RETURN 1', 'function d.f', { mode: 'strip' }).rewrite?.invoker).toBe(true);
    expect(applyDefiner('CREATE DEFINER=`app`@`%` TRIGGER t AFTER INSERT ON x FOR EACH ROW SET @a = 1', 't', { mode: 'strip' }).rewrite?.invoker).toBeUndefined();
    expect(applyDefiner('CREATE DEFINER=`app`@`%` FUNCTION f() RETURNS INT RETURN 1', 'f', { mode: 'keep' })).toEqual({ ddl: 'CREATE DEFINER=`app`@`%` FUNCTION f() RETURNS INT RETURN 1' });
  });
});

describe('preflight on accounts (assessMysql)', () => {
  const facts = (over: Partial<MysqlFacts> = {}): MysqlFacts => ({
    endpoint: '127.0.0.1:3306', version: '8.0.36', sqlMode: 'STRICT_TRANS_TABLES,NO_ZERO_DATE', lowerCaseTableNames: 0, characterSetServer: 'utf8mb4',
    collationServer: 'utf8mb4_general_ci', localInfile: true, maxAllowedPacket: 64 << 20, grants: ['GRANT ALL PRIVILEGES ON *.* TO `root`@`%`'],
    databases: [{ name: 'vedfolnir', charset: 'utf8mb4', collation: 'utf8mb4_general_ci' }], missingDatabases: [], tables: [],
    definers: [{ kind: 'VIEW', db: 'vedfolnir', name: 'v', definer: 'app@%' }], generatedColumns: 0, foreignKeys: [], largestLobColumn: 0,
    accounts: [app({ why: ['DEFINER of view vedfolnir.v', 'app account'], notCarried: [{ grant: 'GRANT PROCESS ON *.* TO `app`@`%`', why: 'a global privilege (never copied implicitly)' }] })],
    ...over,
  });
  const mariaTarget = { version: '10.11.6-MariaDB', lowerCaseTableNames: 0, accounts: ['root@%'] };

  it('keeps DEFINERs by default: no rewrite finding, the account listed with what ferry runs or what to run', () => {
    const f = assessMysql(facts(), DEFAULT_MYSQL_TARGET, { definer: 'keep' });
    expect(f.filter((x) => x.check === 'mysql-definer')).toEqual([]);
    expect(f.find((x) => x.check === 'mysql-account')).toMatchObject({ severity: 'info', hint: expect.stringContaining("IDENTIFIED WITH 'caching_sha2_password' AS <hash from the source>") });
    expect(f.find((x) => x.check === 'mysql-grant-not-carried')?.hint).toBe("not copied; if the app needs it, run on the target: GRANT PROCESS ON *.* TO 'app'@'%'");
    // MySQL 8's caching_sha2_password on a MariaDB target: a blocker unless a secret file holds the password.
    expect(assessMysql(facts(), mariaTarget, { definer: 'keep' }).find((x) => x.check === 'mysql-account')?.severity).toBe('blocker');
    expect(assessMysql(facts(), mariaTarget, { definer: 'keep', passwordKnown: (u) => u === 'app' }).find((x) => x.check === 'mysql-account')?.severity).toBe('rewrite');
  });

  it('says what rewrite and strip do, never to root unless named', () => {
    const r = assessMysql(facts(), DEFAULT_MYSQL_TARGET, { definer: 'rewrite', definerAccount: '`svc`@`%`' }).find((x) => x.check === 'mysql-definer')!;
    expect(r.hint).toMatch(/rewritten to `svc`@`%` as configured/);
    expect(assessMysql(facts(), DEFAULT_MYSQL_TARGET, { definer: 'strip' }).find((x) => x.check === 'mysql-definer')!.hint).toMatch(/SQL SECURITY INVOKER/);
  });
});
