/**
 * Account options from SHOW CREATE USER (account-attributes.ts): MySQL 8's and MariaDB's spellings as
 * their servers print them (MySQL 8 cannot run here: its output is taken from its documentation),
 * defaults dropped, and what each target flavor can hold.
 */
import { describe, expect, it } from 'vitest';
import { clausesSql, parseAccountClauses, tokenize } from '../../lib/engines/mysql/account-attributes.ts';
import { createWithHash, createWithPassword, planAccount, accountFindings } from '../../lib/engines/mysql/accounts-plan.ts';
import type { SourceAccount } from '../../lib/engines/mysql/accounts.ts';

const MYSQL8 = "CREATE USER `app`@`%` IDENTIFIED WITH 'caching_sha2_password' AS 0x244124303035245A DEFAULT ROLE `reader`@`%` REQUIRE SSL "
  + 'WITH MAX_QUERIES_PER_HOUR 500 MAX_CONNECTIONS_PER_HOUR 0 PASSWORD EXPIRE INTERVAL 180 DAY ACCOUNT LOCK PASSWORD HISTORY 5 '
  + "PASSWORD REUSE INTERVAL 365 DAY PASSWORD REQUIRE CURRENT OPTIONAL FAILED_LOGIN_ATTEMPTS 3 PASSWORD_LOCK_TIME UNBOUNDED ATTRIBUTE '{\"team\": \"ops\", \"comment\": \"it\\'s the app\"}'";
const MYSQL8_DEFAULTS = "CREATE USER `plain`@`%` IDENTIFIED WITH 'mysql_native_password' AS '*0123456789ABCDEF0123456789ABCDEF01234567' REQUIRE NONE "
  + 'PASSWORD EXPIRE DEFAULT ACCOUNT UNLOCK PASSWORD HISTORY DEFAULT PASSWORD REUSE INTERVAL DEFAULT PASSWORD REQUIRE CURRENT DEFAULT';
const MARIADB = "CREATE USER `ops`@`%` IDENTIFIED BY PASSWORD '*0123456789ABCDEF0123456789ABCDEF01234567' REQUIRE ISSUER '/CN=ca' AND SUBJECT '/CN=o''ps' "
  + 'WITH MAX_USER_CONNECTIONS 3 MAX_STATEMENT_TIME 5.000000 ACCOUNT LOCK PASSWORD EXPIRE';

const account = (clauses: SourceAccount['clauses']): SourceAccount => ({
  user: 'app', host: '%', why: ['app account'], exists: true, plugin: 'mysql_native_password', authHex: Buffer.from('*0123456789ABCDEF0123456789ABCDEF01234567').toString('hex'),
  grants: [], notCarried: [], clauses,
});

describe('mysql account options', () => {
  it('tokenizes quoted strings whole, with doubled and escaped quotes', () => {
    expect(tokenize("ATTRIBUTE '{\"a\": \"it\\'s\"}' COMMENT 'o''k' `x``y`@`%`")).toEqual(['ATTRIBUTE', "'{\"a\": \"it\\'s\"}'", 'COMMENT', "'o''k'", '`x``y`', '@', '`%`']);
  });

  it('reads MySQL 8: every option but the defaults, DEFAULT ROLE skipped, nothing of the hash', () => {
    const r = parseAccountClauses(MYSQL8);
    expect(r.unknown).toEqual([]);
    expect(r.clauses.map((c) => c.sql)).toEqual(['REQUIRE SSL', 'MAX_QUERIES_PER_HOUR 500', 'PASSWORD EXPIRE INTERVAL 180 DAY', 'ACCOUNT LOCK', 'PASSWORD HISTORY 5',
      'PASSWORD REUSE INTERVAL 365 DAY', 'PASSWORD REQUIRE CURRENT OPTIONAL', 'FAILED_LOGIN_ATTEMPTS 3', 'PASSWORD_LOCK_TIME UNBOUNDED',
      "ATTRIBUTE '{\"team\": \"ops\", \"comment\": \"it\\'s the app\"}'"]);
    expect(JSON.stringify(r)).not.toContain('244124');
    expect(parseAccountClauses(MYSQL8_DEFAULTS)).toEqual({ clauses: [], unknown: [] });
  });

  it('reads MariaDB: REQUIRE parts, MAX_STATEMENT_TIME, an expired password', () => {
    const r = parseAccountClauses(MARIADB);
    expect(r.clauses.map((c) => c.sql)).toEqual(["REQUIRE ISSUER '/CN=ca' AND SUBJECT '/CN=o''ps'", 'MAX_USER_CONNECTIONS 3', 'MAX_STATEMENT_TIME 5.000000', 'ACCOUNT LOCK', 'PASSWORD EXPIRE']);
    expect(JSON.stringify(r)).not.toContain('0123456789ABCDEF');
    expect(parseAccountClauses('CREATE USER `u`@`%` IDENTIFIED VIA ed25519 USING \'abc\' OR unix_socket')).toEqual({ clauses: [], unknown: [] });
    expect(parseAccountClauses('CREATE USER `u`@`%` ACCOUNT LOCK SOMETHING NEW 1').unknown).toEqual(['SOMETHING NEW 1']);
  });

  it('creates with the options the target holds and lists the rest (MySQL 8 → MariaDB, MariaDB → MySQL 8)', () => {
    const mysql8 = account(parseAccountClauses(MYSQL8).clauses);
    const toMaria = planAccount(mysql8, { flavor: 'mariadb', plugins: ['mysql_native_password'], accounts: [], tls: false }, false);
    expect(toMaria.dropped).toEqual(['PASSWORD HISTORY 5', 'PASSWORD REUSE INTERVAL 365 DAY', 'PASSWORD REQUIRE CURRENT OPTIONAL', 'FAILED_LOGIN_ATTEMPTS 3',
      'PASSWORD_LOCK_TIME UNBOUNDED', "ATTRIBUTE '{\"team\": \"ops\", \"comment\": \"it\\'s the app\"}'"]);
    expect(toMaria.statements[0]).toBe("CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED VIA mysql_native_password USING <hash from the source> REQUIRE SSL WITH MAX_QUERIES_PER_HOUR 500 PASSWORD EXPIRE INTERVAL 180 DAY ACCOUNT LOCK");
    expect(toMaria.reason).toMatch(/REQUIREs TLS, which the target does not serve/);
    const findings = accountFindings([toMaria]).filter((f) => f.check === 'mysql-account-option-not-carried');
    expect(findings.map((f) => f.message)).toEqual(toMaria.dropped.map((d) => `${d}: the target (new account) cannot hold this option`));
    expect(createWithHash(mysql8, 'mysql').sql).toMatch(/ AS 0x2a30.* REQUIRE SSL WITH MAX_QUERIES_PER_HOUR 500 PASSWORD EXPIRE INTERVAL 180 DAY ACCOUNT LOCK PASSWORD HISTORY 5 .* ATTRIBUTE '\{"team": "ops", "comment": "it\\'s the app"\}'$/);
    const maria = account(parseAccountClauses(MARIADB).clauses);
    expect(planAccount(maria, { flavor: 'mysql', plugins: ['caching_sha2_password'], accounts: [] }, true).dropped).toEqual(['MAX_STATEMENT_TIME 5.000000']);
    expect(createWithPassword(maria, 'mysql').shown).toBe("CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY '<password>' REQUIRE ISSUER '/CN=ca' AND SUBJECT '/CN=o''ps' WITH MAX_USER_CONNECTIONS 3 ACCOUNT LOCK PASSWORD EXPIRE");
    // An account the target already has is kept, options and all: nothing dropped, nothing run.
    expect(planAccount(maria, { flavor: 'mysql', plugins: [], accounts: ['app@%'] }, false)).toMatchObject({ action: 'keep', dropped: [], statements: [] });
    expect(clausesSql([])).toBe('');
  });
});
