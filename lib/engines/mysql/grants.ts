/**
 * What the export account may read, from its grants (preflight). An account with NO privilege at all on a
 * table does not see it: information_schema hides it, so an export would leave the table out and a verify
 * against that export would pass. Only a database-level (`db`.*) or global (`*.*`) SELECT makes every table
 * of a database visible, so preflight requires one for each migrated database.
 *
 * Roles: MySQL 8 prints a role's privileges only with `SHOW GRANTS FOR CURRENT_USER() USING <roles>`
 * (the session's roles: CURRENT_ROLE(), 'NONE' when none); MariaDB has one current role at a time
 * (CURRENT_ROLE(), NULL when none), shown by `SHOW GRANTS FOR <role>`, which may itself hold roles.
 * Database names in grants are LIKE patterns (`app\_db`, `app%`), except on MySQL 8 with partial_revokes ON,
 * where they are literal; REVOKE lines (MySQL 8 partial revokes) take a database's privilege away again.
 */
import type { Pool } from 'mysql2/promise';

export interface ParsedGrant {
  readonly revoke: boolean;
  readonly privileges: readonly string[];
  /** 'global' (`*.*`), 'database' (`db`.*) or 'object' (a table, column list or routine). */
  readonly scope: 'global' | 'database' | 'object';
  /** The database (pattern) for 'database' and 'object' scopes. */
  readonly db: string | null;
  /** The table or routine for the 'object' scope. */
  readonly object?: string;
}

const NAME = String.raw`(?:\`(?:[^\`]|\`\`)*\`|[^\s.\`]+)`;
const GRANT_LINE = new RegExp(String.raw`^(GRANT|REVOKE) ([\s\S]+?) ON (?:(?:TABLE|FUNCTION|PROCEDURE|PACKAGE BODY|PACKAGE) )?(\*|${NAME})(?:\.(\*|${NAME}))? (?:TO|FROM) `, 'i');
const unquote = (n: string) => (n.startsWith('`') ? n.slice(1, -1).replace(/``/g, '`') : n);

/** One `SHOW GRANTS` line, or null (a role grant `GRANT r TO u`, `GRANT PROXY …`). */
export function parseGrant(line: string): ParsedGrant | null {
  const m = GRANT_LINE.exec(line.trim());
  if (!m) return null;
  const [, verb, privs, first, second] = m;
  if (/^PROXY$/i.test(privs!.trim())) return null;
  const scope = first === '*' && (second === undefined || second === '*') ? 'global' : second === '*' ? 'database' : 'object';
  // Column privileges `SELECT (a, b)` hold commas: split outside parentheses.
  const privileges = privs!.replace(/\([^)]*\)/g, '').split(',').map((p) => p.trim().toUpperCase()).filter(Boolean)
    .map((p) => (p === 'ALL' ? 'ALL PRIVILEGES' : p));
  return { revoke: verb!.toUpperCase() === 'REVOKE', privileges, scope, db: scope === 'global' ? null : unquote(first!), ...(scope === 'object' && second ? { object: unquote(second) } : {}) };
}

/** True when `db` matches a grant's database pattern (`%`, `_`, `\` escapes). */
export function matchesDbPattern(pattern: string, db: string, literal = false): boolean {
  if (literal) return pattern.replace(/\\(.)/g, '$1') === db;
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '\\' && i + 1 < pattern.length) { re += pattern[++i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); continue; }
    re += ch === '%' ? '[\\s\\S]*' : ch === '_' ? '[\\s\\S]' : ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`).test(db);
}

/** Privileges the grants give on every table of `db`: global ones plus the database's, less partial revokes. */
export function databasePrivileges(grants: readonly string[], db: string, literalPatterns = false): Set<string> {
  const out = new Set<string>();
  const parsed = grants.map(parseGrant).filter((g): g is ParsedGrant => g !== null);
  for (const g of parsed) {
    if (g.revoke) continue;
    if (g.scope === 'global' || (g.scope === 'database' && matchesDbPattern(g.db!, db, literalPatterns))) g.privileges.forEach((p) => out.add(p));
  }
  for (const g of parsed) {
    if (g.revoke && g.scope === 'database' && matchesDbPattern(g.db!, db, true)) g.privileges.forEach((p) => out.delete(p));
  }
  return out;
}

/** How many grants reach only some objects of `db` (table-, column- or routine-level). */
export function objectLevelOnly(grants: readonly string[], db: string): number {
  return grants.map(parseGrant).filter((g) => g && !g.revoke && g.scope === 'object' && g.db === db).length;
}

/**
 * Whether the account sees every stored procedure and function with its body. information_schema.ROUTINES
 * and SHOW CREATE hide a routine the account did not define (MariaDB lists it only with EXECUTE or ALTER
 * ROUTINE on it, and then without its body), so without this the export would leave routines out.
 * MySQL 8: SHOW_ROUTINE (8.0.20+) or a global SELECT. MariaDB: SELECT on mysql.proc (or on mysql.*, or
 * global); 11.3+ also has SHOW CREATE ROUTINE.
 */
export function seesRoutines(grants: readonly string[], flavor: 'mysql' | 'mariadb', literalDbPatterns = false): boolean {
  const global = databasePrivileges(grants.filter((g) => parseGrant(g)?.scope === 'global'), '\0');
  if (global.has('ALL PRIVILEGES') || global.has('SELECT')) return true;
  if (flavor === 'mysql') return global.has('SHOW_ROUTINE');
  if (global.has('SHOW CREATE ROUTINE')) return true;
  const mysqlDb = databasePrivileges(grants, 'mysql', literalDbPatterns);
  if (mysqlDb.has('SELECT') || mysqlDb.has('ALL PRIVILEGES')) return true;
  return grants.map(parseGrant).some((g) => g && !g.revoke && g.scope === 'object' && g.db === 'mysql' && g.object === 'proc'
    && (g.privileges.includes('SELECT') || g.privileges.includes('ALL PRIVILEGES')));
}

type Row = Record<string, unknown>;

/**
 * The session's grants, its roles' included, and the account as `'user'@'host'` (CURRENT_USER()).
 * Role lookups that fail (MySQL 5.7 has no CURRENT_ROLE()) leave the account's own grants.
 */
export async function readSessionGrants(pool: Pool, flavor: 'mysql' | 'mariadb'): Promise<{ account: string; grants: string[]; literalDbPatterns: boolean }> {
  const q = async (sql: string): Promise<Row[]> => (await pool.query(sql))[0] as Row[];
  const lines = (rows: Row[]) => rows.map((r) => String(Object.values(r)[0]));
  const [cu] = await q('SELECT CURRENT_USER() AS u');
  const who = String(cu?.u ?? '');
  const at = who.lastIndexOf('@');
  const account = at < 0 ? `'${who}'` : `'${who.slice(0, at)}'@'${who.slice(at + 1)}'`;
  const grants = lines(await q('SHOW GRANTS'));
  // MySQL 8.0.16+ with partial_revokes ON reads database names in grants literally (MariaDB has no such variable).
  const [pr] = await q('SELECT @@GLOBAL.partial_revokes AS p').catch(() => [] as Row[]);
  const literalDbPatterns = Number(pr?.p ?? 0) === 1;
  const [cr] = await q('SELECT CURRENT_ROLE() AS r').catch(() => [] as Row[]);
  const role = cr?.r == null ? '' : String(cr.r);
  if (!role || role === 'NONE') return { account, grants, literalDbPatterns };
  if (flavor === 'mysql') {
    // MySQL 8: CURRENT_ROLE() is a list of `r`@`h`, ready for USING.
    grants.push(...lines(await q(`SHOW GRANTS FOR CURRENT_USER() USING ${role}`).catch(() => [] as Row[])));
    return { account, grants, literalDbPatterns };
  }
  // MariaDB: the current role, then the roles it holds (bounded: roles form a DAG, each read once).
  const seen = new Set<string>();
  const todo = [role];
  while (todo.length && seen.size < 50) {
    const r = todo.shift()!;
    if (seen.has(r)) continue;
    seen.add(r);
    const own = lines(await q(`SHOW GRANTS FOR ${pool.escapeId(r)}`).catch(() => [] as Row[]));
    grants.push(...own);
    for (const l of own) {
      const m = /^GRANT (`(?:[^`]|``)*`|\S+) TO /i.exec(l);
      if (m && !/ ON /i.test(l)) todo.push(unquote(m[1]!));
    }
  }
  return { account, grants, literalDbPatterns };
}
