/**
 * Vedfolnir's preset: the keys ferry had before stores (`source.mysql`, `source.redis`, top-level
 * `mysql` and `redis`, `target.migrationPorts`) expand to the stores `mysql` and `redis`, held by the
 * compose services `mysql` and `redis` of ferry's own compose/ stack.
 */
import type { z } from 'zod';
import type { ConfigStore, configSchema } from './schema.ts';

type Parsed = z.output<typeof configSchema>;

/** The store ids (and services) the preset uses. */
export const PRESET_STORE_IDS = ['mysql', 'redis'] as const;

/** The keys the operator wrote in a preset section (the engine, not the config, supplies the defaults). */
function written(input: unknown, key: 'mysql' | 'redis'): Record<string, unknown> {
  const v = typeof input === 'object' && input !== null ? (input as Record<string, unknown>)[key] : undefined;
  return typeof v === 'object' && v !== null ? { ...(v as Record<string, unknown>) } : {};
}

/** `input`: the config as written, so a store's options carry only what the operator chose (validated by zod already). */
export function presetStores(c: Parsed, input: unknown = {}): ConfigStore[] {
  const out: ConfigStore[] = [];
  if (c.source.mysql) {
    out.push({
      id: 'mysql', engine: 'mysql', source: c.source.mysql.url, preset: true,
      target: { service: 'mysql', migrationPort: c.target.migrationPorts.mysql, containerPort: 3306 },
      options: { ...written(input, 'mysql'), ...(c.source.mysql.databases ? { databases: c.source.mysql.databases } : {}) },
    });
  }
  if (c.source.redis) {
    out.push({
      id: 'redis', engine: 'redis', source: c.source.redis.url, preset: true,
      target: { service: 'redis', migrationPort: c.target.migrationPorts.redis, containerPort: 6379 },
      options: { ...written(input, 'redis'), ...(c.source.redis.databases ? { databases: c.source.redis.databases } : {}) },
    });
  }
  return out;
}

/** True when the config uses the preset's keys (its defaults then stay Vedfolnir's). */
export function usesPreset(c: Parsed): boolean {
  return c.source.mysql !== undefined || c.source.redis !== undefined || c.stores.length === 0;
}
