/**
 * The accounts the app and its objects need, read from the source: every DEFINER account of the migrated
 * databases' views, routines, triggers and events, and the app's own accounts (the users its .env names,
 * plus any configured). Each carries its authentication (plugin and authentication string, exact bytes,
 * as `SHOW CREATE USER` prints them) and its grants on the migrated databases; global and admin
 * privileges, grants on other databases, roles and proxies are never carried, only listed. The
 * authentication string is a credential: it lives in `accounts.json` (mode 0600) beside the export and
 * never in a log, report, error or argv.
 */
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import type { Connection, Pool, PoolConnection } from 'mysql2/promise';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { str } from './catalog.ts';
import type { DefinerPolicy } from './definer.ts';
import { parseAccountClauses, type AccountClause } from './account-attributes.ts';

/** An app account to carry: `host` omitted means every host the user has on the source. */
export interface AppAccount {
  readonly user: string;
  readonly host?: string;
}

export interface SourceAccount {
  readonly user: string;
  readonly host: string;
  /** Why it is carried ("DEFINER of view db.v", "app account"). */
  readonly why: readonly string[];
  /** False for a DEFINER naming an account the source itself lacks (an orphaned object). */
  readonly exists: boolean;
  readonly plugin: string;
  /** HEX() of the authentication string: a credential, never shown. */
  readonly authHex: string;
  /** Grants on the migrated databases, as `GRANT … TO 'u'@'h'` statements to replay. */
  readonly grants: readonly string[];
  /** Grants not carried, each with why (shown in preflight and the report). */
  readonly notCarried: ReadonlyArray<{ readonly grant: string; readonly why: string }>;
  /**
   * What SHOW CREATE USER says beyond the authentication (REQUIRE, limits, expiry, lock, MySQL 8's password
   * policy and ATTRIBUTE), defaults left out; absent in exports made before these were carried.
   */
  readonly clauses?: readonly AccountClause[];
}

/** Who an object runs as, as the target must show it after the import. */
export interface ObjectSecurity {
  readonly kind: 'view' | 'function' | 'procedure' | 'trigger' | 'event';
  readonly database: string;
  readonly name: string;
  /** `user@host`, or null when stripped (the importing account). */
  readonly definer: string | null;
  /** Views and routines: DEFINER or INVOKER. */
  readonly security: 'DEFINER' | 'INVOKER' | null;
}

export const ACCOUNTS_FILE = 'accounts.json';
export const ACCOUNTS_FORMAT = 'ferry-mysql-accounts/1';

export interface AccountsExport {
  readonly format: typeof ACCOUNTS_FORMAT;
  readonly databases: readonly string[];
  readonly accounts: readonly SourceAccount[];
  readonly objects: readonly ObjectSecurity[];
}

type Db = Pool | PoolConnection | Connection;
type Row = Record<string, unknown>;
const rows = async (db: Db, sql: string, values?: unknown[]): Promise<Row[]> => (await db.query(sql, values))[0] as Row[];

/** `'u'@'h'` with quotes escaped: the account as SQL. */
export const accountSql = (a: { user: string; host: string }): string => `'${a.user.replace(/\\/g, '\\\\').replace(/'/g, "''")}'@'${a.host.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
/** `u@h` as information_schema spells a DEFINER. */
export const accountKey = (a: { user: string; host: string }): string => `${a.user}@${a.host}`;

/** `u@h`, `` `u`@`h` `` or `'u'@'h'` → user and host (the last @ splits them). */
export function splitAccount(s: string): { user: string; host: string } {
  const m = /^\s*(`(?:[^`]|``)*`|'(?:[^']|'')*'|[^@\s]*)\s*@\s*(`(?:[^`]|``)*`|'(?:[^']|'')*'|\S*)\s*$/.exec(s);
  const unq = (x: string) => (/^`/.test(x) ? x.slice(1, -1).replace(/``/g, '`') : /^'/.test(x) ? x.slice(1, -1).replace(/''/g, "'") : x);
  if (m) return { user: unq(m[1]!), host: unq(m[2]!) };
  const at = s.lastIndexOf('@');
  return at < 0 ? { user: s, host: '%' } : { user: s.slice(0, at), host: s.slice(at + 1) };
}

/** Who each object of `databases` runs as, after `policy` (keep: as on the source). */
export async function readObjectSecurity(db: Db, databases: readonly string[], policy: DefinerPolicy): Promise<ObjectSecurity[]> {
  if (!databases.length) return [];
  const found = [
    ...(await rows(db, `SELECT 'view' AS k, TABLE_SCHEMA AS d, TABLE_NAME AS n, DEFINER AS def, SECURITY_TYPE AS sec FROM information_schema.VIEWS WHERE TABLE_SCHEMA IN (?)`, [databases])),
    ...(await rows(db, `SELECT LOWER(ROUTINE_TYPE) AS k, ROUTINE_SCHEMA AS d, ROUTINE_NAME AS n, DEFINER AS def, SECURITY_TYPE AS sec FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA IN (?)`, [databases])),
    ...(await rows(db, `SELECT 'trigger' AS k, TRIGGER_SCHEMA AS d, TRIGGER_NAME AS n, DEFINER AS def, NULL AS sec FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA IN (?)`, [databases])),
    ...(await rows(db, `SELECT 'event' AS k, EVENT_SCHEMA AS d, EVENT_NAME AS n, DEFINER AS def, NULL AS sec FROM information_schema.EVENTS WHERE EVENT_SCHEMA IN (?)`, [databases])),
  ];
  return found.map((r) => {
    const kind = str(r.k) as ObjectSecurity['kind'];
    const secured = kind === 'view' || kind === 'function' || kind === 'procedure';
    const security = r.sec == null ? null : (str(r.sec).toUpperCase() as 'DEFINER' | 'INVOKER');
    const definer = policy.mode === 'keep' ? str(r.def) : policy.mode === 'rewrite' ? accountKey(splitAccount(policy.account)) : null;
    return { kind, database: str(r.d), name: str(r.n), definer, security: policy.mode === 'strip' && secured ? 'INVOKER' : security };
  }).sort((a, b) => `${a.database}.${a.kind}.${a.name}`.localeCompare(`${b.database}.${b.kind}.${b.name}`));
}

/** Read the accounts to carry: the DEFINERs of `objects` (as exported) and the app accounts. */
export async function readAccounts(db: Db, databases: readonly string[], objects: readonly ObjectSecurity[], app: readonly AppAccount[]): Promise<SourceAccount[]> {
  const wanted = new Map<string, { user: string; host: string; why: string[] }>();
  const want = (a: { user: string; host: string }, why: string) => {
    const e = wanted.get(accountKey(a)) ?? { ...a, why: [] };
    if (!e.why.includes(why)) e.why.push(why);
    wanted.set(accountKey(a), e);
  };
  for (const o of objects) if (o.definer) want(splitAccount(o.definer), `DEFINER of ${o.kind} ${o.database}.${o.name}`);
  for (const a of app) {
    if (a.host !== undefined) { want({ user: a.user, host: a.host }, 'app account'); continue; }
    const hosts = await rows(db, 'SELECT Host AS h FROM mysql.user WHERE User = ?', [a.user]);
    for (const h of hosts) want({ user: a.user, host: str(h.h) }, 'app account');
    if (!hosts.length) want({ user: a.user, host: '%' }, 'app account');
  }
  const out: SourceAccount[] = [];
  for (const a of [...wanted.values()].sort((x, y) => accountKey(x).localeCompare(accountKey(y)))) {
    const [auth] = await rows(db, 'SELECT plugin AS p, HEX(authentication_string) AS h FROM mysql.user WHERE User = ? AND Host = ?', [a.user, a.host]);
    if (!auth) { out.push({ ...a, exists: false, plugin: '', authHex: '', grants: [], notCarried: [] }); continue; }
    const shown = (await rows(db, `SHOW GRANTS FOR ${accountSql(a)}`)).map((r) => str(Object.values(r)[0]));
    const { grants, notCarried } = classifyGrants(shown, a, databases);
    const { clauses, unknown } = await readAccountClauses(db, a);
    // An empty plugin (accounts from before MySQL 5.7 / MariaDB 10.4) means mysql_native_password.
    out.push({ ...a, exists: true, plugin: str(auth.p) || 'mysql_native_password', authHex: str(auth.h), grants, clauses,
      notCarried: [...notCarried, ...unknown.map((u) => ({ grant: `CREATE USER … ${u}`, why: 'an account option not understood' }))] });
  }
  return out;
}

/** The account's clauses from SHOW CREATE USER (the statement holds its hash: parsed here, never kept or shown). */
export async function readAccountClauses(db: Db, a: { user: string; host: string }): Promise<ReturnType<typeof parseAccountClauses>> {
  // MySQL 8.0.17+: the hash as a hex literal, so no byte of it can upset the tokenizer (MariaDB lacks the variable).
  await db.query('SET SESSION print_identified_with_as_hex = ON').catch(() => undefined);
  const [r] = await rows(db, `SHOW CREATE USER ${accountSql(a)}`);
  return parseAccountClauses(r ? str(Object.values(r)[0]) : '');
}

/** MariaDB prints the password hash inside SHOW GRANTS (`IDENTIFIED BY PASSWORD '*…'`): cut it off first. */
export function withoutAuthentication(grant: string): string {
  return grant.replace(/ IDENTIFIED (?:BY|VIA|WITH) .*?(?= WITH GRANT OPTION| WITH MAX_| REQUIRE |$)/i, '');
}

const GRANT = /^GRANT (.+?) ON (?:(TABLE|FUNCTION|PROCEDURE|PACKAGE BODY|PACKAGE) )?(\*|`(?:[^`]|``)*`)\.(\*|`(?:[^`]|``)*`) TO (?:`(?:[^`]|``)*`|'(?:[^']|'')*'|\S+?)@(?:`(?:[^`]|``)*`|'(?:[^']|'')*'|\S+?)( WITH GRANT OPTION)?(?: .*)?$/i;
const unBacktick = (s: string) => (s.startsWith('`') ? s.slice(1, -1).replace(/``/g, '`') : s);

/** SHOW GRANTS lines → statements carried (on a migrated database) and those only reported. */
export function classifyGrants(shown: readonly string[], a: { user: string; host: string }, databases: readonly string[]): Pick<SourceAccount, 'grants' | 'notCarried'> {
  const grants: string[] = [];
  const notCarried: Array<{ grant: string; why: string }> = [];
  for (const raw of shown) {
    const g = withoutAuthentication(raw).trim();
    const m = GRANT.exec(g);
    if (!m) {
      notCarried.push({ grant: g, why: /^GRANT PROXY/i.test(g) ? 'a proxy grant' : /^GRANT [^ ]/i.test(g) && !/ ON /i.test(g) ? 'a role' : 'not understood' });
      continue;
    }
    const [, privs, kind, dbPart, objPart, option] = m;
    if (dbPart === '*') {
      if (privs!.trim().toUpperCase() !== 'USAGE') notCarried.push({ grant: g, why: 'a global privilege (never copied implicitly)' });
      continue;
    }
    const database = unBacktick(dbPart!).replace(/\\([_%\\])/g, '$1');
    if (!databases.includes(database)) { notCarried.push({ grant: g, why: `on ${database}, which is not migrated` }); continue; }
    grants.push(`GRANT ${privs!.trim()} ON ${kind ? `${kind.toUpperCase()} ` : ''}${dbPart}.${objPart} TO ${accountSql(a)}${option ? ' WITH GRANT OPTION' : ''}`);
  }
  return { grants, notCarried };
}

/** Write what `readAccounts`/`readObjectSecurity` found beside the export (mode 0600: it holds credentials). */
export async function writeAccounts(dir: string, x: Omit<AccountsExport, 'format'>): Promise<void> {
  await writeFileAtomic(join(dir, ACCOUNTS_FILE), JSON.stringify({ format: ACCOUNTS_FORMAT, ...x }, null, 1) + '\n', 0o600);
}

/** The accounts of an export; an export made before accounts were carried has none. */
export async function readAccountsExport(dir: string): Promise<AccountsExport> {
  const text = await readFile(join(dir, ACCOUNTS_FILE), 'utf8').catch(() => undefined);
  if (!text) return { format: ACCOUNTS_FORMAT, databases: [], accounts: [], objects: [] };
  return JSON.parse(text) as AccountsExport;
}

/** Export step: read and write the accounts for `databases`. */
export async function exportAccounts(db: Db, dir: string, databases: readonly string[], policy: DefinerPolicy, app: readonly AppAccount[]): Promise<AccountsExport> {
  const objects = await readObjectSecurity(db, databases, policy);
  const accounts = await readAccounts(db, databases, objects, app);
  const x = { databases, accounts, objects };
  await writeAccounts(dir, x);
  return { format: ACCOUNTS_FORMAT, ...x };
}
