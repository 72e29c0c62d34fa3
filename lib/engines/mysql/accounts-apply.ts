/**
 * Accounts on the target: created before the objects that name them as DEFINER (database-level grants
 * with them; grants on tables, views and routines once those exist), and compared by verify with what
 * the export holds: accounts, their authentication, their grants on the migrated databases, and who
 * each object runs as (DEFINER, SQL SECURITY). An account the target already has is never altered —
 * so rollback, which imports into the host's server, never changes a host account — and ferry never
 * drops one.
 */
import type { Connection, Pool, PoolConnection } from 'mysql2/promise';
import { FerryError } from '../../core/errors.ts';
import { str } from './catalog.ts';
import { accountKey, accountSql, classifyGrants, readAccountClauses, readObjectSecurity, type AccountsExport, type SourceAccount } from './accounts.ts';
import { createWithHash, createWithPassword, planAccount, splitClauses, type AccountPlan, type AccountTarget } from './accounts-plan.ts';
import { clauseSupported } from './account-attributes.ts';

type Db = Pool | PoolConnection | Connection;
type Row = Record<string, unknown>;
const rows = async (db: Db, sql: string, values?: unknown[]): Promise<Row[]> => (await db.query(sql, values))[0] as Row[];

export interface ApplyAccountsOptions {
  /** The clear-text password of an account whose plugin the target lacks (the stack's secret file), if known. */
  readonly passwordFor?: (a: { user: string; host: string }) => Promise<string | undefined>;
  /** Accounts an earlier run of this import created (`user@host`): a re-run finishes their grants. */
  readonly owned: ReadonlySet<string>;
  /** Called before an account is created, so a run killed right after still knows it owns it. */
  readonly own: (key: string) => Promise<void>;
}

/** The target's flavor, active authentication plugins and accounts. */
export async function readAccountTarget(db: Db): Promise<AccountTarget> {
  const [v] = await rows(db, 'SELECT VERSION() AS v');
  const plugins = await rows(db, "SELECT PLUGIN_NAME AS p FROM information_schema.PLUGINS WHERE PLUGIN_TYPE = 'AUTHENTICATION' AND PLUGIN_STATUS = 'ACTIVE'");
  const users = await rows(db, 'SELECT User AS u, Host AS h FROM mysql.user');
  // MySQL 8.0.26+ deprecates have_ssl (removed in 8.4): then TLS counts as served, as it is by default there.
  const [ssl] = await rows(db, 'SELECT @@have_ssl AS s').catch(() => [{ s: 'YES' }]);
  return {
    flavor: /mariadb/i.test(str(v?.v)) ? 'mariadb' : 'mysql',
    tls: str(ssl?.s ?? 'YES').toUpperCase() === 'YES',
    plugins: plugins.map((r) => str(r.p)),
    accounts: users.map((r) => accountKey({ user: str(r.u), host: str(r.h) })),
  };
}

const dbLevel = (grant: string) => /\bON (?:`(?:[^`]|``)*`)\.\* TO /.test(grant);

/** Create the accounts the target lacks, with their database-level grants; returns the plan carried out. */
export async function applyAccounts(c: PoolConnection, x: AccountsExport, o: ApplyAccountsOptions): Promise<AccountPlan[]> {
  if (!x.accounts.length) return [];
  const target = await readAccountTarget(c);
  const plans: AccountPlan[] = [];
  for (const a of x.accounts) {
    const key = accountKey(a);
    // An account this import created earlier is finished, not kept: a killed run may have left it without grants.
    const t = o.owned.has(key) ? { ...target, accounts: target.accounts.filter((k) => k !== key) } : target;
    const needsPassword = !t.accounts.includes(key) && (!a.exists || !t.plugins.includes(a.plugin));
    const password = needsPassword ? await o.passwordFor?.(a) : undefined;
    const plan = planAccount(a, t, password !== undefined);
    plans.push(plan);
    if (plan.action === 'keep') continue;
    if (plan.action === 'cannot') {
      throw new FerryError('E_MYSQL_ACCOUNT', `Cannot create ${accountSql(a)} on the target: ${plan.reason}`, {
        hint: `as an administrator on the target run: ${plan.statements.join('; ')} — then run again`,
      });
    }
    await o.own(key);
    const create = plan.action === 'create' ? createWithHash(a, target.flavor) : createWithPassword(a, target.flavor);
    await c.query(create.sql, plan.action === 'create' ? [] : [password]);
    for (const g of a.grants.filter(dbLevel)) await c.query(g);
  }
  return plans;
}

/** Grants on tables, views and routines, once the objects exist (only for accounts this import created). */
export async function applyObjectGrants(c: PoolConnection, x: AccountsExport, owned: ReadonlySet<string>): Promise<void> {
  for (const a of x.accounts.filter((y) => owned.has(accountKey(y)))) for (const g of a.grants.filter((y) => !dbLevel(y))) await c.query(g);
}

/**
 * A grant as (object, privilege) pairs, privileges upper-cased (column lists kept with their privilege),
 * `WITH GRANT OPTION` as the privilege GRANT OPTION: `GRANT SELECT, INSERT ON `d`.* TO …` → two pairs.
 */
export function grantPairs(g: string): string[] {
  const m = /^GRANT (.+?) ON (.+?) TO .*?( WITH GRANT OPTION)?$/.exec(g);
  if (!m) return [g];
  const privs: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of m[1]!) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) { privs.push(cur.trim()); cur = ''; continue; }
    cur += ch;
  }
  privs.push(cur.trim());
  if (m[3]) privs.push('GRANT OPTION');
  return privs.map((p) => `${p.replace(/^[A-Z ]+/i, (w) => w.toUpperCase())} ON ${m[2]}`);
}

/** Accounts, grants and who objects run as, on the target against the export; one line per difference. */
export async function verifyAccounts(db: Db, x: AccountsExport): Promise<string[]> {
  const findings: string[] = [];
  if (!x.accounts.length && !x.objects.length) return findings;
  const target = await readAccountTarget(db);
  for (const a of x.accounts.filter((y) => y.exists)) findings.push(...(await compareAccount(db, a, x.databases, target)));
  const now = new Map((await readObjectSecurity(db, x.databases, { mode: 'keep' })).map((o) => [`${o.kind} ${o.database}.${o.name}`, o]));
  for (const want of x.objects) {
    const id = `${want.kind} ${want.database}.${want.name}`;
    const got = now.get(id);
    if (!got) { findings.push(`${id}: missing on the target`); continue; }
    if (want.definer !== null && got.definer !== want.definer) findings.push(`${id}: DEFINER is ${got.definer} on the target, ${want.definer} expected`);
    if (want.security !== got.security) findings.push(`${id}: SQL SECURITY is ${got.security} on the target, ${want.security} expected`);
  }
  return findings;
}

async function compareAccount(db: Db, a: SourceAccount, databases: readonly string[], target: AccountTarget): Promise<string[]> {
  const name = `account ${accountSql(a)}`;
  if (!target.accounts.includes(accountKey(a))) return [`${name}: missing on the target`];
  const out: string[] = [];
  const [auth] = await rows(db, 'SELECT plugin AS p, HEX(authentication_string) AS h FROM mysql.user WHERE User = ? AND Host = ?', [a.user, a.host]);
  // Salted hashes (caching_sha2_password, sha256_password) differ for one password: compare only deterministic ones.
  const deterministic = !/sha2|sha256/.test(a.plugin);
  if (auth && str(auth.p) === a.plugin && deterministic && str(auth.h) !== a.authHex) out.push(`${name}: its password differs from the source's (${a.plugin})`);
  const shown = (await rows(db, `SHOW GRANTS FOR ${accountSql(a)}`)).map((r) => str(Object.values(r)[0]));
  const have = new Set(classifyGrants(shown, a, databases).grants.flatMap(grantPairs));
  // ALL PRIVILEGES on an object covers every privilege on it (the stack's own app user is created with it).
  const covered = (pair: string) => have.has(pair) || (!pair.startsWith('GRANT OPTION ') && have.has(pair.replace(/^.+? ON /, 'ALL PRIVILEGES ON ')));
  const missing = [...new Set(a.grants.flatMap(grantPairs))].filter((p) => !covered(p));
  if (missing.length) out.push(`${name}: grants missing on the target: ${missing.join('; ')} (GRANT them to keep what the app could do)`);
  // The options SHOW CREATE USER prints, as far as the target's flavor has them (the rest was reported as not carried).
  if (a.clauses) {
    const want = splitClauses(a, target.flavor).carried.map((c) => c.sql);
    const got = (await readAccountClauses(db, a)).clauses.filter((c) => clauseSupported(c, target.flavor)).map((c) => c.sql);
    const lacking = want.filter((w) => !got.includes(w));
    const extra = got.filter((g) => !want.includes(g));
    if (lacking.length || extra.length) {
      out.push(`${name}: account options differ from the source's:${lacking.length ? ` missing ${lacking.join(', ')}` : ''}${extra.length ? `${lacking.length ? ';' : ''} not on the source ${extra.join(', ')}` : ''}`);
    }
  }
  return out;
}
