/**
 * Judging the source MySQL against the target (pure: facts in, findings out). The target is a fresh
 * Linux server: lower_case_table_names 0, accounts `root` and the app's user only.
 */
import type { EngineFinding } from '../../core/engine.ts';
import { mysqlFlavorOf, type MysqlFacts } from './facts.ts';
import { databasePrivileges, objectLevelOnly, seesRoutines } from './grants.ts';
import { accountFindings, defaultPlugins, planAccount } from './accounts-plan.ts';

type Finding = EngineFinding;
const finding = (severity: Finding['severity'], check: string, subject: string, message: string, hint: string): Finding =>
  Object.freeze({ severity, check, subject, message, hint });

export interface MysqlTargetFacts {
  readonly version: string;
  readonly lowerCaseTableNames: number;
  /** Accounts that exist on the target as `user@host` (unquoted). */
  readonly accounts: readonly string[];
  /** Active authentication plugins (read from a running target; else the version's defaults). */
  readonly plugins?: readonly string[];
}

export interface MysqlAssessOptions {
  readonly definer: 'keep' | 'rewrite' | 'strip';
  /** The account DEFINERs are rewritten to (`rewrite` only). */
  readonly definerAccount?: string | undefined;
  /** Whether a secret file holds `user`'s password (for an account whose plugin the target lacks). */
  readonly passwordKnown?: (user: string) => boolean;
}

/** The fresh target a compose mysql:8 service starts as. */
export const DEFAULT_MYSQL_TARGET: MysqlTargetFacts = { version: '8.0', lowerCaseTableNames: 0, accounts: ['root@%', 'root@localhost'] };

const NEEDED = ['SELECT', 'SHOW VIEW', 'TRIGGER', 'EVENT', 'LOCK TABLES'];

/** Privileges granted globally (`ON *.*`) or on every database in `dbs`. */
export function grantedPrivileges(grants: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const g of grants) {
    const m = /^GRANT (.+?) ON (\S+) TO/i.exec(g);
    if (!m) continue;
    for (const p of m[1]!.split(',').map((s) => s.trim().toUpperCase())) out.add(p === 'ALL' ? 'ALL PRIVILEGES' : p);
  }
  return out;
}

const unquote = (account: string) => account.replace(/[`'"]/g, '');

export function assessMysql(f: MysqlFacts, target: MysqlTargetFacts, opts: MysqlAssessOptions): Finding[] {
  const out: Finding[] = [];
  const src = `mysql ${f.endpoint}`;
  out.push(finding('info', 'mysql-version', src, `source ${f.version} (${mysqlFlavorOf(f.version)}) → target ${target.version}`, 'nothing to do'));
  for (const db of f.missingDatabases) {
    // A database the account holds no privilege on is absent from information_schema.SCHEMATA for it too.
    const has = databasePrivileges(f.grants, db, f.literalDbPatterns ?? false);
    const blind = !has.has('SELECT') && !has.has('ALL PRIVILEGES') && f.account !== undefined;
    out.push(finding('blocker', 'mysql-database-missing', `database ${db}`,
      blind ? `listed in the config but not visible to ${f.account}: absent on the source, or hidden because the account has no privilege on it` : 'listed in the config but absent on the source',
      blind ? `if it exists, as an administrator run: GRANT ${NEEDED.join(', ')} ON \`${db.replace(/`/g, '``')}\`.* TO ${f.account}; else fix the store's databases option (source.mysql.databases in the preset) or the URL's database`
        : 'fix the store\'s databases option (source.mysql.databases in the preset) or the URL\'s database'));
  }
  const priv = grantedPrivileges(f.grants);
  const account = f.account ?? 'the source account';
  // Per database: only a database-level or global SELECT shows the export every table (grants.ts). A table
  // the account has no privilege on is hidden by information_schema and would be silently left out.
  for (const db of f.databases.map((d) => d.name)) {
    const has = databasePrivileges(f.grants, db, f.literalDbPatterns ?? false);
    if (has.has('ALL PRIVILEGES')) continue;
    const missing = NEEDED.filter((p) => !has.has(p));
    if (!missing.length) continue;
    const partial = objectLevelOnly(f.grants, db);
    const why = !has.has('SELECT')
      ? partial ? `: it holds ${partial} table- or column-level grant(s) there, so the tables it has no privilege on are invisible to it and would be left out of the export` : ': it cannot read the database\'s tables'
      : '';
    out.push(finding('blocker', 'mysql-privileges', `${src} database ${db}`, `${account} lacks ${missing.join(', ')} on database ${db}${why}`,
      `as an administrator run: GRANT ${missing.join(', ')} ON \`${db.replace(/`/g, '``')}\`.* TO ${account}`));
  }
  if (f.databases.length && !seesRoutines(f.grants, mysqlFlavorOf(f.version), f.literalDbPatterns ?? false)) {
    const maria = mysqlFlavorOf(f.version) === 'mariadb';
    out.push(finding('blocker', 'mysql-privileges', src,
      `${account} cannot see the stored procedures and functions it did not define in ${f.databases.map((d) => d.name).join(', ')}: information_schema.ROUTINES hides them, so the export would leave them out`,
      maria ? `as an administrator run: GRANT SELECT ON mysql.proc TO ${account}` : `as an administrator run: GRANT SHOW_ROUTINE ON *.* TO ${account} (MySQL 8.0.20+; older: GRANT SELECT ON *.* TO ${account})`));
  }
  if (!priv.has('ALL PRIVILEGES')) {
    if (!['SUPER', 'SYSTEM_VARIABLES_ADMIN', 'READ_ONLY ADMIN'].some((p) => priv.has(p))) {
      out.push(finding('blocker', 'mysql-privileges', src, 'the source account cannot set read_only for the write freeze', 'GRANT SYSTEM_VARIABLES_ADMIN (MySQL 8) or READ_ONLY ADMIN (MariaDB) ON *.* to it'));
    }
  }
  if (f.lowerCaseTableNames !== target.lowerCaseTableNames) {
    const mixed = f.tables.filter((t) => t.name !== t.name.toLowerCase()).map((t) => `${t.db}.${t.name}`);
    out.push(finding(mixed.length ? 'warning' : 'info', 'mysql-lower-case-table-names', src,
      `lower_case_table_names ${f.lowerCaseTableNames} on the source, ${target.lowerCaseTableNames} on the target` +
      (mixed.length ? `; names become case-sensitive: ${mixed.slice(0, 10).join(', ')}${mixed.length > 10 ? ` and ${mixed.length - 10} more` : ''}` : '; every table name is lowercase'),
      mixed.length ? 'make the app use each table name with its exact case, or rename the tables to lowercase before migrating' : 'nothing to do'));
  }
  const modes = f.sqlMode.split(',').filter(Boolean);
  if (!modes.includes('NO_ZERO_DATE') || !modes.includes('STRICT_TRANS_TABLES')) {
    out.push(finding('rewrite', 'mysql-sql-mode', src, `source sql_mode is '${f.sqlMode}': zero dates and lax values may exist`,
      'the import runs with the source sql_mode per session so such rows load as they are; set the same sql_mode in compose if the app relies on it'));
  }
  for (const d of f.databases) {
    if (!d.charset.startsWith('utf8mb4')) out.push(finding('warning', 'mysql-charset', `database ${d.name}`, `default charset ${d.charset}, not utf8mb4`, 'kept as is; convert after the migration if the app needs emoji'));
  }
  const targetMaria = mysqlFlavorOf(target.version) === 'mariadb';
  const coll0900 = new Set([f.collationServer, ...f.databases.map((d) => d.collation), ...f.tables.map((t) => t.collation ?? '')].filter((c) => /_0900_/.test(c)));
  if (coll0900.size && targetMaria) {
    out.push(finding('rewrite', 'mysql-collation', src, `collations ${[...coll0900].join(', ')} do not exist on MariaDB`, 'rewritten to utf8mb4_unicode_ci on import; use a MySQL 8 target to keep them'));
  }
  const nonInnodb = f.tables.filter((t) => t.engine && t.engine.toUpperCase() !== 'INNODB');
  if (nonInnodb.length) out.push(finding('warning', 'mysql-engine', src, `${nonInnodb.length} table(s) not InnoDB: ${nonInnodb.slice(0, 5).map((t) => `${t.db}.${t.name} (${t.engine})`).join(', ')}`, 'they are copied as they are, without a consistent snapshot: keep the write freeze on'));
  const noPk = f.tables.filter((t) => !t.hasPrimaryKey);
  if (noPk.length) out.push(finding('info', 'mysql-no-primary-key', src, `${noPk.length} table(s) without a primary key: ${noPk.slice(0, 5).map((t) => `${t.db}.${t.name}`).join(', ')}`, 'verified by whole-row checksums (slower); nothing to do'));
  const accounts = new Set(target.accounts.map(unquote));
  const missing = new Map<string, string[]>();
  for (const d of f.definers) {
    const acc = unquote(d.definer);
    if (accounts.has(acc)) continue;
    missing.set(acc, [...(missing.get(acc) ?? []), `${d.kind.toLowerCase()} ${d.db}.${d.name}`]);
  }
  // definer 'keep': the accounts are carried and listed below (mysql-account), never replaced by root.
  for (const [acc, objects] of opts.definer === 'keep' ? [] : missing) {
    out.push(opts.definer === 'rewrite'
      ? finding('rewrite', 'mysql-definer', `DEFINER ${acc}`, `used by ${objects.join(', ')}`, `rewritten to ${opts.definerAccount ?? '(no account named)'} as configured; they then run with that account's privileges`)
      : finding('rewrite', 'mysql-definer', `DEFINER ${acc}`, `used by ${objects.join(', ')}`, 'DEFINER clauses stripped: the importing account becomes the definer and views and routines run with SQL SECURITY INVOKER'));
  }
  if (f.accounts) {
    const flavor = mysqlFlavorOf(target.version);
    const t = { flavor, plugins: target.plugins ?? defaultPlugins(flavor, target.version), accounts: target.accounts.map(unquote) };
    out.push(...accountFindings(f.accounts.map((a) => planAccount(a, t, opts.passwordKnown?.(a.user) ?? false))));
  }
  if (f.accountsError) out.push(finding('warning', 'mysql-account', src, `the accounts to carry cannot be read: ${f.accountsError}`, 'GRANT SELECT ON mysql.* TO the account in the source URL, so ferry can carry the DEFINER and app accounts'));
  if (f.definers.some((d) => d.kind === 'EVENT')) out.push(finding('info', 'mysql-events', src, 'events exist', 'they are imported disabled-safe: event_scheduler on the target decides whether they run'));
  if (f.generatedColumns) out.push(finding('info', 'mysql-generated-columns', src, `${f.generatedColumns} generated column(s)`, 'exported without their values and recomputed by the target; nothing to do'));
  if (hasCycle(f.foreignKeys)) out.push(finding('info', 'mysql-foreign-key-cycle', src, 'foreign keys form a cycle', 'imported with foreign_key_checks=0 and checked by verify; nothing to do'));
  if (!f.localInfile) out.push(finding('info', 'mysql-local-infile', src, 'local_infile is OFF on the source', 'nothing to do: ferry streams rows with INSERTs and never needs LOAD DATA LOCAL on the source'));
  if (f.largestLobColumn > f.maxAllowedPacket) {
    out.push(finding('info', 'mysql-max-allowed-packet', src, `max_allowed_packet is ${f.maxAllowedPacket} bytes; BLOB/TEXT columns may hold more`, 'the target is started with max_allowed_packet=256M; raise it in compose if a single value is larger'));
  }
  return out;
}

/** True when the directed graph has a cycle (self-references count). */
export function hasCycle(edges: readonly { from: string; to: string }[]): boolean {
  const next = new Map<string, string[]>();
  for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const state = new Map<string, 1 | 2>();
  const visit = (n: string): boolean => {
    if (state.get(n) === 1) return true;
    if (state.get(n) === 2) return false;
    state.set(n, 1);
    for (const m of next.get(n) ?? []) if (visit(m)) return true;
    state.set(n, 2);
    return false;
  };
  return [...next.keys()].some(visit);
}
