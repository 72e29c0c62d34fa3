/**
 * What following needs of the two servers, read once and judged as data: a binary log in ROW format
 * and a snapshot position to start from, distinct server ids, compatible GTID modes (MySQL: a source
 * with gtid_mode=ON cannot feed a replica with it OFF). Every blocker says the one change that enables
 * following; without it the store falls back to the copy inside the freeze.
 */
import type { Pool } from 'mysql2/promise';
import type { EngineFinding } from '../../core/engine.ts';
import { str } from './catalog.ts';
import { replicaDialect, type ReplicaDialect } from './replication-sql.ts';

export interface ReplicationFacts {
  readonly version: string;
  readonly dialect: ReplicaDialect;
  readonly logBin: boolean;
  readonly binlogFormat: string;
  readonly serverId: number;
  /** MySQL's gtid_mode (OFF, ON…); '' on MariaDB, whose GTIDs need no mode. */
  readonly gtidMode: string;
  readonly ssl: boolean;
  readonly eventScheduler: string;
}

export async function readReplicationFacts(db: Pool): Promise<ReplicationFacts> {
  const [rows] = await db.query("SHOW GLOBAL VARIABLES WHERE Variable_name IN ('version', 'log_bin', 'binlog_format', 'server_id', 'gtid_mode', 'have_ssl', 'event_scheduler')");
  const v = new Map((rows as Array<{ Variable_name: string; Value: unknown }>).map((r) => [r.Variable_name, str(r.Value ?? '')]));
  const version = v.get('version') ?? '';
  return {
    version, dialect: replicaDialect(version), logBin: /^(ON|1)$/i.test(v.get('log_bin') ?? ''), binlogFormat: (v.get('binlog_format') ?? '').toUpperCase(),
    serverId: Number(v.get('server_id') ?? 0), gtidMode: (v.get('gtid_mode') ?? '').toUpperCase(), ssl: /^YES$/i.test(v.get('have_ssl') ?? ''),
    eventScheduler: (v.get('event_scheduler') ?? 'OFF').toUpperCase(),
  };
}

export interface FollowPrereqInput {
  readonly source: ReplicationFacts;
  readonly target: ReplicationFacts;
  /** The export's snapshot coordinates; null when the source had no binary log at export time. */
  readonly start: { readonly file: string; readonly position: number } | null;
  /** `user@host:port` of the source, for the findings' subject. */
  readonly where: string;
}

/** Blockers (following impossible: the freeze copy is used), rewrites (ferry adjusts the target), notes. */
export function assessFollow(i: FollowPrereqInput): EngineFinding[] {
  const out: EngineFinding[] = [];
  const block = (check: string, message: string, hint: string) => out.push({ severity: 'blocker', check, subject: `mysql ${i.where}`, message, hint });
  if (!i.source.logBin) {
    block('mysql-follow-binlog', 'the source has no binary log, so the stack cannot follow it', 'add `log-bin` (and `binlog_format = ROW`, `server-id = 1`) under [mysqld] in my.cnf and restart MySQL once; until then the copy runs inside the freeze');
  } else if (i.source.binlogFormat !== 'ROW') {
    block('mysql-follow-row-format', `the source logs in ${i.source.binlogFormat || 'an unknown'} format; following needs ROW`, 'set `binlog_format = ROW` in my.cnf (or SET PERSIST binlog_format = ROW) and restart the app\'s connections; until then the copy runs inside the freeze');
  } else if (!i.start) {
    block('mysql-follow-snapshot', 'the export recorded no binlog position to start from', 'export again now that the binary log is on, then follow');
  }
  if (i.source.serverId === 0) block('mysql-follow-server-id', 'the source has server_id = 0, which refuses replicas', 'set `server-id = 1` in my.cnf and restart MySQL once');
  if (i.source.gtidMode === 'ON' && i.target.gtidMode !== 'ON') {
    block('mysql-follow-gtid', `the source runs gtid_mode=ON and the stack's MySQL gtid_mode=${i.target.gtidMode || 'OFF'}`, 'start the stack\'s mysql with `--gtid-mode=ON --enforce-gtid-consistency=ON`, or migrate without following');
  }
  if (i.source.dialect !== 'mariadb' && i.target.dialect === 'mariadb') {
    block('mysql-follow-flavor', `a MariaDB target (${i.target.version}) cannot follow MySQL ${i.source.version}`, 'use a MySQL image for the stack, or migrate without following');
  }
  if (i.source.serverId !== 0 && i.source.serverId === i.target.serverId) {
    out.push({ severity: 'rewrite', check: 'mysql-follow-server-id', subject: `mysql target`, message: `source and target share server_id ${i.source.serverId}`, hint: 'ferry gives the target a distinct server_id (SET GLOBAL, and the conf.d snippet for restarts)' });
  }
  if (i.target.eventScheduler === 'ON') {
    out.push({ severity: 'rewrite', check: 'mysql-follow-events', subject: 'mysql target', message: 'the target\'s event scheduler is ON: imported events would run twice (once replicated from the source)', hint: 'ferry turns it OFF while following and restores it at promote' });
  }
  return out;
}
