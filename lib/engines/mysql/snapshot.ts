/**
 * A consistent snapshot shared by parallel workers: a brief global read lock, `START TRANSACTION WITH
 * CONSISTENT SNAPSHOT` on every worker, binlog position and GTID set read under the lock, unlock.
 * Without the RELOAD privilege (no FLUSH TABLES WITH READ LOCK) ferry falls back to ONE consistent
 * connection and says so.
 */
import type { Pool, PoolConnection } from 'mysql2/promise';
import { isPrivilegeError, oneLine } from './connect.ts';
import { str } from './catalog.ts';

export interface BinlogPosition {
  readonly file: string;
  readonly position: number;
  /** MySQL: @@gtid_executed (uuid:1-n); MariaDB: @@gtid_binlog_pos (domain-server-seq). */
  readonly gtid: string;
}

export interface Snapshot {
  /** Connections inside the same snapshot (read-only transactions); release with `close`. */
  readonly workers: readonly PoolConnection[];
  /** Null when binary logging is off. */
  readonly binlog: BinlogPosition | null;
  /** 'locked' (parallel, consistent), 'single' (no lock privilege: one connection). */
  readonly mode: 'locked' | 'single';
  /** Why the mode was chosen, for the report. */
  readonly note: string;
  close(): Promise<void>;
}

const BEGIN = ['SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ', 'START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY'];

/** Open `parallelism` workers in one snapshot (or one worker when the lock is not allowed). */
export async function openSnapshot(pool: Pool, parallelism: number): Promise<Snapshot> {
  const control = await pool.getConnection();
  const workers: PoolConnection[] = [];
  const close = async () => {
    for (const w of workers) { await w.query('ROLLBACK').catch(() => undefined); w.release(); }
    control.release();
  };
  try {
    let mode: Snapshot['mode'] = 'locked';
    let note = `global read lock held while ${parallelism} workers opened their snapshots`;
    try {
      await control.query('FLUSH TABLES WITH READ LOCK');
    } catch (e) {
      if (!isPrivilegeError(e)) throw e;
      mode = 'single';
      note = `no RELOAD privilege for FLUSH TABLES WITH READ LOCK (${oneLine(e)}): one consistent connection, no parallel export; GRANT RELOAD ON *.* TO the account to export in parallel`;
    }
    const n = mode === 'locked' ? parallelism : 1;
    for (let i = 0; i < n; i++) {
      const w = await pool.getConnection();
      workers.push(w);
      for (const s of BEGIN) await w.query(s);
    }
    const binlog = await readBinlog(control);
    if (mode === 'locked') await control.query('UNLOCK TABLES');
    return { workers, binlog, mode, note, close };
  } catch (e) {
    await control.query('UNLOCK TABLES').catch(() => undefined);
    await close();
    throw e;
  }
}

/** The binlog position (MySQL 8.4 renamed SHOW MASTER STATUS; MariaDB keeps it). Null when logging is off. */
export async function readBinlog(c: PoolConnection | Pool): Promise<BinlogPosition | null> {
  let rows: unknown;
  try {
    [rows] = await c.query('SHOW BINARY LOG STATUS');
  } catch {
    try { [rows] = await c.query('SHOW MASTER STATUS'); } catch { return null; }
  }
  const r = (rows as Array<Record<string, unknown>>)[0];
  if (!r || !r.File) return null;
  let gtid = str(r.Executed_Gtid_Set ?? '');
  if (!gtid) {
    const [g] = await c.query('SELECT @@GLOBAL.gtid_binlog_pos AS g').catch(() => [[{ g: '' }]] as const);
    gtid = str((g as Array<{ g: unknown }>)[0]?.g ?? '');
  }
  return { file: str(r.File), position: Number(str(r.Position)), gtid: gtid.replace(/\s+/g, '') };
}
