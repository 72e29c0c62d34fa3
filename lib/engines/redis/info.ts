/**
 * What a Redis server is: version, the RDB format version it writes and reads, its modules and the
 * keys per logical database. The RDB version decides which copy path is possible.
 */
import type { Redis } from 'ioredis';

export interface ServerInfo {
  readonly version: string;
  /** RDB format this server writes (and the newest it can read). */
  readonly rdbVersion: number;
  readonly modules: readonly string[];
  /** keys per db, for databases holding keys. */
  readonly keyspace: ReadonlyMap<number, { keys: number; expires: number }>;
  readonly databases: number;
  readonly usedMemory: number;
  readonly aofEnabled: boolean;
}

/** [min version, RDB version], newest first: Redis's rdb.h RDB_VERSION by release. */
const RDB_VERSIONS: ReadonlyArray<readonly [string, number]> = [
  ['7.4.0', 12], ['7.2.0', 11], ['7.0.0', 10], ['5.0.0', 9], ['4.0.0', 8], ['3.2.0', 7], ['2.6.0', 6], ['0.0.0', 5],
];

/** RDB format version written by a Redis release (7.0 → 10, 7.2 → 11, 7.4 and 8.x → 12). */
export function rdbVersionFor(version: string): number {
  for (const [min, rdb] of RDB_VERSIONS) if (compareVersions(version, min) >= 0) return rdb;
  return 5;
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split('.').map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Parse `INFO` text into a flat field map. */
export function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out.set(line.slice(0, i), line.slice(i + 1));
  }
  return out;
}

/** Parse the `db0:keys=1,expires=0,avg_ttl=0` lines. */
export function parseKeyspace(fields: Map<string, string>): Map<number, { keys: number; expires: number }> {
  const out = new Map<number, { keys: number; expires: number }>();
  for (const [k, v] of fields) {
    const m = /^db(\d+)$/.exec(k);
    if (!m) continue;
    const kv = Object.fromEntries(v.split(',').map((p) => p.split('=') as [string, string]));
    out.set(Number(m[1]), { keys: Number(kv.keys ?? 0), expires: Number(kv.expires ?? 0) });
  }
  return out;
}

export async function serverInfo(redis: Redis): Promise<ServerInfo> {
  const fields = parseInfo(await redis.info('everything'));
  const version = fields.get('redis_version') ?? '0.0.0';
  let modules: string[] = [];
  try {
    const list = (await redis.call('MODULE', 'LIST')) as unknown[];
    modules = list.map((m) => {
      const arr = m as unknown[];
      const i = arr.findIndex((x) => String(x) === 'name');
      return String(arr[i + 1]);
    });
  } catch { /* MODULE may be disabled or not allowed to this user: treat as none */ }
  let databases = 16;
  try {
    const cfg = (await redis.config('GET', 'databases')) as string[];
    databases = Number(cfg[1] ?? 16) || 16;
  } catch { /* CONFIG may be renamed away; Redis's default */ }
  return {
    version,
    rdbVersion: rdbVersionFor(version),
    modules,
    keyspace: parseKeyspace(fields),
    databases,
    usedMemory: Number(fields.get('used_memory') ?? 0),
    aofEnabled: fields.get('aof_enabled') === '1',
  };
}
