/**
 * The replication account ferry creates on the source: REPLICATION SLAVE only, a generated password kept
 * in a 0600 file in the store's state dir (never argv, logs or the journal), and its statements kept
 * out of the source's binary log where the account may (`sql_log_bin = 0`), so they never replicate.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pool, PoolConnection } from 'mysql2/promise';
import type { SecretSink } from '../../core/engine.ts';
import { FerryError } from '../../core/errors.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { isPrivilegeError, oneLine, privilegeError, withConnection, type MysqlTarget } from './connect.ts';
import { createAccountStatements, dropAccountStatement } from './replication-sql.ts';

export interface ReplicationAccount {
  readonly user: string;
  /** The account's host part (`%`: the stack connects through Docker's gateway, whose address varies). */
  readonly host: string;
}

export const SECRET_FILE = 'replication.secret';

/** `ferry_repl_<8 hex of the store id>`: stable across re-runs, within MySQL's 32 characters. */
export function accountFor(storeId: string): ReplicationAccount {
  return { user: `ferry_repl_${createHash('sha256').update(storeId).digest('hex').slice(0, 8)}`, host: '%' };
}

/** 32 random characters plus one of each class, so a validate_password MEDIUM policy accepts it. */
export function generatePassword(): string {
  return `${randomBytes(24).toString('base64url')}.Aa1`;
}

/** The password on file, or a new one written (0600, atomically) before any account uses it. */
export async function replicationPassword(stateDir: string, redactor?: SecretSink): Promise<string> {
  const file = join(stateDir, SECRET_FILE);
  let pw = await readFile(file, 'utf8').then((s) => s.trim(), () => '');
  if (!/^[A-Za-z0-9_.+-]{16,}$/.test(pw)) {
    pw = generatePassword();
    await writeFileAtomic(file, pw + '\n', 0o600);
  }
  redactor?.add(pw);
  return pw;
}

export async function forgetPassword(stateDir: string): Promise<void> {
  await rm(join(stateDir, SECRET_FILE), { force: true });
}

/** Keep this session's account statements out of the binlog when the account may; harmless when not. */
async function quietly(c: PoolConnection): Promise<void> {
  await c.query('SET SESSION sql_log_bin = 0').catch(() => undefined);
}

/** Create (or re-password) the account; a missing privilege is an error carrying the GRANT to run. */
export async function createReplicationAccount(source: Pool, ep: MysqlTarget, a: ReplicationAccount, password: string): Promise<void> {
  await withConnection(source, async (c) => {
    await quietly(c);
    try {
      for (const sql of createAccountStatements(a.user, a.host, password)) await c.query(sql);
    } catch (e) {
      if (isPrivilegeError(e)) throw privilegeError(e, ep, `creating the replication account ${a.user}`, 'GRANT CREATE USER, REPLICATION SLAVE ON *.* TO {user} WITH GRANT OPTION');
      throw e;
    }
  });
}

/**
 * Drop the account (also when the source is already frozen: under MySQL's super_read_only only that flag
 * is lifted around the DROP, read_only stays on, so the app's accounts never can write).
 */
export async function dropReplicationAccount(db: Pool, ep: MysqlTarget, a: ReplicationAccount): Promise<void> {
  await withConnection(db, async (c) => {
    await quietly(c);
    const sql = dropAccountStatement(a.user, a.host);
    try {
      await c.query(sql);
    } catch (e) {
      if ((e as { errno?: number }).errno !== 1290) throw e;
      const [rows] = await c.query('SELECT @@GLOBAL.super_read_only AS s').catch(() => [[{ s: null }]] as const);
      if (Number((rows as Array<{ s: unknown }>)[0]?.s) !== 1) {
        throw new FerryError('E_MYSQL_FOLLOW_ACCOUNT', `cannot drop the replication account ${a.user} on ${ep.host}:${ep.port} while it is read-only: ${oneLine(e)}`, {
          hint: `after the source is thawed (or as an account with READ_ONLY ADMIN) run: ${sql}`, cause: e,
        });
      }
      await c.query('SET GLOBAL super_read_only = OFF');
      try { await c.query(sql); } finally { await c.query('SET GLOBAL super_read_only = ON'); }
    }
  });
}
