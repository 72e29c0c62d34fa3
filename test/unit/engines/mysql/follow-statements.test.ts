/** The replication statements per server generation: MySQL ≥ 8.0.23, MySQL < 8.0.23, MariaDB. */
import { describe, expect, it } from 'vitest';
import {
  changeSourceStatement, createAccountStatements, dropAccountStatement, replicaDialect, replicaStatusStatement, replicationFilterStatement,
  resetReplicaStatement, startReplicaStatement, stopReplicaStatement, stopApplierStatement, applyUntilStatement,
} from '../../../../lib/engines/mysql/replication-sql.ts';

const input = { host: 'host.docker.internal', port: 3306, user: 'ferry_repl_0a1b2c3d', password: 'Zx9_secret-Pw.Aa1', file: 'binlog.000042', position: 157 };

describe('replicaDialect', () => {
  it.each([
    ['8.0.36', 'mysql'], ['8.0.23', 'mysql'], ['8.4.3', 'mysql'], ['9.1.0', 'mysql'],
    ['8.0.22', 'mysql-legacy'], ['5.7.44-log', 'mysql-legacy'],
    ['10.11.6-MariaDB-0+deb12u1', 'mariadb'], ['11.4.2-MariaDB', 'mariadb'],
  ])('%s speaks %s', (version, dialect) => expect(replicaDialect(version)).toBe(dialect));
});

describe('changeSourceStatement', () => {
  it('MySQL ≥ 8.0.23: CHANGE REPLICATION SOURCE TO with the snapshot file/position, no auto-position, the RSA key for caching_sha2', () => {
    expect(changeSourceStatement('mysql', { ...input, ssl: true })).toBe(
      "CHANGE REPLICATION SOURCE TO SOURCE_HOST='host.docker.internal', SOURCE_PORT=3306, SOURCE_USER='ferry_repl_0a1b2c3d', SOURCE_PASSWORD='Zx9_secret-Pw.Aa1', "
      + "SOURCE_LOG_FILE='binlog.000042', SOURCE_LOG_POS=157, SOURCE_AUTO_POSITION=0, SOURCE_SSL=1, GET_SOURCE_PUBLIC_KEY=1, SOURCE_CONNECT_RETRY=5");
  });
  it('MySQL < 8.0.23: CHANGE MASTER TO with the same coordinates', () => {
    expect(changeSourceStatement('mysql-legacy', input)).toBe(
      "CHANGE MASTER TO MASTER_HOST='host.docker.internal', MASTER_PORT=3306, MASTER_USER='ferry_repl_0a1b2c3d', MASTER_PASSWORD='Zx9_secret-Pw.Aa1', "
      + "MASTER_LOG_FILE='binlog.000042', MASTER_LOG_POS=157, MASTER_AUTO_POSITION=0, MASTER_SSL=0, GET_MASTER_PUBLIC_KEY=1, MASTER_CONNECT_RETRY=5");
  });
  it('MariaDB: CHANGE MASTER TO … MASTER_USE_GTID=no (10.10+ would default to GTID positioning)', () => {
    expect(changeSourceStatement('mariadb', { ...input, host: 'ferry-src-mysql', file: 'mysql-bin.000002', position: 4, connectRetrySec: 2 })).toBe(
      "CHANGE MASTER TO MASTER_HOST='ferry-src-mysql', MASTER_PORT=3306, MASTER_USER='ferry_repl_0a1b2c3d', MASTER_PASSWORD='Zx9_secret-Pw.Aa1', "
      + "MASTER_LOG_FILE='mysql-bin.000002', MASTER_LOG_POS=4, MASTER_USE_GTID=no, MASTER_CONNECT_RETRY=2");
  });
  it('refuses values that would need escaping, without echoing a password', () => {
    expect(() => changeSourceStatement('mysql', { ...input, host: "x'; DROP" })).toThrow(TypeError);
    expect(() => changeSourceStatement('mysql', { ...input, password: "it's" })).toThrow(/got "…"/);
    expect(() => changeSourceStatement('mysql', { ...input, position: -1 })).toThrow(/non-negative integer, got `-1`/);
  });
});

describe('start, stop, reset, status', () => {
  it('REPLICA forms on MySQL ≥ 8.0.23 (8.4 has no other), SLAVE forms on MariaDB and older MySQL', () => {
    expect(['mysql', 'mysql-legacy', 'mariadb'].map((d) => [startReplicaStatement(d as never), stopReplicaStatement(d as never), resetReplicaStatement(d as never), replicaStatusStatement(d as never)])).toEqual([
      ['START REPLICA', 'STOP REPLICA', 'RESET REPLICA ALL', 'SHOW REPLICA STATUS'],
      ['START SLAVE', 'STOP SLAVE', 'RESET SLAVE ALL', 'SHOW SLAVE STATUS'],
      ['START SLAVE', 'STOP SLAVE', 'RESET SLAVE ALL', 'SHOW SLAVE STATUS'],
    ]);
  });
});

describe('replicationFilterStatement', () => {
  it('MySQL: CHANGE REPLICATION FILTER with wild patterns, `_` escaped; empty clears', () => {
    expect(replicationFilterStatement('mysql', ['vedfolnir', 'shop_2'])).toBe("CHANGE REPLICATION FILTER REPLICATE_WILD_DO_TABLE = ('vedfolnir.%', 'shop\\\\_2.%')");
    expect(replicationFilterStatement('mysql-legacy', [])).toBe('CHANGE REPLICATION FILTER REPLICATE_WILD_DO_TABLE = ()');
  });
  it('MariaDB: the replicate_wild_do_table variable', () => {
    expect(replicationFilterStatement('mariadb', ['vedfolnir', 'a_b'])).toBe("SET GLOBAL replicate_wild_do_table = 'vedfolnir.%,a\\\\_b.%'");
    expect(replicationFilterStatement('mariadb', [])).toBe("SET GLOBAL replicate_wild_do_table = ''");
  });
  it('refuses a database name that cannot be a pattern', () => {
    expect(() => replicationFilterStatement('mysql', ["a'b"])).toThrow(TypeError);
  });
});

describe('the replication account', () => {
  it('gets REPLICATION SLAVE only, a password re-set on every run, and is dropped if it exists', () => {
    expect(createAccountStatements('ferry_repl_0a1b2c3d', '%', 'Pw_1.Aa1')).toEqual([
      "CREATE USER IF NOT EXISTS 'ferry_repl_0a1b2c3d'@'%' IDENTIFIED BY 'Pw_1.Aa1'",
      "ALTER USER 'ferry_repl_0a1b2c3d'@'%' IDENTIFIED BY 'Pw_1.Aa1'",
      "GRANT REPLICATION SLAVE ON *.* TO 'ferry_repl_0a1b2c3d'@'%'",
    ]);
    expect(dropAccountStatement('ferry_repl_0a1b2c3d', '%')).toBe("DROP USER IF EXISTS 'ferry_repl_0a1b2c3d'@'%'");
  });
});

describe('pinning the applier', () => {
  it('holds the SQL thread and applies up to exactly the pin, per dialect', () => {
    expect(stopApplierStatement('mysql')).toBe('STOP REPLICA SQL_THREAD');
    expect(stopApplierStatement('mariadb')).toBe('STOP SLAVE SQL_THREAD');
    expect(applyUntilStatement('mysql', 'binlog.000003', 4711)).toBe("START REPLICA SQL_THREAD UNTIL SOURCE_LOG_FILE='binlog.000003', SOURCE_LOG_POS=4711");
    expect(applyUntilStatement('mariadb', 'mysql-bin.000003', 4711)).toBe("START SLAVE SQL_THREAD UNTIL MASTER_LOG_FILE='mysql-bin.000003', MASTER_LOG_POS=4711");
  });
});
