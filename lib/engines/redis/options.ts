/** A Redis store's options (`stores[].options`), defaults in one place. */
import { z } from 'zod';
import type { Store } from '../../core/engine.ts';
import { parseStoreOptions } from '../parse-options.ts';

/** Redis pauses expire on their own: long enough for a big import, short enough if ferry is gone. */
export const DEFAULT_REDIS_PAUSE_MS = 2 * 60 * 60 * 1000;

export const redisOptionsSchema = z.object({
  /** Logical databases to move; default: every database holding keys. */
  databases: z.array(z.number().int().min(0).max(15)).optional(),
  /** Copy path: chosen automatically, or forced. */
  path: z.enum(['auto', 'physical', 'dump', 'rewrite']).default('auto'),
  /** Flask-Session's prefix by default (the app-level verify reads sessions under it). */
  sessionPrefix: z.string().default('session:'),
  /** Replace keys a non-empty target already holds (refused otherwise). */
  replace: z.boolean().default(false),
  ttlToleranceMs: z.number().int().min(0).default(2000),
  /** How long the freeze's CLIENT PAUSE WRITE lasts if ferry is gone before lifting it. */
  pauseMs: z.number().int().min(1000).default(DEFAULT_REDIS_PAUSE_MS),
  /** Following: the source as the stack's container reaches it; default host.docker.internal for a loopback source. */
  followFrom: z.object({ host: z.string().min(1).optional(), port: z.number().int().min(1).max(65535).optional() }).strict().optional(),
}).strict();

export type RedisOptions = Readonly<z.output<typeof redisOptionsSchema>>;
export type RedisStore = Store<RedisOptions>;

export const parseRedisOptions = (raw: unknown, storeId: string): RedisOptions => parseStoreOptions(redisOptionsSchema, raw, storeId, 'redis');
