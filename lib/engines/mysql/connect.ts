/**
 * Endpoint → mysql2 pool, with failures that name host:port and user (never the password) and a hint.
 * Every session ferry opens reads and writes raw bytes (`character_set_results = binary`), in UTC,
 * so values travel byte-exact whatever the column's character set or the server's time zone.
 */
import { createPool, type Pool, type PoolConnection, type PoolOptions } from 'mysql2/promise';
import { FerryError } from '../../core/errors.ts';

/** Where a MySQL server is and who ferry is there; `password` never leaves this module except to mysql2. */
export interface MysqlTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
}

export interface ConnectOptions {
  /** Connections kept open (one per worker plus one for control). Default 4. */
  readonly connections?: number;
  /** Session statements run on every new connection. */
  readonly session?: readonly string[];
}

/** Open a pool and prove it works with one round trip; errors are FerryErrors with hints. */
export async function connectMysql(target: MysqlTarget, opts: ConnectOptions = {}): Promise<Pool> {
  const options: PoolOptions = {
    host: target.host, port: target.port, user: target.user, password: target.password,
    connectionLimit: opts.connections ?? 4, multipleStatements: false, charset: 'utf8mb4_general_ci',
    supportBigNumbers: true, bigNumberStrings: true, dateStrings: true, decimalNumbers: false,
    connectTimeout: 15_000, flags: ['+LOCAL_FILES'],
  };
  const pool = createPool(options);
  const session = ["SET SESSION time_zone = '+00:00'", ...(opts.session ?? [])];
  pool.on('connection', (c) => { for (const s of session) c.query(s); });
  try {
    const conn = await pool.getConnection();
    conn.release();
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw describeConnectError(e, target);
  }
  return pool;
}

/** Run `fn` with one dedicated connection, released afterwards. */
export async function withConnection<T>(pool: Pool, fn: (c: PoolConnection) => Promise<T>): Promise<T> {
  const c = await pool.getConnection();
  try { return await fn(c); } finally { c.release(); }
}

/** One short-lived connection to `target` (a pool of one, ended afterwards): for facts, freeze and settings reads. */
export async function withMysql<T>(target: MysqlTarget, fn: (c: PoolConnection) => Promise<T>): Promise<T> {
  const pool = await connectMysql(target, { connections: 1 });
  try { return await withConnection(pool, fn); } finally { await pool.end().catch(() => undefined); }
}

const where = (t: MysqlTarget) => `${t.user}@${t.host}:${t.port}`;

/** A mysql2 connect error as a FerryError naming the server and account. */
export function describeConnectError(e: unknown, t: MysqlTarget): FerryError {
  const code = (e as { code?: string }).code ?? '';
  const msg = oneLine(e);
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT' || code === 'EHOSTUNREACH') {
    return new FerryError('E_MYSQL_UNREACHABLE', `MySQL at ${t.host}:${t.port} is unreachable (${code})`, {
      hint: `start the server (e.g. \`brew services start mysql\`) or fix host/port in the mysql URL; user was ${t.user}`, cause: e,
    });
  }
  if (code === 'ER_ACCESS_DENIED_ERROR' || code === 'ER_NOT_SUPPORTED_AUTH_MODE') {
    return new FerryError('E_MYSQL_AUTH', `MySQL at ${t.host}:${t.port} refused ${t.user}: ${msg}`, {
      hint: `check the password for ${t.user} (the URL's password or its \${ENV} reference) and that the account may connect from this host`, cause: e,
    });
  }
  return new FerryError('E_MYSQL_CONNECT', `Cannot connect to MySQL as ${where(t)}: ${msg}`, { hint: 'check the server log and the mysql URL', cause: e });
}

/** A privilege error on `what` as a FerryError carrying the exact GRANT to run. */
export function privilegeError(e: unknown, t: MysqlTarget, what: string, grant: string): FerryError {
  return new FerryError('E_MYSQL_PRIVILEGE', `${t.user} lacks a privilege on ${t.host}:${t.port} for ${what}: ${oneLine(e)}`, {
    hint: `as an administrator run: ${grant.replace(/\{user\}/g, `'${t.user}'@'%'`)}`, cause: e,
  });
}

/** True for mysql2 errors that mean "you may not". */
export function isPrivilegeError(e: unknown): boolean {
  const code = (e as { code?: string }).code ?? '';
  return /^ER_(SPECIFIC_ACCESS_DENIED_ERROR|TABLEACCESS_DENIED_ERROR|DBACCESS_DENIED_ERROR|ACCESS_DENIED_ERROR|PROCACCESS_DENIED_ERROR|COLUMNACCESS_DENIED_ERROR|KILL_DENIED_ERROR)$/.test(code)
    || /access denied|privilege/i.test(oneLine(e));
}

export function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
}

/** `name` as a backquoted identifier. */
export const q = (name: string): string => '`' + name.replace(/`/g, '``') + '`';
