/**
 * What preflight needs to know about a MySQL store, read with plain queries (nothing is changed): the
 * source's settings, grants, schemas, DEFINERs and sizes (from information_schema, so gathering stays
 * cheap on a big server), and the target's version, lower_case_table_names and accounts.
 */
import { connectMysql, withConnection } from './connect.ts';
import type { MysqlEndpoint } from './endpoint.ts';
import type { MysqlTargetFacts } from './assess.ts';
import { readSessionGrants } from './grants.ts';
import { readAccounts, readObjectSecurity, type AppAccount, type SourceAccount } from './accounts.ts';

export interface MysqlTableFacts {
  readonly db: string;
  readonly name: string;
  readonly engine: string | null;
  readonly collation: string | null;
  readonly bytes: number;
  readonly hasPrimaryKey: boolean;
}

export interface MysqlDefinerFacts {
  readonly kind: 'VIEW' | 'TRIGGER' | 'ROUTINE' | 'EVENT';
  readonly db: string;
  readonly name: string;
  /** `user@host` as the server reports it. */
  readonly definer: string;
}

export interface MysqlFacts {
  readonly endpoint: string;
  readonly version: string;
  readonly sqlMode: string;
  readonly lowerCaseTableNames: number;
  readonly characterSetServer: string;
  readonly collationServer: string;
  readonly localInfile: boolean;
  readonly maxAllowedPacket: number;
  readonly grants: readonly string[];
  /** The export account as `'user'@'host'` (CURRENT_USER()); its roles' grants are in `grants`. */
  readonly account?: string;
  /** MySQL 8 with partial_revokes ON: database names in grants are literal, not LIKE patterns. */
  readonly literalDbPatterns?: boolean;
  readonly databases: readonly { name: string; charset: string; collation: string }[];
  readonly missingDatabases: readonly string[];
  readonly tables: readonly MysqlTableFacts[];
  readonly definers: readonly MysqlDefinerFacts[];
  readonly generatedColumns: number;
  /** Foreign keys as `db.table → db.table` edges (cycles are imported with checks off). */
  readonly foreignKeys: readonly { from: string; to: string }[];
  /** The accounts to carry (every DEFINER's and the app's), as the export reads them (accounts.ts). */
  readonly accounts?: readonly SourceAccount[];
  /** Why they could not be read (e.g. no SELECT on mysql.user). */
  readonly accountsError?: string;
  /** Largest single BLOB/TEXT column type length in bytes (a LONGBLOB is 4 GiB). */
  readonly largestLobColumn: number;
}

type Row = Record<string, unknown>;

/** MySQL or MariaDB from a `VERSION()` / `mysqld --version` string. */
export function mysqlFlavorOf(version: string): 'mysql' | 'mariadb' {
  return /mariadb/i.test(version) ? 'mariadb' : 'mysql';
}

/** The source's facts; connection failures are FerryErrors naming host:port and user (connect.ts). */
export async function gatherMysqlFacts(ep: MysqlEndpoint, app: readonly AppAccount[] = []): Promise<MysqlFacts> {
  const where = `${ep.host}:${ep.port}`;
  const pool = await connectMysql(ep, { connections: 1 });
  try {
    const q = async (sql: string, params: unknown[] = []): Promise<Row[]> => (await pool.query(sql, params))[0] as Row[];
    const [vars] = await q(`SELECT VERSION() AS version, @@sql_mode AS sqlMode, @@lower_case_table_names AS lctn,
      @@character_set_server AS cs, @@collation_server AS co, @@local_infile AS li, @@max_allowed_packet AS map`);
    const { account, grants, literalDbPatterns } = await readSessionGrants(pool, mysqlFlavorOf(String(vars!.version)));
    const allDbs = await q(`SELECT SCHEMA_NAME AS name, DEFAULT_CHARACTER_SET_NAME AS cs, DEFAULT_COLLATION_NAME AS co
      FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN ('mysql','information_schema','performance_schema','sys')`);
    const wanted = ep.databases.length ? ep.databases : allDbs.map((d) => String(d.name));
    const databases = allDbs.filter((d) => wanted.includes(String(d.name)))
      .map((d) => ({ name: String(d.name), charset: String(d.cs), collation: String(d.co) }));
    const missingDatabases = wanted.filter((w) => !databases.some((d) => d.name === w));
    const dbs = databases.map((d) => d.name);
    if (!dbs.length) return { ...facts(where, vars!, grants), account, literalDbPatterns, databases, missingDatabases, tables: [], definers: [], generatedColumns: 0, foreignKeys: [], largestLobColumn: 0 };
    const tables = (await q(`SELECT t.TABLE_SCHEMA AS db, t.TABLE_NAME AS name, t.ENGINE AS engine, t.TABLE_COLLATION AS co,
        COALESCE(t.DATA_LENGTH,0) + COALESCE(t.INDEX_LENGTH,0) AS bytes,
        EXISTS(SELECT 1 FROM information_schema.TABLE_CONSTRAINTS c WHERE c.TABLE_SCHEMA = t.TABLE_SCHEMA
          AND c.TABLE_NAME = t.TABLE_NAME AND c.CONSTRAINT_TYPE = 'PRIMARY KEY') AS pk
      FROM information_schema.TABLES t WHERE t.TABLE_SCHEMA IN (?) AND t.TABLE_TYPE = 'BASE TABLE'`, [dbs]))
      .map((r) => ({ db: String(r.db), name: String(r.name), engine: r.engine as string | null, collation: r.co as string | null, bytes: Number(r.bytes), hasPrimaryKey: Number(r.pk) === 1 }));
    const definers = [
      ...(await q(`SELECT 'VIEW' AS kind, TABLE_SCHEMA AS db, TABLE_NAME AS name, DEFINER AS definer FROM information_schema.VIEWS WHERE TABLE_SCHEMA IN (?)`, [dbs])),
      ...(await q(`SELECT 'TRIGGER' AS kind, TRIGGER_SCHEMA AS db, TRIGGER_NAME AS name, DEFINER AS definer FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA IN (?)`, [dbs])),
      ...(await q(`SELECT 'ROUTINE' AS kind, ROUTINE_SCHEMA AS db, ROUTINE_NAME AS name, DEFINER AS definer FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA IN (?)`, [dbs])),
      ...(await q(`SELECT 'EVENT' AS kind, EVENT_SCHEMA AS db, EVENT_NAME AS name, DEFINER AS definer FROM information_schema.EVENTS WHERE EVENT_SCHEMA IN (?)`, [dbs])),
    ].map((r) => ({ kind: r.kind as MysqlDefinerFacts['kind'], db: String(r.db), name: String(r.name), definer: String(r.definer) }));
    // MySQL says 'VIRTUAL GENERATED'/'STORED GENERATED' in EXTRA, MariaDB 'VIRTUAL GENERATED'/'STORED GENERATED' too (10.2+).
    const [gen] = await q(`SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN (?) AND EXTRA LIKE '%GENERATED%'`, [dbs]);
    const foreignKeys = (await q(`SELECT CONSTRAINT_SCHEMA AS db, TABLE_NAME AS t, UNIQUE_CONSTRAINT_SCHEMA AS rdb, REFERENCED_TABLE_NAME AS rt
      FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA IN (?)`, [dbs]))
      .map((r) => ({ from: `${String(r.db)}.${String(r.t)}`, to: `${String(r.rdb)}.${String(r.rt)}` }));
    const [lob] = await q(`SELECT COALESCE(MAX(CHARACTER_OCTET_LENGTH),0) AS n FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA IN (?) AND DATA_TYPE IN ('blob','mediumblob','longblob','text','mediumtext','longtext')`, [dbs]);
    const carried = await readObjectSecurity(pool, dbs, { mode: 'keep' }).then((o) => readAccounts(pool, dbs, o, app))
      .then((accounts) => ({ accounts }), (e: unknown) => ({ accountsError: (e as Error).message.split('\n')[0] ?? '' }));
    return {
      ...facts(where, vars!, grants), account, literalDbPatterns, databases, missingDatabases, tables, definers, ...carried,
      generatedColumns: Number(gen?.n ?? 0), foreignKeys, largestLobColumn: Number(lob?.n ?? 0),
    };
  } finally {
    await pool.end().catch(() => undefined);
  }
}

/** The target's version, lower_case_table_names and accounts (`user@host`), as assess compares them. */
export async function gatherMysqlTargetFacts(ep: MysqlEndpoint): Promise<MysqlTargetFacts> {
  const pool = await connectMysql(ep, { connections: 1 });
  try {
    return await withConnection(pool, async (c) => {
      const [[v]] = (await c.query('SELECT VERSION() AS version, @@lower_case_table_names AS lctn')) as unknown as [Row[]];
      const [users] = (await c.query('SELECT User AS u, Host AS h FROM mysql.user')) as unknown as [Row[]];
      const [plugins] = (await c.query("SELECT PLUGIN_NAME AS p FROM information_schema.PLUGINS WHERE PLUGIN_TYPE = 'AUTHENTICATION' AND PLUGIN_STATUS = 'ACTIVE'")) as unknown as [Row[]];
      return { version: String(v!.version), lowerCaseTableNames: Number(v!.lctn), accounts: users.map((r) => `${String(r.u)}@${String(r.h)}`), plugins: plugins.map((r) => String(r.p)) };
    });
  } finally {
    await pool.end().catch(() => undefined);
  }
}

function facts(endpoint: string, v: Row, grants: string[]) {
  return {
    endpoint, grants,
    version: String(v.version), sqlMode: String(v.sqlMode), lowerCaseTableNames: Number(v.lctn),
    characterSetServer: String(v.cs), collationServer: String(v.co), localInfile: Number(v.li) === 1,
    maxAllowedPacket: Number(v.map),
  };
}
