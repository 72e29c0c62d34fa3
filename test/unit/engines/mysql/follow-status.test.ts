/** Lag by binlog positions, replica status rows of both spellings, and the follow prerequisites. */
import { describe, expect, it } from 'vitest';
import { binlogIndex, lagBytes, parseReplicaStatus } from '../../../../lib/engines/mysql/replication-status.ts';
import { assessFollow, type ReplicationFacts } from '../../../../lib/engines/mysql/replication-prereq.ts';

describe('lagBytes', () => {
  it('counts bytes within one file, and a replica at the end as 0', () => {
    expect(lagBytes({ file: 'b.000003', position: 9000 }, { file: 'b.000003', position: 4000 })).toBe(5000);
    expect(lagBytes({ file: 'b.000003', position: 9000 }, { file: 'b.000003', position: 9000 })).toBe(0);
  });
  it('spans rotated files with their sizes: the rest of the executed file, whole files between, the source\'s offset', () => {
    const sizes = new Map([['b.000001', 5000], ['b.000002', 7000], ['b.000003', 1000], ['b.000004', 300]]);
    expect(lagBytes({ file: 'b.000004', position: 300 }, { file: 'b.000002', position: 6000 }, sizes)).toBe(1000 + 1000 + 300);
  });
  it('is unknown (null) across files without their sizes, and 0 for a replica past the source', () => {
    expect(lagBytes({ file: 'b.000004', position: 300 }, { file: 'b.000002', position: 6000 })).toBeNull();
    expect(lagBytes({ file: 'b.000002', position: 4 }, { file: 'b.000003', position: 4 })).toBe(0);
    expect(lagBytes({ file: 'b.000002', position: 4 }, { file: '', position: 0 })).toBeNull();
  });
  it('orders binlog files by their numeric suffix', () => {
    expect(binlogIndex('mysql-bin.000012')).toBe(12);
    expect(Number.isNaN(binlogIndex('weird'))).toBe(true);
  });
});

describe('parseReplicaStatus', () => {
  it('reads MySQL 8.0.22+ names (SHOW REPLICA STATUS)', () => {
    expect(parseReplicaStatus({
      Source_Host: 'host.docker.internal', Source_Port: 3306, Replica_IO_Running: 'Yes', Replica_SQL_Running: 'Yes',
      Relay_Source_Log_File: 'binlog.000002', Exec_Source_Log_Pos: 900, Source_Log_File: 'binlog.000003', Read_Source_Log_Pos: 120,
      Last_IO_Errno: 0, Last_IO_Error: '', Last_SQL_Errno: 0, Last_SQL_Error: '', Replicate_Wild_Do_Table: 'vedfolnir.%',
    })).toEqual({
      sourceHost: 'host.docker.internal', sourcePort: 3306, ioRunning: 'Yes', sqlRunning: 'Yes', executed: { file: 'binlog.000002', position: 900 },
      read: { file: 'binlog.000003', position: 120 }, lastIoErrno: 0, lastIoError: '', lastSqlErrno: 0, lastSqlError: '', wildDoTable: 'vedfolnir.%',
    });
  });
  it('reads MariaDB / older MySQL names (SHOW SLAVE STATUS), errors included', () => {
    const s = parseReplicaStatus({
      Master_Host: 'ferry-src-mysql', Master_Port: '3306', Slave_IO_Running: 'Connecting', Slave_SQL_Running: 'Yes',
      Relay_Master_Log_File: 'mysql-bin.000002', Exec_Master_Log_Pos: '4', Master_Log_File: 'mysql-bin.000002', Read_Master_Log_Pos: '4',
      Last_IO_Errno: '2005', Last_IO_Error: "error connecting to master 'ferry_repl_x@ferry-nowhere:3306'", Last_SQL_Errno: '0', Last_SQL_Error: '',
    });
    expect(s).toMatchObject({ sourceHost: 'ferry-src-mysql', sourcePort: 3306, ioRunning: 'Connecting', executed: { file: 'mysql-bin.000002', position: 4 }, lastIoErrno: 2005, wildDoTable: '' });
  });
});

const facts = (over: Partial<ReplicationFacts> = {}): ReplicationFacts => ({
  version: '8.0.36', dialect: 'mysql', logBin: true, binlogFormat: 'ROW', serverId: 1, gtidMode: 'OFF', ssl: true, eventScheduler: 'ON', ...over,
});
const start = { file: 'binlog.000002', position: 157 };
const checks = (f: ReturnType<typeof assessFollow>) => f.map((x) => `${x.severity}:${x.check}`);

describe('assessFollow', () => {
  it('a Homebrew MySQL 8 source with binlog on and a stack MySQL 8: follow, after giving the target its own server id and holding its events', () => {
    expect(checks(assessFollow({ source: facts(), target: facts(), start, where: 'root@127.0.0.1:3306' }))).toEqual(['rewrite:mysql-follow-server-id', 'rewrite:mysql-follow-events']);
  });
  it('no binary log: a blocker with the one my.cnf change that enables following', () => {
    const f = assessFollow({ source: facts({ logBin: false }), target: facts({ serverId: 2 }), start: null, where: 'root@127.0.0.1:3306' });
    expect(checks(f)).toEqual(['blocker:mysql-follow-binlog', 'rewrite:mysql-follow-events']);
    expect(f[0]!.hint).toMatch(/log-bin/);
    expect(f[0]!.subject).toBe('mysql root@127.0.0.1:3306');
  });
  it('statement or mixed logging, GTID mismatch, server_id 0 and a MariaDB target of a MySQL source are blockers', () => {
    expect(checks(assessFollow({ source: facts({ binlogFormat: 'MIXED' }), target: facts({ serverId: 2, eventScheduler: 'OFF' }), start, where: 'w' }))).toEqual(['blocker:mysql-follow-row-format']);
    expect(checks(assessFollow({ source: facts({ gtidMode: 'ON' }), target: facts({ serverId: 2, eventScheduler: 'OFF' }), start, where: 'w' }))).toEqual(['blocker:mysql-follow-gtid']);
    expect(checks(assessFollow({ source: facts({ serverId: 0 }), target: facts({ serverId: 2, eventScheduler: 'OFF' }), start, where: 'w' }))).toEqual(['blocker:mysql-follow-server-id']);
    expect(checks(assessFollow({ source: facts(), target: facts({ dialect: 'mariadb', version: '10.11.6-MariaDB', serverId: 2, eventScheduler: 'OFF' }), start, where: 'w' }))).toEqual(['blocker:mysql-follow-flavor']);
  });
  it('an export without coordinates cannot start replication', () => {
    expect(checks(assessFollow({ source: facts(), target: facts({ serverId: 2, eventScheduler: 'OFF' }), start: null, where: 'w' }))).toEqual(['blocker:mysql-follow-snapshot']);
  });
});
