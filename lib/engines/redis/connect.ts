/**
 * Connections to a Redis endpoint through ioredis, failing fast with errors that name host:port and the
 * ACL user (never the password) and say what to do.
 */
import { createConnection, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { FerryError } from '../../core/errors.ts';
import type { RedisEndpoint } from './endpoint.ts';

/** host:port (user), the way every redis error names an endpoint. */
export function describeEndpoint(ep: Pick<RedisEndpoint, 'host' | 'port' | 'username'>): string {
  return `${ep.host}:${ep.port}${ep.username ? ` (user ${ep.username})` : ''}`;
}

export interface ConnectOptions {
  /** Logical database to select. */
  readonly db?: number;
  /** Connection name shown by CLIENT LIST. */
  readonly name?: string;
  readonly connectTimeoutMs?: number;
}

/** Open a connection and prove it with PING; throws E_REDIS_AUTH / E_REDIS_CONNECT. */
export async function connectRedis(ep: RedisEndpoint, opts: ConnectOptions = {}): Promise<Redis> {
  const redis = new Redis({
    host: ep.host,
    port: ep.port,
    ...(ep.username ? { username: ep.username } : {}),
    ...(ep.password ? { password: ep.password } : {}),
    db: opts.db ?? 0,
    connectionName: opts.name ?? 'ferry',
    lazyConnect: true,
    enableReadyCheck: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: opts.connectTimeoutMs ?? 10_000,
    enableOfflineQueue: false,
  });
  // ioredis reports AUTH failures as an 'error' event and rejects connect() with "Connection is closed".
  let lastError: unknown;
  const onError = (e: unknown) => { lastError = e; };
  redis.on('error', onError);
  try {
    await redis.connect();
    await redis.ping();
    return redis;
  } catch (e) {
    redis.disconnect();
    throw toRedisError(lastError ?? e, ep);
  }
}

/** Run `fn` on one connection to `ep` (with its error listener), disconnected afterwards. */
export async function withRedis<T>(ep: RedisEndpoint, fn: (r: Redis) => Promise<T>, opts: ConnectOptions = {}): Promise<T> {
  const r = await connectRedis(ep, { name: 'ferry', ...opts });
  try { return await fn(r); } finally { r.disconnect(); }
}

/**
 * A plain TCP connection for the engine's lean RESP paths (the DUMP pipe, the RDB fetch over SYNC),
 * which speak RESP themselves (AUTH included); failures are FerryErrors naming the endpoint.
 */
export async function connectSocket(ep: RedisEndpoint, connectTimeoutMs = 10_000): Promise<Socket> {
  const sock = createConnection({ host: ep.host, port: ep.port });
  try {
    await new Promise<void>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`connect timeout after ${connectTimeoutMs} ms`)), connectTimeoutMs);
      sock.once('connect', () => { clearTimeout(timer); sock.off('error', rej); res(); });
      sock.once('error', (e) => { clearTimeout(timer); rej(e); });
    });
  } catch (e) {
    sock.destroy();
    throw toRedisError(e, ep);
  }
  sock.setNoDelay(true);
  return sock;
}

/** Map a connection or AUTH failure to a FerryError naming the endpoint. */
export function toRedisError(e: unknown, ep: RedisEndpoint): FerryError {
  const msg = e instanceof Error ? e.message : String(e);
  const where = describeEndpoint(ep);
  if (/WRONGPASS|invalid password|invalid username-password/i.test(msg)) {
    return new FerryError('E_REDIS_AUTH', `Redis at ${where} refused the credentials`, {
      hint: `check the password${ep.username ? ` and the ACL user \`${ep.username}\`` : ''} in the redis URL (or its \${ENV} reference)`,
      cause: e,
    });
  }
  if (/NOAUTH/i.test(msg)) {
    return new FerryError('E_REDIS_AUTH', `Redis at ${where} requires a password and none was given`, {
      hint: 'put the password in the redis URL (redis://:${REDIS_PASSWORD}@host:port)', cause: e,
    });
  }
  if (/NOPERM/i.test(msg)) {
    return new FerryError('E_REDIS_PERMISSION', `Redis ACL user at ${where} lacks a permission: ${msg.split('\n')[0]}`, {
      hint: 'grant the user +@all ~* (or at least +@read +@write +@keyspace +sync +dump +restore) for the migration', cause: e,
    });
  }
  return new FerryError('E_REDIS_CONNECT', `Cannot reach Redis at ${where}: ${msg.split('\n')[0]}`, {
    hint: 'check that the server runs and listens on that host and port (brew services list / docker compose ps)', cause: e,
  });
}
