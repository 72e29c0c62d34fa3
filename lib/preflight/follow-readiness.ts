/**
 * Can each store follow its live source? Read-only, per engine: the server's own prerequisites (MySQL:
 * binary log, ROW format, server_id; Redis: an RDB version the stack's Redis reads; PostgreSQL:
 * wal_level=logical, replica identities, slots, privileges), then the route — the stack must reach the
 * source where `options.followFrom` says, proven from a throwaway container on the service's networks.
 * A store that cannot follow keeps the copy inside the freeze; `enable` is the one change that would let
 * it follow (ferry never restarts the host's server). The source's size feeds the downtime prediction.
 */
import type { Engine, EngineFinding } from '../core/engine.ts';
import type { ConfigStore } from '../config/schema.ts';
import type { SecretSink } from '../core/engine.ts';
import { connectMysql } from '../engines/mysql/connect.ts';
import { mysqlEndpointFromUrl } from '../engines/mysql/endpoint.ts';
import { assessFollow, readReplicationFacts as readMysqlFacts, type ReplicationFacts } from '../engines/mysql/replication-prereq.ts';
import { replicaDialect } from '../engines/mysql/replication-sql.ts';
import { probeSourceFromStack } from '../engines/mysql/follow.ts';
import { connectRedis } from '../engines/redis/connect.ts';
import { redisEndpointFromUrl } from '../engines/redis/endpoint.ts';
import { serverInfo, rdbVersionFor } from '../engines/redis/info.ts';
import { decideFollow } from '../engines/redis/follow-config.ts';
import { probeRedisSourceFromStack } from '../engines/redis/follow.ts';
import { connectPg, parsePgUrl } from '../engines/postgres/connect.ts';
import { assessPgFollow, readReplicationFacts as readPgFacts } from '../engines/postgres/replication-prereq.ts';
import { sourceFromTarget, type SourceFromTarget } from '../engines/follow-from.ts';
import { probePgFromStack } from './pg-probe.ts';
import { probeImageVersion } from './target-facts.ts';

/** One store's answer: whether it can follow, why, and (when it cannot) the one change that would let it. */
export interface FollowReadiness {
  readonly store: string;
  readonly ready: boolean;
  readonly why: string;
  readonly enable?: string;
  /** The source's size (bytes) when read: tables' data+index, Redis used memory, the database's size. */
  readonly bytes?: number;
  /** The source as the stack reaches it, when a route was proven. */
  readonly from?: SourceFromTarget;
}

/** What the readiness checks need of the stack (its compose configuration): images and networks by service. */
export interface StackView {
  readonly images: Readonly<Record<string, string>>;
  /** External networks a service joins (names as Docker knows them): the probe stands there. */
  readonly networks: Readonly<Record<string, readonly string[]>>;
  /** Each service's command as compose runs it (a stack MySQL started with --gtid-mode=ON says so there). */
  readonly commands?: Readonly<Record<string, string>>;
}

export interface ReadinessOptions {
  readonly store: ConfigStore;
  readonly engine: Engine | undefined;
  readonly mode: 'auto' | 'follow';
  readonly stack: StackView;
  readonly redactor: SecretSink;
  readonly signal?: AbortSignal;
}

type Probe = { ok: boolean; detail: string; hint?: string };

const FOLLOW_PHASES = ['follow', 'catchUp', 'promote'] as const;
const firstLine = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0]!;
const followFromOf = (s: ConfigStore): Partial<SourceFromTarget> | undefined => (s.options as { followFrom?: Partial<SourceFromTarget> }).followFrom;

/** The first blocker as a readiness (why, and its hint as the change to make), or undefined when none. */
export function fromBlockers(store: string, findings: readonly EngineFinding[], bytes?: number): FollowReadiness | undefined {
  const b = findings.find((f) => f.severity === 'blocker');
  if (!b) return undefined;
  return { store, ready: false, why: b.message, enable: b.hint, ...(bytes !== undefined ? { bytes } : {}) };
}

/**
 * The route, once the server could follow: auto needs `options.followFrom` (how the stack's containers
 * reach the source); given one (or in `follow` mode the default, host.docker.internal for a loopback
 * source), the probe must find the server answering there.
 */
export async function judgeRoute(o: {
  store: string; mode: 'auto' | 'follow'; followFrom: Partial<SourceFromTarget> | undefined; source: { host: string; port: number };
  bytes?: number; what: string; probe: (from: SourceFromTarget) => Promise<Probe>;
}): Promise<FollowReadiness> {
  const size = o.bytes !== undefined ? { bytes: o.bytes } : {};
  if (o.mode === 'auto' && o.followFrom === undefined) {
    return {
      store: o.store, ready: false, ...size, why: `${o.what} can follow, but the config does not say how the stack reaches the source (auto follows only stores with options.followFrom)`,
      enable: `add options.followFrom { host, port } to store ${o.store}: the source as the stack's containers reach it (host.docker.internal for a server on this machine, listening beyond 127.0.0.1), or set cutover.mode to follow`,
    };
  }
  const from = sourceFromTarget(o.source, o.followFrom);
  const p = await o.probe(from);
  if (!p.ok) return { store: o.store, ready: false, ...size, why: p.detail, enable: p.hint ?? `make ${from.host}:${from.port} reachable from the stack's containers` };
  return { store: o.store, ready: true, ...size, from, why: `${o.what}; ${p.detail}` };
}

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

async function mysqlReadiness(o: ReadinessOptions, probeOn: (run: (network?: string) => Promise<Probe>) => Promise<Probe>): Promise<FollowReadiness> {
  const id = o.store.id;
  const databases = (o.store.options as { databases?: readonly string[] }).databases;
  const src = mysqlEndpointFromUrl(o.store.source, { field: `stores[${id}].source`, redactor: o.redactor, databases });
  const pool = await connectMysql(src, { connections: 1 });
  let facts, bytes: number;
  try {
    facts = await readMysqlFacts(pool);
    const inDbs = src.databases.length ? `IN (${src.databases.map(() => '?').join(', ')})` : "NOT IN ('mysql', 'sys', 'information_schema', 'performance_schema')";
    const [rows] = await pool.query(`SELECT COALESCE(SUM(data_length + index_length), 0) AS b FROM information_schema.tables WHERE table_schema ${inDbs}`, [...src.databases]);
    bytes = Number((rows as Array<{ b: unknown }>)[0]?.b ?? 0);
  } finally { await pool.end().catch(() => undefined); }
  const image = o.stack.images[o.store.target.service];
  // The stack's server is judged by its image (it may not run yet): a distinct server_id is set by follow itself.
  const targetVersion = image ? await probeImageVersion(image, 'mysql') : undefined;
  const target = assumedMysqlTarget(facts, targetVersion, o.stack.commands?.[o.store.target.service] ?? '');
  const blocked = fromBlockers(id, assessFollow({ source: facts, target, start: facts.logBin ? { file: '(the export\'s)', position: 4 } : null, where: `${src.user}@${src.host}:${src.port}` }), bytes);
  if (blocked) return blocked;
  return judgeRoute({
    store: id, mode: o.mode, followFrom: followFromOf(o.store), source: src, bytes, what: `binary log ${facts.binlogFormat}, server_id ${facts.serverId}`,
    probe: (from) => (image ? probeOn((network) => probeSourceFromStack({ image, from, source: src, ...(network ? { network } : {}), ...(o.signal ? { signal: o.signal } : {}) })) : noImage(o.store)),
  });
}

async function redisReadiness(o: ReadinessOptions, probeOn: (run: (network?: string) => Promise<Probe>) => Promise<Probe>): Promise<FollowReadiness> {
  const id = o.store.id;
  const src = redisEndpointFromUrl(o.store.source, { field: `stores[${id}].source`, redactor: o.redactor });
  const r = await connectRedis(src);
  let info;
  try { info = await serverInfo(r); } finally { r.disconnect(); }
  const image = o.stack.images[o.store.target.service];
  const tv = image ? await probeImageVersion(image, 'redis') : undefined;
  const d = decideFollow(info, tv ? { version: tv, rdbVersion: rdbVersionFor(tv) } : info);
  if (!d.follow) return { store: id, ready: false, why: d.reason, enable: d.hint, bytes: info.usedMemory };
  return judgeRoute({
    store: id, mode: o.mode, followFrom: followFromOf(o.store), source: src, bytes: info.usedMemory, what: d.reason,
    probe: (from) => (image ? probeOn((network) => probeRedisSourceFromStack({ image, from, ...(network ? { network } : {}), ...(o.signal ? { signal: o.signal } : {}) })) : noImage(o.store)),
  });
}

async function postgresReadiness(o: ReadinessOptions, probeOn: (run: (network?: string) => Promise<Probe>) => Promise<Probe>): Promise<FollowReadiness> {
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

/**
 * Every store's readiness; a store whose check fails (source unreachable, refused login) cannot follow,
 * with the reason. `mode: freeze-copy` checks nothing.
 */
export async function assessFollowReadiness(o: Omit<ReadinessOptions, 'store' | 'engine'> & { stores: readonly { store: ConfigStore; engine: Engine | undefined }[] }): Promise<FollowReadiness[]> {
  const out: FollowReadiness[] = [];
  for (const s of o.stores) {
    const one: ReadinessOptions = { ...o, store: s.store, engine: s.engine };
    out.push(await readinessOf(one).catch((e: unknown) => ({
      store: s.store.id, ready: false, why: `its source could not be checked: ${o.redactor.redact(firstLine(e))}`,
      enable: 'make the source reachable with the config\'s URL and account, then run again',
    })));
  }
  return withFilesPasses(out, o.stores, o.mode);
}

/**
 * A files store has no replication: ferry carries it by a bulk copy before the freeze and a final pass
 * of what changed since inside it. That pays when the run has a follow phase anyway (another store
 * follows, or `follow` mode); otherwise its copy stays inside the freeze.
 */
function withFilesPasses(out: FollowReadiness[], stores: readonly { store: ConfigStore; engine: Engine | undefined }[], mode: 'auto' | 'follow'): FollowReadiness[] {
  const passes = (i: number) => stores[i]!.store.engine === 'files' && FOLLOW_PHASES.every((ph) => stores[i]!.engine?.phases.includes(ph));
  const others = out.some((r, i) => !passes(i) && r.ready);
  return out.map((r, i) => {
    if (!passes(i)) return r;
    return mode === 'follow' || others
      ? { store: r.store, ready: true, why: 'the tree is copied before the freeze; inside it the final pass copies only what changed since' }
      : { store: r.store, ready: false, why: 'no other store of the run follows: the tree is copied inside the freeze', enable: 'let a database store follow (options.followFrom), or set cutover.mode to follow' };
  });
}

async function readinessOf(o: ReadinessOptions): Promise<FollowReadiness> {
  const id = o.store.id;
  const follows = !!o.engine && FOLLOW_PHASES.every((ph) => typeof (o.engine as unknown as Record<string, unknown>)[ph] === 'function');
  // Files sit on this host: nothing to replicate, no route; following is the bulk copy first and a final pass in the freeze.
  if (follows && o.store.engine === 'files') return { store: id, ready: true, why: 'files: the bulk copy runs before the freeze, the final pass inside it copies only what changed since' };
  if (!follows) {
    return o.store.engine === 'files'
      ? { store: id, ready: false, why: 'files are copied inside the freeze: the final pass copies only what changed since the bulk copy', enable: 'nothing: a files store has no replication to follow' }
      : { store: id, ready: false, why: `the ${o.store.engine} engine cannot follow a live source yet`, enable: 'nothing in the config: this ferry version copies it inside the freeze' };
  }
  const networks = o.stack.networks[o.store.target.service] ?? [];
  // The probe stands where the service will: on each external network it joins (first answer wins), else Docker's default.
  const probeOn = async (run: (network?: string) => Promise<Probe>): Promise<Probe> => {
    if (!networks.length) return run(undefined);
    let last: Probe | undefined;
    for (const n of networks) { last = await run(n); if (last.ok) return last; }
    return last!;
  };
  switch (o.store.engine) {
    case 'mysql': return mysqlReadiness(o, probeOn);
    case 'redis': return redisReadiness(o, probeOn);
    case 'postgres': return postgresReadiness(o, probeOn);
    default: return { store: id, ready: false, why: `no follow check for the ${o.store.engine} engine`, enable: 'nothing in the config' };
  }
}
