/**
 * Preflight: what the target cannot hold. A source with module types (RedisJSON, RediSearch, …) the
 * target lacks is refused with the count of keys per type, before anything is written.
 */
import { FerryError } from '../../core/errors.ts';
import type { RedisEndpoint } from './endpoint.ts';
import { connectRedis, describeEndpoint } from './connect.ts';
import { serverInfo, type ServerInfo } from './info.ts';
import { scanBatches } from './scan.ts';
import { execOrThrow } from './rewrite.ts';

export const CORE_TYPES: ReadonlySet<string> = new Set(['string', 'list', 'set', 'zset', 'hash', 'stream']);

/** Module types on the source, counted per type, when the source has modules the target lacks. */
export async function assertModulesCovered(source: RedisEndpoint, target: RedisEndpoint, si: ServerInfo, ti: ServerInfo): Promise<void> {
  const missing = si.modules.filter((m) => !ti.modules.includes(m));
  if (!missing.length) return;
  const src = await connectRedis(source, { name: 'ferry-preflight' });
  const counts = new Map<string, number>();
  try {
    for (const db of si.keyspace.keys()) {
      await src.select(db);
      for await (const b of scanBatches(src)) {
        if (!b.keys.length) continue;
        const p = src.pipeline();
        for (const k of b.keys) p.type(k);
        for (const t of (await execOrThrow(p)).map(String)) if (!CORE_TYPES.has(t) && t !== 'none') counts.set(t, (counts.get(t) ?? 0) + 1);
      }
    }
  } finally { src.disconnect(); }
  if (!counts.size) return;
  const what = [...counts].map(([t, n]) => `${n} keys of type ${t}`).join(', ');
  throw new FerryError('E_REDIS_MODULE_MISSING', `Target Redis at ${describeEndpoint(target)} lacks module(s) ${missing.join(', ')} for ${what}`, {
    hint: `load ${missing.join(', ')} in the target (e.g. the redis-stack image) or remove those keys from the source`,
  });
}

export { serverInfo };
