/**
 * The server half of each follow check, per engine, read-only: MySQL's binary log, format, server_id and
 * GTIDs against the stack's image and command; Redis's RDB version against the stack's image; PostgreSQL's
 * wal_level, replica identities, slots and privileges. A blocker's hint is the one change that enables
 * following; past the server, the route (follow-route.ts). Each also reads the source's size.
 */
import type { ConfigStore } from '../config/schema.ts';
import type { Pool } from 'mysql2/promise';
import { connectMysql } from '../engines/mysql/connect.ts';
import { mysqlEndpointFromUrl } from '../engines/mysql/endpoint.ts';
import { assessFollow, readReplicationFacts as readMysqlFacts, type ReplicationFacts } from '../engines/mysql/replication-prereq.ts';
import { replicaDialect } from '../engines/mysql/replication-sql.ts';
import { probeSourceFromStack } from '../engines/mysql/follow.ts';
import { connectRedis } from '../engines/redis/connect.ts';
import { redisEndpointFromUrl } from '../engines/redis/endpoint.ts';
import { parseInfo, serverInfo, rdbVersionFor } from '../engines/redis/info.ts';
import { decideFollow } from '../engines/redis/follow-config.ts';
import { probeRedisSourceFromStack } from '../engines/redis/follow.ts';
import { connectPg, parsePgUrl } from '../engines/postgres/connect.ts';
import { assessPgFollow, readReplicationFacts as readPgFacts } from '../engines/postgres/replication-prereq.ts';
import { probePgFromStack } from './pg-probe.ts';
import { probeImageVersion } from './target-facts.ts';
import { followFromOf, fromBlockers, judgeRoute, type FollowReadiness, type Probe, type ReadinessOptions } from './follow-route.ts';

const SYSTEM_DBS = "('mysql', 'sys', 'information_schema', 'performance_schema')";

/**
 * The databases' size: the larger of the InnoDB tablespace files (real, grown with the data: MySQL 8's
 * INNODB_TABLESPACES, MariaDB's INNODB_SYS_TABLESPACES; needs PROCESS) and the tables' statistics (stale
 * after bulk writes until InnoDB recalculates them, cached up to a day on MySQL 8), so a later run's
 * size compares with a rehearsal's.
 */
async function mysqlBytes(pool: Pool, databases: readonly string[]): Promise<number> {
  const inDbs = databases.length ? `IN (${databases.map(() => '?').join(', ')})` : `NOT IN ${SYSTEM_DBS}`;
  const [rows] = await pool.query(`SELECT COALESCE(SUM(data_length + index_length), 0) AS b FROM information_schema.tables WHERE table_schema ${inDbs}`, [...databases]);
  const stats = Number((rows as Array<{ b: unknown }>)[0]?.b ?? 0);
  const like = databases.length ? databases.map(() => "NAME LIKE CONCAT(REPLACE(REPLACE(?, '_', '\\_'), '%', '\\%'), '/%')").join(' OR ') : "NAME LIKE '%/%' AND SUBSTRING_INDEX(NAME, '/', 1) NOT IN " + SYSTEM_DBS;
  for (const table of ['INNODB_TABLESPACES', 'INNODB_SYS_TABLESPACES']) {
    const files = await pool.query(`SELECT COALESCE(SUM(FILE_SIZE), 0) AS b FROM information_schema.${table} WHERE ${like}`, [...databases])
      .then(([r]) => Number((r as Array<{ b: unknown }>)[0]?.b ?? 0), () => undefined);
    if (files !== undefined) return Math.max(stats, files);
  }
  return stats;
}

/**
 * Whether the route will be tried: auto without followFrom stops at the route anyway, so the stack's image
 * is not started to ask its version (a container per store on every migrate start); the source's own
 * prerequisites are still read, they are the change the plan names first.
 */
const routed = (o: ReadinessOptions): boolean => o.mode === 'follow' || followFromOf(o.store) !== undefined;

/** Runs a probe where the service will stand (each of its external networks, else Docker's default). */
export type ProbeOn = (run: (network?: string) => Promise<Probe>) => Promise<Probe>;

/**
 * The stack's MySQL as preflight can know it before it runs: its image's version (MariaDB or MySQL), a
 * server_id follow will make distinct, gtid_mode OFF unless the service's command turns it on (a fresh
 * MySQL 8's default; MariaDB has no mode), the event scheduler as follow leaves it.
 */
export function assumedMysqlTarget(source: ReplicationFacts, imageVersion: string | undefined, command: string): ReplicationFacts {
  const dialect = imageVersion ? replicaDialect(imageVersion) : source.dialect;
  const gtidOn = /--gtid[-_]mode[= ]ON\b/i.test(command);
  return { ...source, version: imageVersion ?? source.version, dialect, serverId: source.serverId + 1, gtidMode: dialect === 'mariadb' ? '' : gtidOn ? 'ON' : 'OFF', eventScheduler: 'OFF' };
}

export async function mysqlReadiness(o: ReadinessOptions, probeOn: ProbeOn): Promise<FollowReadiness> {
  const id = o.store.id;
  const databases = (o.store.options as { databases?: readonly string[] }).databases;
  const src = mysqlEndpointFromUrl(o.store.source, { field: `stores[${id}].source`, redactor: o.redactor, databases });
  const pool = await connectMysql(src, { connections: 1 });
  let facts, bytes: number;
  try {
    facts = await readMysqlFacts(pool);
    bytes = await mysqlBytes(pool, src.databases);
  } finally { await pool.end().catch(() => undefined); }
  const image = o.stack.images[o.store.target.service];
  // The stack's server is judged by its image (it may not run yet): a distinct server_id is set by follow itself.
  const targetVersion = image && routed(o) ? await probeImageVersion(image, 'mysql') : undefined;
  const target = assumedMysqlTarget(facts, targetVersion, o.stack.commands?.[o.store.target.service] ?? '');
  const blocked = fromBlockers(id, assessFollow({ source: facts, target, start: facts.logBin ? { file: '(the export\'s)', position: 4 } : null, where: `${src.user}@${src.host}:${src.port}` }), bytes);
  if (blocked) return blocked;
  return judgeRoute({
    store: id, mode: o.mode, followFrom: followFromOf(o.store), source: src, bytes, what: `binary log ${facts.binlogFormat}, server_id ${facts.serverId}`,
    probe: (from) => (image ? probeOn((network) => probeSourceFromStack({ image, from, source: src, ...(network ? { network } : {}), ...(o.signal ? { signal: o.signal } : {}) })) : noImage(o.store)),
  });
}

export async function redisReadiness(o: ReadinessOptions, probeOn: ProbeOn): Promise<FollowReadiness> {
  const id = o.store.id;
  const src = redisEndpointFromUrl(o.store.source, { field: `stores[${id}].source`, redactor: o.redactor });
  const r = await connectRedis(src);
  let info;
  let bytes: number;
  try {
    info = await serverInfo(r);
    // The dataset alone: used_memory also counts the replication backlog and client buffers (a rehearsal's sync grows them).
    bytes = Number(parseInfo(await r.info('memory')).get('used_memory_dataset') ?? info.usedMemory) || info.usedMemory;
  } finally { r.disconnect(); }
  const image = o.stack.images[o.store.target.service];
  const tv = image && routed(o) ? await probeImageVersion(image, 'redis') : undefined;
  const d = decideFollow(info, tv ? { version: tv, rdbVersion: rdbVersionFor(tv) } : info);
  if (!d.follow) return { store: id, ready: false, why: d.reason, enable: d.hint, bytes };
  return judgeRoute({
    store: id, mode: o.mode, followFrom: followFromOf(o.store), source: src, bytes, what: tv ? d.reason : `Redis ${info.version}`,
    probe: (from) => (image ? probeOn((network) => probeRedisSourceFromStack({ image, from, ...(network ? { network } : {}), ...(o.signal ? { signal: o.signal } : {}) })) : noImage(o.store)),
  });
}

export async function postgresReadiness(o: ReadinessOptions, probeOn: ProbeOn): Promise<FollowReadiness> {
  const id = o.store.id;
  const src = parsePgUrl(o.store.source, `stores[${id}].source`);
  o.redactor.add(src.password);
  const c = await connectPg(src, { applicationName: 'ferry-preflight' });
  let facts, bytes: number;
  try {
    facts = await readPgFacts(c, `${src.host}:${src.port}`);
    bytes = Number((await c.query<{ b: string }>('SELECT pg_database_size(current_database())::text AS b')).rows[0]?.b ?? 0);
  } finally { await c.end().catch(() => undefined); }
  const blocked = fromBlockers(id, assessPgFollow(facts, undefined), bytes);
  if (blocked) return blocked;
  const image = o.stack.images[o.store.target.service];
  return judgeRoute({
    store: id, mode: o.mode, followFrom: followFromOf(o.store), source: src, bytes, what: `wal_level ${facts.walLevel}, every table has a replica identity`,
    probe: (from) => (image ? probeOn((network) => probePgFromStack({ image, from, ...(network ? { network } : {}), ...(o.signal ? { signal: o.signal } : {}) })) : noImage(o.store)),
  });
}

const noImage = async (s: ConfigStore): Promise<Probe> => ({
  ok: false, detail: `the compose project names no image for service ${s.target.service}, so reachability from the stack cannot be proven`,
  hint: `give service ${s.target.service} an image in the compose file`,
});
