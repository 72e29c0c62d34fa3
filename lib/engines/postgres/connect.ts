/**
 * Endpoint → `pg` client, with failures that name host:port, user and database (never the password) and
 * a hint. Every session ferry opens speaks one text form — UTC, ISO dates, shortest-exact floats, hex
 * bytea, UTF8 — so COPY text and row checksums are identical on both sides whatever the servers' settings.
 */
import pg from 'pg';
import { FerryError } from '../../core/errors.ts';

/** Where a PostgreSQL server is and who ferry is there; `password` never leaves this module except to pg. */
export interface PgTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

/** The session every ferry connection runs first (the text forms COPY and the checksums depend on). */
export const SESSION_SETTINGS = [
  "SET client_encoding = 'UTF8'", "SET TimeZone = 'UTC'", "SET DateStyle = 'ISO, YMD'", "SET IntervalStyle = 'postgres'",
  'SET extra_float_digits = 3', "SET bytea_output = 'hex'", 'SET standard_conforming_strings = on', 'SET statement_timeout = 0',
  'SET lock_timeout = 0', 'SET idle_in_transaction_session_timeout = 0',
  // ferry's own workers are the parallelism: a Gather per chunk query only adds processes on a small host.
  'SET max_parallel_workers_per_gather = 0',
].join('; ');

/** `postgres://user:pw@host:port/db` → target (password decoded); errors name the URL without its password. */
export function parsePgUrl(url: string, what = 'postgres URL'): PgTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new FerryError('E_PG_URL', `The ${what} is not a URL`, { hint: 'write it as postgres://user:password@host:5432/database' });
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new FerryError('E_PG_URL', `The ${what} has scheme ${u.protocol}, expected postgres:`, { hint: 'write it as postgres://user:password@host:5432/database' });
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!database) throw new FerryError('E_PG_URL', `The ${what} (${u.hostname}:${u.port || 5432}) names no database`, { hint: 'add the database: postgres://user@host:5432/<database>' });
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1', port: Number(u.port || 5432),
    user: decodeURIComponent(u.username || 'postgres'), password: decodeURIComponent(u.password), database,
  };
}

/** The same server, another database (the maintenance database `postgres` for CREATE/DROP DATABASE). */
export function withDatabase(t: PgTarget, database: string): PgTarget {
  return { ...t, database };
}

/** Open one client, run the session settings; connect errors are FerryErrors. */
/** Whether the server `c` is connected to holds the database `name`. */
export async function hasDatabase(c: pg.Client, name: string): Promise<boolean> {
  return (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
}

export async function connectPg(t: PgTarget, opts: { applicationName?: string } = {}): Promise<pg.Client> {
  const c = new pg.Client({
    host: t.host, port: t.port, user: t.user, password: t.password, database: t.database,
    connectionTimeoutMillis: 15_000, application_name: opts.applicationName ?? 'ferry',
  });
  // An idle client whose server goes away emits 'error'; the next query reports it.
  c.on('error', () => undefined);
  try {
    await c.connect();
    await c.query(SESSION_SETTINGS);
  } catch (e) {
    await c.end().catch(() => undefined);
    throw describeConnectError(e, t);
  }
  return c;
}

/** A connect error as a FerryError naming the server, account and database. */
export function describeConnectError(e: unknown, t: PgTarget): FerryError {
  const code = (e as { code?: string }).code ?? '';
  const msg = oneLine(e);
  const at = `${t.host}:${t.port}`;
  if (['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET'].includes(code) || /timeout expired|Connection terminated/i.test(msg)) {
    return new FerryError('E_PG_UNREACHABLE', `PostgreSQL at ${at} is unreachable (${code || msg})`, {
      hint: `start the server (e.g. \`brew services start postgresql@15\`) or fix host/port in the postgres URL; user was ${t.user}`, cause: e,
    });
  }
  if (code === '28P01' || code === '28000') {
    return new FerryError('E_PG_AUTH', `PostgreSQL at ${at} refused user ${t.user} (${code === '28P01' ? 'password authentication failed' : 'no pg_hba.conf entry'})`, {
      hint: `check the password for ${t.user} (the URL's password or its \${ENV} reference) and pg_hba.conf for connections from this host`, cause: e,
    });
  }
  if (code === '3D000') {
    return new FerryError('E_PG_NO_DATABASE', `PostgreSQL at ${at} has no database ${t.database}`, { hint: 'fix the database name in the postgres URL (`psql -l` lists them)', cause: e });
  }
  return new FerryError('E_PG_CONNECT', `Cannot connect to PostgreSQL as ${t.user}@${at}/${t.database}: ${msg}`, { hint: 'check the server log and the postgres URL', cause: e });
}

/** True for "permission denied" (42501) and friends. */
export function isPrivilegeError(e: unknown): boolean {
  return (e as { code?: string }).code === '42501';
}

/** A privilege error as a FerryError carrying the exact GRANT to run. */
export function privilegeError(e: unknown, t: PgTarget, what: string, grant: string): FerryError {
  return new FerryError('E_PG_PRIVILEGE', `${t.user} lacks a privilege on ${t.host}:${t.port}/${t.database} for ${what}: ${oneLine(e)}`, {
    hint: `as a superuser run: ${grant.replace(/\{user\}/g, qi(t.user)).replace(/\{db\}/g, qi(t.database))}`, cause: e,
  });
}

export function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
}

/** `name` as a double-quoted identifier. */
export const qi = (name: string): string => '"' + name.replace(/"/g, '""') + '"';
/** `value` as a string literal (standard_conforming_strings is on in every ferry session). */
export const ql = (value: string): string => "'" + value.replace(/'/g, "''") + "'";
/** `schema.name`, both quoted. */
export const qn = (schema: string, name: string): string => `${qi(schema)}.${qi(name)}`;
