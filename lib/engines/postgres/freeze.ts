/**
 * The write freeze of a PostgreSQL store: `ALTER DATABASE … SET default_transaction_read_only = on`, then
 * the app's sessions on that database are ended so they reconnect read-only. The setting found before is
 * recorded first (`<stateDir>/freeze.json`) and thaw puts exactly it back.
 *
 * Unlike MySQL's read_only (a server-wide gate even SUPER obeys under super_read_only), this is a per-
 * database default: a session can still `SET default_transaction_read_only = off` or `BEGIN READ WRITE`.
 * It stops an app that does not do that, which is what a cutover freeze needs; ferry's own sessions lift
 * it for themselves (promote drops the slot, publication and role on a frozen source).
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FreezeRecord } from '../../core/engine.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { connectPg, qi, type PgTarget } from './connect.ts';

export interface PgFreezeRecord extends FreezeRecord {
  readonly engine: 'postgres';
  readonly server: string;
  readonly database: string;
  /** The database's own default_transaction_read_only before the freeze (null: not set). */
  readonly before: string | null;
  readonly frozenAt: string;
}

const recordFile = (stateDir: string) => join(stateDir, 'freeze.json');

export async function readPgFreeze(stateDir: string): Promise<PgFreezeRecord | undefined> {
  return readFile(recordFile(stateDir), 'utf8').then((t) => JSON.parse(t) as PgFreezeRecord, () => undefined);
}

/** Record the setting as found (an earlier record is kept: a re-run must not take "frozen" for "before"), then freeze. */
export async function freezePostgres(s: PgTarget, stateDir: string): Promise<PgFreezeRecord & { ended: number }> {
  const c = await connectPg(s, { applicationName: 'ferry freeze' });
  try {
    await c.query('SET default_transaction_read_only = off');
    const found = await c.query<{ v: string | null }>(`
      SELECT (SELECT split_part(x, '=', 2) FROM unnest(r.setconfig) x WHERE x LIKE 'default_transaction_read_only=%') AS v
      FROM pg_database d LEFT JOIN pg_db_role_setting r ON r.setdatabase = d.oid AND r.setrole = 0 WHERE d.datname = current_database()`);
    const record = (await readPgFreeze(stateDir)) ?? {
      engine: 'postgres', server: `${s.host}:${s.port}`, database: s.database, before: found.rows[0]?.v ?? null, frozenAt: new Date().toISOString(),
    } satisfies PgFreezeRecord;
    await writeFileAtomic(recordFile(stateDir), JSON.stringify(record) + '\n');
    await c.query(`ALTER DATABASE ${qi(s.database)} SET default_transaction_read_only = on`);
    // Sessions opened before keep their read-write default: end them (not ferry's own, not WAL senders).
    const ended = await c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND application_name NOT LIKE 'ferry%'`);
    return { ...record, ended: ended.rowCount ?? 0 };
  } finally {
    await c.end();
  }
}

/** Put the database's default back as recorded; nothing recorded, nothing done. */
export async function thawPostgres(s: PgTarget, stateDir: string, given?: FreezeRecord): Promise<boolean> {
  const record = (given as PgFreezeRecord | undefined) ?? (await readPgFreeze(stateDir));
  if (!record) return false;
  const c = await connectPg(s, { applicationName: 'ferry thaw' });
  try {
    await c.query('SET default_transaction_read_only = off');
    await c.query(record.before === null
      ? `ALTER DATABASE ${qi(record.database)} RESET default_transaction_read_only`
      : `ALTER DATABASE ${qi(record.database)} SET default_transaction_read_only = ${record.before === 'on' ? 'on' : 'off'}`);
  } finally {
    await c.end();
  }
  await rm(recordFile(stateDir), { force: true });
  return true;
}

/** Write activity of the database (tuples written, by the statistics collector): equal samples, nothing written. */
export async function samplePostgres(s: PgTarget): Promise<string> {
  const c = await connectPg(s, { applicationName: 'ferry quiet' });
  try {
    const r = await c.query<{ w: string }>(`SELECT (tup_inserted + tup_updated + tup_deleted)::text AS w FROM pg_stat_database WHERE datname = current_database()`);
    return `tuples written ${r.rows[0]?.w ?? '?'}`;
  } finally {
    await c.end();
  }
}
