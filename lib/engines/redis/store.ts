/**
 * A Redis store as the engine's phases see it: its endpoints (parsed from the store's URLs, passwords
 * registered with the redactor), the stack service it may stop for a physical placement, and where its
 * files live (`<artifactDir>/source.rdb` with its sidecar; markers under `<stateDir>`).
 */
import type { EngineParams, ServiceControl } from '../../core/engine.ts';
import { FerryError } from '../../core/errors.ts';
import { readJson } from '../read-json.ts';
import { redisEndpointFromUrl, type RedisEndpoint } from './endpoint.ts';
import type { RedisOptions } from './options.ts';

export type RedisParams = EngineParams<RedisOptions>;

/** The export: the source's RDB, and its sidecar (sha256, size, the source state it was taken at). */
export const RDB = 'source.rdb';
export interface Sidecar { readonly sha256: string; readonly bytes: number; readonly sourceState: string }

export const sourceOf = (p: RedisParams): RedisEndpoint =>
  redisEndpointFromUrl(p.store.source, { field: `stores[${p.store.id}].source`, redactor: p.redactor, databases: p.store.options.databases });

export function targetOf(p: RedisParams): RedisEndpoint {
  if (!p.targetUrl) {
    throw new FerryError('E_CONFIG', `store ${p.store.id}: no target Redis to reach yet`, {
      hint: `start the store's service (${p.store.target.service}) with its migration port first (the data services step)`,
    });
  }
  return redisEndpointFromUrl(p.targetUrl, { field: `stores[${p.store.id}].target`, redactor: p.redactor });
}

/** The physical path needs the service's data directory; without one the copy is logical. */
export function placeable(p: RedisParams): ServiceControl | undefined {
  const s = p.service;
  return s?.dataDir ? { dataDir: s.dataDir, stop: () => s.stop(), start: () => s.start() } : undefined;
}

export { readJson };
