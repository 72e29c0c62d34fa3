/**
 * The Redis engine's DUMP path reads the source with EVAL, which CLIENT PAUSE WRITE blocks (a script
 * without `no-writes` flags may write). Around `redis-import` the pause is lowered — the writers stay
 * stopped and MySQL read-only — and put back afterwards, with freeze.json kept in step.
 */
import { defineStep, type StepParams } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext } from '../steps/context.ts';
import type { FerryStep } from '../steps/index.ts';
import { readFreezeState, writeFreezeState, withRedis, DEFAULT_REDIS_PAUSE_MS } from '../freeze/index.ts';

type P = StepParams<Config, FerryContext>;

async function setPause(p: P, paused: boolean): Promise<void> {
  const s = await readFreezeState(p.config.stateDir);
  const ep = p.ctx.source.redis;
  if (!s || s.redisPausedUntil === undefined || !ep) return;
  if (paused) {
    await withRedis(ep, (r) => r.call('CLIENT', 'PAUSE', String(DEFAULT_REDIS_PAUSE_MS), 'WRITE'));
    await writeFreezeState(p.config.stateDir, { ...s, redisPausedUntil: Date.now() + DEFAULT_REDIS_PAUSE_MS });
  } else {
    await withRedis(ep, (r) => r.call('CLIENT', 'UNPAUSE'));
    p.log.warn('redis: write pause lowered for the copy (the engine reads with EVAL); writers stay stopped');
  }
}

export function redisUnpausedDuring(step: FerryStep): FerryStep {
  return defineStep<Config, FerryContext>({
    ...step,
    async run(p) {
      await setPause(p, false);
      try {
        return await step.run(p);
      } finally {
        await setPause(p, true).catch((e: unknown) => p.log.error(`redis: could not pause writes again: ${(e as Error).message}`));
      }
    },
  });
}
