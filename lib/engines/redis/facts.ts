/**
 * What preflight needs to know about a Redis store: the source's version, modules, keyspace, memory,
 * streams with consumer groups and hashes with field TTLs (Redis 7.4+), SCAN only, nothing changed;
 * and the target's version and modules.
 */
import { connectRedis } from './connect.ts';
import type { RedisEndpoint } from './endpoint.ts';
import { serverInfo } from './info.ts';
import { compareVersions, parseVersion } from './versions.ts';
import type { RedisTargetFacts } from './assess.ts';

export interface RedisFacts {
  readonly endpoint: string;
  readonly version: string;
  readonly modules: readonly string[];
  /** Key counts per logical database holding keys. */
  readonly keyspace: Readonly<Record<number, { keys: number; expires: number }>>;
  readonly usedMemory: number;
  readonly streams: number;
  readonly consumerGroups: number;
  readonly pendingEntries: number;
  /** Hashes whose encoding shows field TTLs (listpackex) or that report a field TTL. */
  readonly hashFieldTtlKeys: number;
}

/** Hashes inspected for field TTLs at most (the count is then a lower bound). */
export const HASH_TTL_SAMPLE = 20_000;

export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** The source's facts; connection failures are FerryErrors naming host:port and the ACL user (connect.ts). */
export async function gatherRedisFacts(ep: RedisEndpoint, signal?: AbortSignal): Promise<RedisFacts> {
  const where = `${ep.host}:${ep.port}`;
  const r = await connectRedis(ep, { name: 'ferry-facts' });
  try {
    const info = parseInfo(await r.info());
    const version = info.redis_version ?? '0.0.0';
    const modules = await (r.call('MODULE', 'LIST') as Promise<unknown[]>)
      .then((list) => list.map((m) => String((m as unknown[])[1])))
      .catch(() => [] as string[]);
    const keyspace: Record<number, { keys: number; expires: number }> = {};
    for (const [k, v] of Object.entries(info)) {
      const m = /^db(\d+)$/.exec(k);
      if (!m) continue;
      const kv = Object.fromEntries(v.split(',').map((p) => p.split('=') as [string, string]));
      keyspace[Number(m[1])] = { keys: Number(kv.keys ?? 0), expires: Number(kv.expires ?? 0) };
    }
    const dbs = ep.databases.length ? ep.databases.filter((d) => keyspace[d]) : Object.keys(keyspace).map(Number);
    let streams = 0, consumerGroups = 0, pendingEntries = 0, hashFieldTtlKeys = 0, hashesSeen = 0;
    const hfe = compareVersions(parseVersion(version) ?? { major: 0, minor: 0, patch: 0 }, { major: 7, minor: 4, patch: 0 }) >= 0;
    for (const db of dbs) {
      await r.select(db);
      for await (const keys of r.scanBufferStream({ type: 'stream', count: 1000 }) as AsyncIterable<Buffer[]>) {
        if (signal?.aborted) throw signal.reason;
        for (const key of keys) {
          streams++;
          const groups = (await r.xinfo('GROUPS', key)) as unknown[][];
          for (const g of groups) {
            consumerGroups++;
            const i = g.indexOf('pending');
            pendingEntries += Number(g[i + 1] ?? 0);
          }
        }
      }
      if (!hfe) continue;
      for await (const keys of r.scanBufferStream({ type: 'hash', count: 1000 }) as AsyncIterable<Buffer[]>) {
        if (signal?.aborted) throw signal.reason;
        for (const key of keys) {
          if (++hashesSeen > HASH_TTL_SAMPLE) break;
          const enc = String(await r.object('ENCODING', key));
          if (enc === 'listpackex') { hashFieldTtlKeys++; continue; }
          if (enc !== 'hashtable') continue;
          const field = (await r.hrandfieldBuffer(key)) as Buffer | null;
          if (field && ((await r.call('HTTL', key, 'FIELDS', '1', field)) as number[])[0]! >= 0) hashFieldTtlKeys++;
        }
      }
    }
    return { endpoint: where, version, modules, keyspace, usedMemory: Number(info.used_memory ?? 0), streams, consumerGroups, pendingEntries, hashFieldTtlKeys };
  } finally {
    r.disconnect();
  }
}

/** The target's version and modules, asked of the running server. */
export async function gatherRedisTargetFacts(ep: RedisEndpoint): Promise<RedisTargetFacts> {
  const r = await connectRedis(ep, { name: 'ferry-facts' });
  try {
    const info = await serverInfo(r);
    return { version: info.version, modules: info.modules };
  } finally {
    r.disconnect();
  }
}
