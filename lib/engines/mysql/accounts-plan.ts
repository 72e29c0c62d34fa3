/**
 * What happens to each carried account on a target (pure: accounts and target facts in, plan out):
 * `keep` an account the target already has (never altered: a host account in rollback, the stack's
 * app user in a migration), `create` it with the source's plugin and authentication string where the
 * target has that plugin, `create-with-password` (the target lacks the plugin, e.g. MySQL 8's
 * caching_sha2_password on MariaDB: the password comes from the stack's secret file), or `cannot`
 * (neither: the operator runs the statement shown). Statements shown never hold a hash or password.
 */
import type { EngineFinding } from '../../core/engine.ts';
import { accountKey, accountSql, type SourceAccount } from './accounts.ts';
import { clauseSupported, clausesSql } from './account-attributes.ts';

export interface AccountTarget {
  readonly flavor: 'mysql' | 'mariadb';
  /** Active authentication plugins. */
  readonly plugins: readonly string[];
  /** Existing accounts as `user@host`. */
  readonly accounts: readonly string[];
  /** False when the target serves no TLS (@@have_ssl): an account that REQUIREs it cannot log in there. Unknown: true. */
  readonly tls?: boolean;
}

export type AccountAction = 'keep' | 'create' | 'create-with-password' | 'cannot';

export interface AccountPlan {
  readonly account: SourceAccount;
  readonly action: AccountAction;
  /** What ferry runs (or the operator must run), credentials shown as placeholders. */
  readonly statements: readonly string[];
  readonly reason: string;
  /** The account's options (SHOW CREATE USER) the target cannot hold: not carried, listed. */
  readonly dropped: readonly string[];
}

/** The account's options the target of `flavor` holds, and those it lacks. */
export function splitClauses(a: SourceAccount, flavor: 'mysql' | 'mariadb'): { carried: SourceAccount['clauses'] & {}; dropped: string[] } {
  const all = a.clauses ?? [];
  return { carried: all.filter((c) => clauseSupported(c, flavor)), dropped: all.filter((c) => !clauseSupported(c, flavor)).map((c) => c.sql) };
}

/** The plugins a target of that flavor and version has without loading anything (preflight, no connection). */
export function defaultPlugins(flavor: 'mysql' | 'mariadb', version: string): string[] {
  if (flavor === 'mariadb') return ['mysql_native_password', 'mysql_old_password'];
  // MySQL 8.4 ships mysql_native_password disabled; 9.0 removed it.
  return /^8\.0\./.test(version) || version === '8.0' ? ['caching_sha2_password', 'mysql_native_password', 'sha256_password'] : ['caching_sha2_password', 'sha256_password'];
}

const PLUGIN = /^[A-Za-z0-9_]+$/;

/** The CREATE USER carrying the source's authentication; `shown` has the hash replaced. */
export function createWithHash(a: SourceAccount, flavor: 'mysql' | 'mariadb'): { sql: string; shown: string } {
  if (!PLUGIN.test(a.plugin)) throw new TypeError(`Expected a plugin name for ${accountKey(a)}, got ${JSON.stringify(a.plugin)}`);
  const head = `CREATE USER IF NOT EXISTS ${accountSql(a)}`;
  const tail = clausesSql(splitClauses(a, flavor).carried);
  if (!a.authHex) {
    const sql = (flavor === 'mysql' ? `${head} IDENTIFIED WITH '${a.plugin}'` : `${head} IDENTIFIED VIA ${a.plugin}`) + tail;
    return { sql, shown: sql };
  }
  if (flavor === 'mysql') {
    // MySQL 8.0.17+ reads the authentication string as a hex literal (what print_identified_with_as_hex prints).
    return { sql: `${head} IDENTIFIED WITH '${a.plugin}' AS 0x${a.authHex}${tail}`, shown: `${head} IDENTIFIED WITH '${a.plugin}' AS <hash from the source>${tail}` };
  }
  const text = Buffer.from(a.authHex, 'hex').toString('latin1');
  const literal = /^[\x20-\x7e]*$/.test(text) ? `'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'` : `X'${a.authHex}'`;
  return { sql: `${head} IDENTIFIED VIA ${a.plugin} USING ${literal}${tail}`, shown: `${head} IDENTIFIED VIA ${a.plugin} USING <hash from the source>${tail}` };
}

/** The CREATE USER with a clear-text password (sent as a bound value, never shown). */
export function createWithPassword(a: SourceAccount, flavor: 'mysql' | 'mariadb'): { sql: string; shown: string } {
  const tail = clausesSql(splitClauses(a, flavor).carried);
  return { sql: `CREATE USER IF NOT EXISTS ${accountSql(a)} IDENTIFIED BY ?${tail}`, shown: `CREATE USER IF NOT EXISTS ${accountSql(a)} IDENTIFIED BY '<password>'${tail}` };
}

/** Plan one account; `hasPassword` tells whether a secret file holds its password. */
export function planAccount(a: SourceAccount, t: AccountTarget, hasPassword: boolean): AccountPlan {
  const name = accountSql(a);
  if (t.accounts.includes(accountKey(a))) {
    return { account: a, action: 'keep', statements: [], dropped: [], reason: `${name} exists on the target: kept as it is, never altered (verify compares its grants and options)` };
  }
  const { carried, dropped } = splitClauses(a, t.flavor);
  const noTls = t.tls === false && carried.some((c) => c.kind === 'require')
    ? `; it REQUIREs TLS, which the target does not serve (@@have_ssl): it cannot log in until the target has certificates` : '';
  const plan = (action: AccountAction, statements: string[], reason: string): AccountPlan => ({ account: a, action, statements, dropped, reason: reason + noTls });
  if (!a.exists) {
    return hasPassword
      ? plan('create-with-password', [createWithPassword(a, t.flavor).shown], `${name} does not exist on the source; created with the password from its secret file`)
      : plan('cannot', [`CREATE USER ${name} IDENTIFIED BY '<password>'`], `${name} is named as DEFINER but exists on neither server`);
  }
  if (t.plugins.includes(a.plugin)) {
    return plan('create', [createWithHash(a, t.flavor).shown, ...a.grants], `${name} created with its ${a.plugin} hash from the source (same password)`);
  }
  if (hasPassword) {
    return plan('create-with-password', [createWithPassword(a, t.flavor).shown, ...a.grants],
      `the target lacks ${a.plugin}: ${name} is created with the target's default plugin and the password from its secret file`);
  }
  return plan('cannot', [`CREATE USER ${name} IDENTIFIED BY '<its password>'${clausesSql(carried)}`, ...a.grants],
    `the target lacks ${a.plugin} and no secret file holds ${name}'s password`);
}

/** Preflight's list: each account with its plugin and grants, what ferry will do, and the exact statements. */
export function accountFindings(plans: readonly AccountPlan[]): EngineFinding[] {
  const out: EngineFinding[] = [];
  for (const p of plans) {
    const a = p.account;
    const subject = `account ${accountSql(a)}`;
    const what = `${a.why.join('; ')}; plugin ${a.plugin || 'none'}; ${a.grants.length} grant(s) on the migrated databases`;
    if (p.action === 'cannot') {
      out.push({ severity: 'blocker', check: 'mysql-account', subject, message: `${what}: ${p.reason}`,
        hint: `as an administrator on the target run: ${p.statements.join('; ')} — or give its password in the mysql options (accounts[].passwordFile)` });
    } else if (p.action === 'keep') {
      out.push({ severity: 'info', check: 'mysql-account', subject, message: `${what}: ${p.reason}`, hint: 'nothing to do' });
    } else {
      out.push({ severity: p.action === 'create' ? 'info' : 'rewrite', check: 'mysql-account', subject, message: `${what}: ${p.reason}`, hint: `ferry runs: ${p.statements.join('; ')}` });
    }
    for (const d of p.dropped) {
      out.push({ severity: 'warning', check: 'mysql-account-option-not-carried', subject, message: `${d}: the target (${p.action === 'keep' ? 'kept account' : 'new account'}) cannot hold this option`,
        hint: 'not carried (MySQL 8 and MariaDB differ in password policy, ATTRIBUTE/COMMENT and MAX_STATEMENT_TIME); enforce it another way if the app relies on it' });
    }
    for (const n of a.notCarried) {
      out.push({ severity: 'warning', check: 'mysql-grant-not-carried', subject, message: `${n.grant}: ${n.why}`, hint: `not copied; if the app needs it, run on the target: ${n.grant.replace(/ TO .*$/, ` TO ${accountSql(a)}`)}` });
    }
  }
  return out;
}
