/**
 * The replication statements of each server generation, as pure functions of their inputs.
 * MySQL ≥ 8.0.23 speaks `CHANGE REPLICATION SOURCE TO … SOURCE_*` and `START/STOP/RESET REPLICA`
 * (8.4 removed the MASTER/SLAVE forms); MySQL < 8.0.23 and MariaDB speak `CHANGE MASTER TO` and
 * `START/STOP/RESET SLAVE`. Replication filters differ too: MySQL has `CHANGE REPLICATION FILTER`,
 * MariaDB sets `replicate_wild_do_table` as a global variable.
 */

/** Which statement family a server speaks. */
export type ReplicaDialect = 'mysql' | 'mysql-legacy' | 'mariadb';

/** The dialect of a server from `SELECT VERSION()` (`8.0.36`, `10.11.6-MariaDB-0+deb12u1`). */
export function replicaDialect(version: string): ReplicaDialect {
  if (/mariadb/i.test(version)) return 'mariadb';
  const [major = 0, minor = 0, patch = 0] = version.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  const atLeast8023 = major > 8 || (major === 8 && (minor > 0 || patch >= 23));
  return atLeast8023 ? 'mysql' : 'mysql-legacy';
}

/** Where the target finds the source, who it logs in as, and the snapshot coordinates to start from. */
export interface ChangeSourceInput {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly file: string;
  readonly position: number;
  /** MySQL: encrypt the replication connection (the source has SSL). */
  readonly ssl?: boolean;
  /** Seconds between reconnect attempts. Default 5. */
  readonly connectRetrySec?: number;
}

const SAFE_HOST = /^[A-Za-z0-9._:-]+$/;
const SAFE_WORD = /^[A-Za-z0-9._-]+$/;
const SAFE_PASSWORD = /^[A-Za-z0-9_.+-]+$/;
const SAFE_DB = /^[A-Za-z0-9_$-]+$/;

/** A quoted literal for values already checked against `pattern` (so no escaping can go wrong). */
function lit(value: string, pattern: RegExp, what: string): string {
  if (!pattern.test(value)) throw new TypeError(`Expected a ${what} matching ${pattern}, got ${JSON.stringify(what === 'password' ? '…' : value)}`);
  return `'${value}'`;
}

function posInt(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`Expected \`${what}\` to be a non-negative integer, got \`${n}\``);
  return n;
}

/** The one `CHANGE … TO` that points the target at the source at exactly the snapshot's binlog position. */
export function changeSourceStatement(dialect: ReplicaDialect, i: ChangeSourceInput): string {
  const host = lit(i.host, SAFE_HOST, 'host');
  const port = posInt(i.port, 'port');
  const user = lit(i.user, SAFE_WORD, 'user');
  const password = lit(i.password, SAFE_PASSWORD, 'password');
  const file = lit(i.file, SAFE_WORD, 'binlog file');
  const pos = posInt(i.position, 'position');
  const retry = posInt(i.connectRetrySec ?? 5, 'connectRetrySec');
  if (dialect === 'mysql') {
    // caching_sha2_password over a plain connection needs the source's RSA key; SSL when it has it.
    return `CHANGE REPLICATION SOURCE TO SOURCE_HOST=${host}, SOURCE_PORT=${port}, SOURCE_USER=${user}, SOURCE_PASSWORD=${password}, `
      + `SOURCE_LOG_FILE=${file}, SOURCE_LOG_POS=${pos}, SOURCE_AUTO_POSITION=0, SOURCE_SSL=${i.ssl ? 1 : 0}, GET_SOURCE_PUBLIC_KEY=1, SOURCE_CONNECT_RETRY=${retry}`;
  }
  if (dialect === 'mysql-legacy') {
    return `CHANGE MASTER TO MASTER_HOST=${host}, MASTER_PORT=${port}, MASTER_USER=${user}, MASTER_PASSWORD=${password}, `
      + `MASTER_LOG_FILE=${file}, MASTER_LOG_POS=${pos}, MASTER_AUTO_POSITION=0, MASTER_SSL=${i.ssl ? 1 : 0}, GET_MASTER_PUBLIC_KEY=1, MASTER_CONNECT_RETRY=${retry}`;
  }
  // MariaDB ≥ 10.10 would default to GTID positioning: the snapshot's file/position is what we have.
  return `CHANGE MASTER TO MASTER_HOST=${host}, MASTER_PORT=${port}, MASTER_USER=${user}, MASTER_PASSWORD=${password}, `
    + `MASTER_LOG_FILE=${file}, MASTER_LOG_POS=${pos}, MASTER_USE_GTID=no${i.ssl ? ', MASTER_SSL=1' : ''}, MASTER_CONNECT_RETRY=${retry}`;
}

const modern = (d: ReplicaDialect) => d === 'mysql';

export const startReplicaStatement = (d: ReplicaDialect): string => (modern(d) ? 'START REPLICA' : 'START SLAVE');
export const stopReplicaStatement = (d: ReplicaDialect): string => (modern(d) ? 'STOP REPLICA' : 'STOP SLAVE');
/** Forget the source, the coordinates and the stored password (ALL: the connection settings too). */
export const resetReplicaStatement = (d: ReplicaDialect): string => (modern(d) ? 'RESET REPLICA ALL' : 'RESET SLAVE ALL');
export const replicaStatusStatement = (d: ReplicaDialect): string => (modern(d) ? 'SHOW REPLICA STATUS' : 'SHOW SLAVE STATUS');

/**
 * Only the migrated databases are applied: row events are filtered by the table's own database, and
 * `wild_do_table` (unlike `do_db`) judges DDL by the tables it names, not by the session's default database.
 * An empty list clears the filter.
 */
export function replicationFilterStatement(d: ReplicaDialect, databases: readonly string[]): string {
  const patterns = databases.map((db) => {
    if (!SAFE_DB.test(db)) throw new TypeError(`Expected a database name matching ${SAFE_DB} to filter replication, got ${JSON.stringify(db)}`);
    return `${db.replace(/_/g, '\\_')}.%`;
  });
  if (d === 'mariadb') return `SET GLOBAL replicate_wild_do_table = '${patterns.join(',').replace(/\\/g, '\\\\')}'`;
  return `CHANGE REPLICATION FILTER REPLICATE_WILD_DO_TABLE = (${patterns.map((p) => `'${p.replace(/\\/g, '\\\\')}'`).join(', ')})`;
}

/** The least-privileged replication account: REPLICATION SLAVE only (the replica needs no more). */
export function createAccountStatements(user: string, host: string, password: string): string[] {
  const who = `${lit(user, SAFE_WORD, 'user')}@${lit(host, /^[A-Za-z0-9.%_-]+$/, 'account host')}`;
  const pw = lit(password, SAFE_PASSWORD, 'password');
  return [
    `CREATE USER IF NOT EXISTS ${who} IDENTIFIED BY ${pw}`,
    // A re-run after a kill: the password on file is the one that counts.
    `ALTER USER ${who} IDENTIFIED BY ${pw}`,
    `GRANT REPLICATION SLAVE ON *.* TO ${who}`,
  ];
}

export function dropAccountStatement(user: string, host: string): string {
  return `DROP USER IF EXISTS ${lit(user, SAFE_WORD, 'user')}@${lit(host, /^[A-Za-z0-9.%_-]+$/, 'account host')}`;
}

/** Hold the target's applier (the IO thread keeps receiving): the first half of pinning a point. */
export const stopApplierStatement = (d: ReplicaDialect): string => (modern(d) ? 'STOP REPLICA SQL_THREAD' : 'STOP SLAVE SQL_THREAD');

/** Apply up to exactly `file:position` of the source's binlog, then stop there. */
export function applyUntilStatement(d: ReplicaDialect, file: string, position: number): string {
  const f = lit(file, SAFE_WORD, 'binlog file');
  const p = posInt(position, 'position');
  return modern(d) ? `START REPLICA SQL_THREAD UNTIL SOURCE_LOG_FILE=${f}, SOURCE_LOG_POS=${p}` : `START SLAVE SQL_THREAD UNTIL MASTER_LOG_FILE=${f}, MASTER_LOG_POS=${p}`;
}
