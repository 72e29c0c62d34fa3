/**
 * What `SHOW CREATE USER` says of an account beyond its authentication: REQUIRE (SSL, X509, ISSUER,
 * SUBJECT, CIPHER), resource limits, password expiry, account lock, and MySQL 8's password history,
 * reuse interval, current-password requirement, failed-login tracking and ATTRIBUTE/COMMENT. Parsed into
 * clauses (defaults dropped) so an account created on the target keeps them, and verify compares them.
 *
 * MySQL 8 and MariaDB differ: MariaDB (10.11) has REQUIRE, the four MAX_* limits plus MAX_STATEMENT_TIME,
 * PASSWORD EXPIRE and ACCOUNT LOCK, and none of PASSWORD HISTORY / REUSE INTERVAL / REQUIRE CURRENT,
 * FAILED_LOGIN_ATTEMPTS, PASSWORD_LOCK_TIME or ATTRIBUTE/COMMENT; MySQL 8 has all of those but not
 * MAX_STATEMENT_TIME. A clause the target lacks is not carried and is listed as such.
 *
 * The statement holds the account's hash: it is tokenized here and never logged; clauses carry no credential.
 */

export type ClauseKind = 'require' | 'limit' | 'expire' | 'lock' | 'history' | 'reuse' | 'current' | 'failed-login' | 'lock-time' | 'attribute';

/** One clause as it goes into a CREATE USER (`REQUIRE SSL`, `MAX_QUERIES_PER_HOUR 10`, `ACCOUNT LOCK` …). */
export interface AccountClause {
  readonly kind: ClauseKind;
  readonly sql: string;
}

/** The clause kinds each server flavor accepts (and prints). */
const SUPPORTED: Record<'mysql' | 'mariadb', ReadonlySet<ClauseKind>> = {
  mariadb: new Set<ClauseKind>(['require', 'limit', 'expire', 'lock']),
  mysql: new Set<ClauseKind>(['require', 'limit', 'expire', 'lock', 'history', 'reuse', 'current', 'failed-login', 'lock-time', 'attribute']),
};

/** Whether a target of `flavor` can hold `c` (MAX_STATEMENT_TIME is MariaDB's own). */
export function clauseSupported(c: AccountClause, flavor: 'mysql' | 'mariadb'): boolean {
  if (c.kind === 'limit' && /^MAX_STATEMENT_TIME /.test(c.sql)) return flavor === 'mariadb';
  return SUPPORTED[flavor].has(c.kind);
}

/** The clauses in CREATE USER order: REQUIRE, WITH limits, password and lock options, ATTRIBUTE last. */
export function clausesSql(clauses: readonly AccountClause[]): string {
  const req = clauses.filter((c) => c.kind === 'require').map((c) => c.sql);
  const limits = clauses.filter((c) => c.kind === 'limit').map((c) => c.sql);
  const rest = clauses.filter((c) => c.kind !== 'require' && c.kind !== 'limit' && c.kind !== 'attribute').map((c) => c.sql);
  const attr = clauses.filter((c) => c.kind === 'attribute').map((c) => c.sql);
  return [...req, ...(limits.length ? [`WITH ${limits.join(' ')}`] : []), ...rest, ...attr].map((s) => ` ${s}`).join('');
}

/** Tokens of a statement: quoted strings and identifiers whole, words and numbers, single symbols. */
export function tokenize(sql: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i]!;
    if (/\s/.test(ch)) { i++; continue; }
    if (ch === "'" || ch === '"' || ch === '`') {
      let j = i + 1;
      for (; j < sql.length; j++) {
        if (sql[j] === '\\' && ch !== '`') { j++; continue; }
        if (sql[j] === ch) { if (sql[j + 1] === ch) { j++; continue; } break; }
      }
      out.push(sql.slice(i, j + 1));
      i = j + 1;
      continue;
    }
    const m = /^[A-Za-z0-9_$.+-]+/.exec(sql.slice(i));
    if (m) { out.push(m[0]); i += m[0].length; continue; }
    out.push(ch);
    i++;
  }
  return out;
}

const isString = (t: string | undefined) => t !== undefined && /^['"]/.test(t);
const up = (t: string | undefined) => (t ?? '').toUpperCase();
const isZero = (t: string | undefined) => t !== undefined && /^[0-9.]+$/.test(t) && Number(t) === 0;

/** Where the clauses after the authentication begin (a keyword outside any string). */
function clausesStart(tokens: readonly string[]): number {
  for (let i = 0; i < tokens.length; i++) {
    const t = up(tokens[i]);
    const next = up(tokens[i + 1]);
    if (t === 'REQUIRE' || t === 'ACCOUNT' || t === 'FAILED_LOGIN_ATTEMPTS' || t === 'PASSWORD_LOCK_TIME' || t === 'ATTRIBUTE' || t === 'COMMENT') return i;
    if (t === 'WITH' && next.startsWith('MAX_')) return i;
    if (t === 'DEFAULT' && next === 'ROLE') return i;
    if (t === 'PASSWORD' && ['EXPIRE', 'HISTORY', 'REUSE', 'REQUIRE'].includes(next)) return i;
  }
  return tokens.length;
}

/**
 * The clauses of a `SHOW CREATE USER` statement that differ from the defaults; `unknown` holds what was
 * not understood (reported, never carried). DEFAULT ROLE is skipped: roles are never carried.
 */
export function parseAccountClauses(showCreateUser: string): { clauses: AccountClause[]; unknown: string[] } {
  const t = tokenize(showCreateUser);
  const clauses: AccountClause[] = [];
  const unknown: string[] = [];
  const add = (kind: ClauseKind, sql: string) => clauses.push({ kind, sql });
  let i = clausesStart(t);
  while (i < t.length) {
    const w = up(t[i]);
    const n = up(t[i + 1]);
    if (w === 'REQUIRE') {
      i++;
      if (up(t[i]) === 'NONE') { i++; continue; }
      if (up(t[i]) === 'SSL' || up(t[i]) === 'X509') { add('require', `REQUIRE ${up(t[i])}`); i++; continue; }
      const parts: string[] = [];
      while (['ISSUER', 'SUBJECT', 'CIPHER', 'AND'].includes(up(t[i]))) {
        if (up(t[i]) !== 'AND' && isString(t[i + 1])) { parts.push(`${up(t[i])} ${t[i + 1]}`); i += 2; } else i++;
      }
      if (parts.length) add('require', `REQUIRE ${parts.join(' AND ')}`);
      continue;
    }
    if (w === 'WITH') {
      i++;
      while (up(t[i]).startsWith('MAX_') && t[i + 1] !== undefined) {
        if (!isZero(t[i + 1])) add('limit', `${up(t[i])} ${t[i + 1]}`);
        i += 2;
      }
      continue;
    }
    if (w === 'ACCOUNT' && (n === 'LOCK' || n === 'UNLOCK')) { if (n === 'LOCK') add('lock', 'ACCOUNT LOCK'); i += 2; continue; }
    if (w === 'PASSWORD' && n === 'EXPIRE') {
      const a = up(t[i + 2]);
      if (a === 'DEFAULT') { i += 3; continue; }
      if (a === 'NEVER') { add('expire', 'PASSWORD EXPIRE NEVER'); i += 3; continue; }
      if (a === 'INTERVAL') { add('expire', `PASSWORD EXPIRE INTERVAL ${t[i + 3]} DAY`); i += 5; continue; }
      add('expire', 'PASSWORD EXPIRE'); i += 2; continue;
    }
    if (w === 'PASSWORD' && n === 'HISTORY') { if (up(t[i + 2]) !== 'DEFAULT') add('history', `PASSWORD HISTORY ${t[i + 2]}`); i += 3; continue; }
    if (w === 'PASSWORD' && n === 'REUSE') {
      if (up(t[i + 3]) === 'DEFAULT') { i += 4; continue; }
      add('reuse', `PASSWORD REUSE INTERVAL ${t[i + 3]} DAY`); i += 5; continue;
    }
    if (w === 'PASSWORD' && n === 'REQUIRE') {
      const a = up(t[i + 3]);
      if (a === 'DEFAULT') { i += 4; continue; }
      if (a === 'OPTIONAL') { add('current', 'PASSWORD REQUIRE CURRENT OPTIONAL'); i += 4; continue; }
      add('current', 'PASSWORD REQUIRE CURRENT'); i += 3; continue;
    }
    if (w === 'FAILED_LOGIN_ATTEMPTS') { if (!isZero(t[i + 1])) add('failed-login', `FAILED_LOGIN_ATTEMPTS ${t[i + 1]}`); i += 2; continue; }
    if (w === 'PASSWORD_LOCK_TIME') { if (!isZero(t[i + 1])) add('lock-time', `PASSWORD_LOCK_TIME ${up(t[i + 1]) === 'UNBOUNDED' ? 'UNBOUNDED' : t[i + 1]}`); i += 2; continue; }
    if ((w === 'ATTRIBUTE' || w === 'COMMENT') && isString(t[i + 1])) { add('attribute', `${w} ${t[i + 1]}`); i += 2; continue; }
    if (w === 'DEFAULT' && n === 'ROLE') {
      i += 2;
      while (i < t.length && !(clausesStart(t.slice(i)) === 0)) i++;
      continue;
    }
    unknown.push(t.slice(i).filter((x) => !isString(x)).join(' '));
    break;
  }
  return { clauses, unknown };
}
