/**
 * The source's state for resume refusal: keys without a TTL per database. Keys with TTLs (sessions,
 * sub-second flashes) come and go on their own and must not make a resume refuse.
 */
import { createHash } from 'node:crypto';
import { connectRedis } from './connect.ts';
import type { RedisEndpoint } from './endpoint.ts';
import { serverInfo } from './info.ts';

export async function redisSourceState(source: RedisEndpoint): Promise<string> {
  const r = await connectRedis(source, { name: 'ferry-state' });
  try {
    const info = await serverInfo(r);
    const persistent = [...info.keyspace].sort(([a], [b]) => a - b).map(([db, k]) => `db${db}:${k.keys - k.expires}`).join(',');
    return createHash('sha256').update(`${info.version}|${persistent}`).digest('hex').slice(0, 32);
  } finally { r.disconnect(); }
}
