/**
 * Where a replica stands, in the source's own coordinates: the position its SQL thread has executed
 * (`Relay_Source_Log_File`/`Exec_Source_Log_Pos`, `Relay_Master_Log_File`/`Exec_Master_Log_Pos` on
 * MariaDB and MySQL < 8.0.22) against the source's `SHOW BINARY LOG STATUS` / `SHOW MASTER STATUS`.
 * Lag is counted in binlog bytes, never `Seconds_Behind_*` (which reads 0 while the IO thread is stuck).
 */
import type { Pool } from 'mysql2/promise';
import { str } from './catalog.ts';
import { replicaStatusStatement, type ReplicaDialect } from './replication-sql.ts';

export interface BinlogCoordinates {
  readonly file: string;
  readonly position: number;
}

export interface ReplicaStatus {
  readonly sourceHost: string;
  readonly sourcePort: number;
  /** `Yes`, `No` or `Connecting`. */
  readonly ioRunning: string;
  readonly sqlRunning: string;
  /** Executed up to here, in the source's binlog. */
  readonly executed: BinlogCoordinates;
  /** Received up to here. */
  readonly read: BinlogCoordinates;
  readonly lastIoErrno: number;
  readonly lastIoError: string;
  readonly lastSqlErrno: number;
  readonly lastSqlError: string;
  /** The active `replicate_wild_do_table` filter, comma-separated. */
  readonly wildDoTable: string;
}

/** One row of SHOW REPLICA STATUS / SHOW SLAVE STATUS, whichever names the server uses. */
export function parseReplicaStatus(row: Readonly<Record<string, unknown>>): ReplicaStatus {
  const pick = (...names: string[]) => { for (const n of names) if (row[n] !== undefined && row[n] !== null) return str(row[n]); return ''; };
  return {
    sourceHost: pick('Source_Host', 'Master_Host'),
    sourcePort: Number(pick('Source_Port', 'Master_Port')) || 0,
    ioRunning: pick('Replica_IO_Running', 'Slave_IO_Running') || 'No',
    sqlRunning: pick('Replica_SQL_Running', 'Slave_SQL_Running') || 'No',
    executed: { file: pick('Relay_Source_Log_File', 'Relay_Master_Log_File'), position: Number(pick('Exec_Source_Log_Pos', 'Exec_Master_Log_Pos')) || 0 },
    read: { file: pick('Source_Log_File', 'Master_Log_File'), position: Number(pick('Read_Source_Log_Pos', 'Read_Master_Log_Pos')) || 0 },
    lastIoErrno: Number(pick('Last_IO_Errno')) || 0,
    lastIoError: pick('Last_IO_Error'),
    lastSqlErrno: Number(pick('Last_SQL_Errno')) || 0,
    lastSqlError: pick('Last_SQL_Error'),
    wildDoTable: pick('Replicate_Wild_Do_Table'),
  };
}

/** The target's replica status; null when it replicates from nothing. */
export async function readReplicaStatus(target: Pool, dialect: ReplicaDialect): Promise<ReplicaStatus | null> {
  const [rows] = await target.query(replicaStatusStatement(dialect));
  const r = (rows as Array<Record<string, unknown>>)[0];
  return r && (r.Source_Host ?? r.Master_Host) ? parseReplicaStatus(r) : null;
}

/** The source's current end of binlog (8.4 renamed SHOW MASTER STATUS). Null when logging is off. */
export async function readSourcePosition(source: Pool): Promise<BinlogCoordinates | null> {
  for (const sql of ['SHOW BINARY LOG STATUS', 'SHOW MASTER STATUS']) {
    try {
      const [rows] = await source.query(sql);
      const r = (rows as Array<Record<string, unknown>>)[0];
      return r?.File ? { file: str(r.File), position: Number(str(r.Position)) } : null;
    } catch { /* the other spelling */ }
  }
  return null;
}

/** File sizes from SHOW BINARY LOGS (needs REPLICATION CLIENT); empty when not allowed. */
export async function readBinlogSizes(source: Pool): Promise<Map<string, number>> {
  try {
    const [rows] = await source.query('SHOW BINARY LOGS');
    return new Map((rows as Array<Record<string, unknown>>).map((r) => [str(r.Log_name), Number(str(r.File_size))]));
  } catch {
    return new Map();
  }
}

/** `mysql-bin.000012` → 12, for ordering binlog files. */
export function binlogIndex(file: string): number {
  const m = /\.(\d+)$/.exec(file);
  return m ? Number(m[1]) : Number.NaN;
}

/**
 * Bytes of binlog the replica has still to execute; null when it spans files whose sizes are unknown.
 * A replica ahead of the source (it cannot be, unless the source was reset) counts as 0.
 */
export function lagBytes(source: BinlogCoordinates, executed: BinlogCoordinates, sizes: ReadonlyMap<string, number> = new Map()): number | null {
  if (source.file === executed.file) return Math.max(0, source.position - executed.position);
  const from = binlogIndex(executed.file);
  const to = binlogIndex(source.file);
  if (!(from < to)) return executed.file !== '' && from > to ? 0 : null;
  let total = 0;
  for (const [file, size] of sizes) {
    const i = binlogIndex(file);
    if (i === from) total += Math.max(0, size - executed.position);
    else if (i > from && i < to) total += size;
  }
  const known = [...sizes.keys()].filter((f) => { const i = binlogIndex(f); return i >= from && i < to; }).length;
  return known === to - from ? total + source.position : null;
}
