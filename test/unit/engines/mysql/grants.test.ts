import { describe, expect, it } from 'vitest';
import { databasePrivileges, matchesDbPattern, parseGrant } from '../../../../lib/engines/mysql/grants.ts';
import { assessMysql, DEFAULT_MYSQL_TARGET } from '../../../../lib/engines/mysql/assess.ts';
import type { MysqlFacts } from '../../../../lib/engines/mysql/facts.ts';

const facts = (grants: string[], over: Partial<MysqlFacts> = {}): MysqlFacts => ({
  endpoint: '127.0.0.1:3306', version: '10.11.8-MariaDB', sqlMode: 'STRICT_TRANS_TABLES,NO_ZERO_DATE', lowerCaseTableNames: 0,
  characterSetServer: 'utf8mb4', collationServer: 'utf8mb4_general_ci', localInfile: true, maxAllowedPacket: 64 << 20,
  grants, account: "'exporter'@'%'", databases: [{ name: 'app_db', charset: 'utf8mb4', collation: 'utf8mb4_general_ci' }], missingDatabases: [],
  tables: [], definers: [], generatedColumns: 0, foreignKeys: [], largestLobColumn: 0, ...over,
});
const FREEZE = 'GRANT RELOAD, SUPER ON *.* TO `exporter`@`%`';
const PROC = 'GRANT SELECT ON `mysql`.`proc` TO `exporter`@`%`';

describe('export account grants (grants.ts)', () => {
  it('parses scopes: global, database, table, column list, routine; role and proxy lines are not privileges', () => {
    expect(parseGrant('GRANT SELECT, SHOW VIEW ON *.* TO `u`@`%`')).toEqual({ revoke: false, privileges: ['SELECT', 'SHOW VIEW'], scope: 'global', db: null });
    expect(parseGrant("GRANT ALL ON `app``x`.* TO 'u'@'%' WITH GRANT OPTION")).toMatchObject({ privileges: ['ALL PRIVILEGES'], scope: 'database', db: 'app`x' });
    expect(parseGrant('GRANT SELECT ON `db`.`t1` TO `u`@`%`')).toMatchObject({ scope: 'object', db: 'db' });
    expect(parseGrant('GRANT SELECT (`a`, `b`), INSERT (`a`) ON `db`.`t` TO `u`@`%`')).toMatchObject({ privileges: ['SELECT', 'INSERT'], scope: 'object' });
    expect(parseGrant('GRANT EXECUTE ON PROCEDURE `db`.`p` TO `u`@`%`')).toMatchObject({ scope: 'object', db: 'db' });
    expect(parseGrant('REVOKE SELECT ON `db`.* FROM `u`@`%`')).toMatchObject({ revoke: true, scope: 'database', db: 'db' });
    expect(parseGrant('GRANT `r1`@`%` TO `u`@`%`')).toBeNull();
    expect(parseGrant('GRANT `reader` TO `u`@`%`')).toBeNull();
    expect(parseGrant("GRANT PROXY ON ''@'' TO 'root'@'localhost' WITH GRANT OPTION")).toBeNull();
  });
  it('database names are LIKE patterns (\\_ literal), literal under partial_revokes; a partial revoke takes a privilege back', () => {
    expect(matchesDbPattern('app\\_db', 'app_db')).toBe(true);
    expect(matchesDbPattern('app\\_db', 'appXdb')).toBe(false);
    expect(matchesDbPattern('app%', 'app_db')).toBe(true);
    expect(matchesDbPattern('app%', 'app_db', true)).toBe(false);
    expect([...databasePrivileges(['GRANT SELECT ON *.* TO `u`@`%`', 'GRANT TRIGGER ON `app%`.* TO `u`@`%`', 'GRANT SELECT ON `app_db`.`t` TO `u`@`%`'], 'app_db')]).toEqual(['SELECT', 'TRIGGER']);
    expect([...databasePrivileges(['GRANT SELECT, EVENT ON *.* TO `u`@`%`', 'REVOKE SELECT ON `app_db`.* FROM `u`@`%`'], 'app_db')]).toEqual(['EVENT']);
  });
  it('preflight: table-level grants only on a migrated database is a blocker naming account, database and the GRANT; database-level is not', () => {
    const partial = assessMysql(facts([FREEZE, PROC, 'GRANT SELECT, SHOW VIEW, TRIGGER ON `app_db`.`users` TO `exporter`@`%`', 'GRANT EVENT, LOCK TABLES ON `app_db`.* TO `exporter`@`%`']), DEFAULT_MYSQL_TARGET, { definer: 'keep' });
    const b = partial.filter((x) => x.severity === 'blocker');
    expect(b).toHaveLength(1);
    expect(b[0]!.check).toBe('mysql-privileges');
    expect(b[0]!.message).toMatch(/^'exporter'@'%' lacks SELECT, SHOW VIEW, TRIGGER on database app_db: it holds 1 table- or column-level grant\(s\) there, so the tables it has no privilege on are invisible/);
    expect(b[0]!.hint).toBe("as an administrator run: GRANT SELECT, SHOW VIEW, TRIGGER ON `app_db`.* TO 'exporter'@'%'");
    const whole = assessMysql(facts([FREEZE, PROC, 'GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON `app_db`.* TO `exporter`@`%`']), DEFAULT_MYSQL_TARGET, { definer: 'keep' });
    expect(whole.filter((x) => x.severity === 'blocker')).toEqual([]);
    // Without a way to read routines it did not define (MariaDB: mysql.proc; MySQL 8: SHOW_ROUTINE), they would be left out.
    const blind = assessMysql(facts([FREEZE, 'GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON `app_db`.* TO `exporter`@`%`']), DEFAULT_MYSQL_TARGET, { definer: 'keep' })
      .filter((x) => x.severity === 'blocker');
    expect(blind.map((x) => x.message)).toEqual(["'exporter'@'%' cannot see the stored procedures and functions it did not define in app_db: information_schema.ROUTINES hides them, so the export would leave them out"]);
    expect(blind[0]!.hint).toBe("as an administrator run: GRANT SELECT ON mysql.proc TO 'exporter'@'%'");
    const mysql8 = assessMysql(facts([FREEZE, 'GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON `app_db`.* TO `exporter`@`%`'], { version: '8.0.36' }), DEFAULT_MYSQL_TARGET, { definer: 'keep' })
      .filter((x) => x.severity === 'blocker');
    expect(mysql8.map((x) => x.hint)).toEqual(["as an administrator run: GRANT SHOW_ROUTINE ON *.* TO 'exporter'@'%' (MySQL 8.0.20+; older: GRANT SELECT ON *.* TO 'exporter'@'%')"]);
    expect(assessMysql(facts([FREEZE, 'GRANT SHOW_ROUTINE ON *.* TO `exporter`@`%`', 'GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON `app_db`.* TO `exporter`@`%`'], { version: '8.0.36' }), DEFAULT_MYSQL_TARGET, { definer: 'keep' })
      .filter((x) => x.severity === 'blocker')).toEqual([]);
    const global = assessMysql(facts(['GRANT ALL PRIVILEGES ON *.* TO `root`@`%`']), DEFAULT_MYSQL_TARGET, { definer: 'keep' });
    expect(global.filter((x) => x.severity === 'blocker')).toEqual([]);
  });
});
