/**
 * Where a Redis store is: a server, the ACL user and password, and the logical databases that make up
 * the store. Parsed from the store's URL (`${ENV}` references already resolved by the config layer).
 */
import type { SecretSink } from '../../core/engine.ts';
import { hostOf, parseUrl } from '../store-url.ts';

export interface RedisEndpoint {
  readonly host: string;
  readonly port: number;
  readonly username?: string;
  readonly password?: string;
  /** Logical databases to move (source); empty means every database holding keys. */
  readonly databases: readonly number[];
}

/** `redis://[user]:pw@host:port[/db]` → RedisEndpoint; `databases` (the store's option) overrides the URL's db. */
export function redisEndpointFromUrl(raw: string, o: { field: string; redactor?: SecretSink; databases?: readonly number[] | undefined }): RedisEndpoint {
  const url = parseUrl(raw, o.field, ['redis:', 'rediss:'], o.redactor);
  const dbPath = url.pathname.replace(/^\//, '');
  const username = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  return Object.freeze({
    host: hostOf(url),
    port: url.port ? Number(url.port) : 6379,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    databases: Object.freeze([...(o.databases?.length ? o.databases : /^\d+$/.test(dbPath) ? [Number(dbPath)] : [])]),
  });
}
