/**
 * rollback --with-data: the same engine steps, reversed. The stack's data services become the source
 * and the host's services the target; the reversed steps keep their state apart
 * (`<stateDir>/reverse/`), replace what the host holds, and get ids of their own (`reverse-…`).
 */
import { join } from 'node:path';
import { defineStep, type StepParams } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext } from '../steps/context.ts';
import type { FerryStep } from '../steps/index.ts';
import { deepFreeze } from '../config/index.ts';

export function reverseContext(ctx: FerryContext, stateDir: string): FerryContext {
  return Object.freeze({
    ...ctx,
    source: ctx.target,
    target: ctx.source,
    // The host's services cannot be stopped and started by ferry: no physical restore into them.
    services: {},
    artifactsDir: join(stateDir, 'reverse', 'artifacts'),
  });
}

export function reverseConfig(config: Config): Config {
  return deepFreeze({
    ...config,
    stateDir: join(config.stateDir, 'reverse'),
    redis: { ...config.redis, replace: true, path: config.redis.path === 'physical' ? 'auto' : config.redis.path },
  }) as Config;
}

export function reverseStep(step: FerryStep): FerryStep {
  const map = (p: StepParams<Config, FerryContext>): StepParams<Config, FerryContext> => ({
    ...p, ctx: reverseContext(p.ctx, p.config.stateDir), config: reverseConfig(p.config), stateDir: join(p.stateDir, 'reverse'),
    // The reversed import finds the reversed export's outputs under the id it knows.
    outputs: new Map([...p.outputs].filter(([id]) => id.startsWith('reverse-')).map(([id, o]) => [id.slice('reverse-'.length), o])),
  });
  return defineStep<Config, FerryContext>({
    id: `reverse-${step.id}`,
    title: `${step.title} (stack → host)`,
    plan: (p) => step.plan(map(p)),
    run: (p) => step.run(map(p)),
    ...(step.check ? { check: (p: StepParams<Config, FerryContext>) => step.check!(map(p)) } : {}),
    ...(step.verify ? { verify: (p: StepParams<Config, FerryContext>) => step.verify!(map(p)) } : {}),
    ...(step.undo ? { undo: (p: StepParams<Config, FerryContext>) => step.undo!(map(p)) } : {}),
    ...(step.fingerprint ? { fingerprint: (p: StepParams<Config, FerryContext>) => step.fingerprint!(map(p)) } : {}),
    ...(step.sourceState ? { sourceState: (p: StepParams<Config, FerryContext>) => step.sourceState!(map(p)) } : {}),
  });
}
