/**
 * Step `unfreeze`: the last step of every run that froze the source. Lifts read_only and the Redis
 * pause; after a cutover the writers live in the stack, so the host's writers are not started again.
 */
import { defineStep } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext } from './context.ts';
import { liftFreeze, readFreezeState } from '../freeze/index.ts';

export default defineStep<Config, FerryContext>({
  id: 'unfreeze',
  title: 'Lift the write freeze on the source',
  async plan({ config }) {
    const s = await readFreezeState(config.stateDir);
    return { reads: ['freeze.json'], changes: s ? ['lift read_only and the Redis pause'] : [], pending: s !== undefined };
  },
  async check({ config }) {
    const s = await readFreezeState(config.stateDir);
    return { done: s === undefined, reason: s ? 'a freeze is in effect' : 'nothing is frozen' };
  },
  async run({ ctx, config, log }) {
    const lifted = await liftFreeze({ ctx, stateDir: config.stateDir, restartWriters: ctx.mode !== 'migrate', startWriters: config.freeze.startWriters, log });
    return { data: { lifted } };
  },
  async verify({ config }) {
    const s = await readFreezeState(config.stateDir);
    return { ok: s === undefined, findings: s ? ['freeze.json still records a freeze'] : [] };
  },
});
