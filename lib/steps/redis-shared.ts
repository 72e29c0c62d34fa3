/**
 * What the redis-* steps share: endpoints from the context (refused when missing), state paths under
 * `<stateDir>/redis/`, and the source fingerprint the runner compares before resuming.
 */
import { join } from 'node:path';
import type { StepParams } from '../core/step.ts';
import { FerryError } from '../core/errors.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext, RedisEndpoint } from './context.ts';

export type RedisStepParams = StepParams<Config, FerryContext>;

export function endpoints(p: RedisStepParams): { source: RedisEndpoint; target: RedisEndpoint } {
  const { source, target } = { source: p.ctx.source.redis, target: p.ctx.target.redis };
  if (!source || !target) {
    throw new FerryError('E_REDIS_CONFIG', `No Redis ${source ? 'target' : 'source'} endpoint in this run`, {
      hint: 'set source.redis.url in the config (and keep redis in target.dataServices), or drop the redis steps',
    });
  }
  return { source, target };
}

export const redisStateDir = (p: RedisStepParams): string => join(p.config.stateDir, 'redis');
export const copyStateFile = (p: RedisStepParams): string => join(redisStateDir(p), 'copy-progress.json');
export const importDoneFile = (p: RedisStepParams): string => join(redisStateDir(p), 'import.json');
export const rdbArtifact = (p: RedisStepParams): string => join(p.ctx.artifactsDir, 'redis', 'source.rdb');

/** The source's state (keys without a TTL per database): the engine's own fingerprint. */
export { redisSourceState } from '../engines/redis/source-state.ts';
