/**
 * Step `freeze`: the write freeze for the final pass (writers stopped, MySQL read_only, Redis writes
 * paused, the source proven quiet). `undo` lifts it and restarts the writers.
 */
import { defineStep } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext } from './context.ts';
import { freezeSource, isFrozen, liftFreeze, readFreezeState } from '../freeze/index.ts';

export default defineStep<Config, FerryContext>({
  id: 'freeze',
  title: 'Freeze writes on the source and prove it quiet',
  async plan({ ctx, config }) {
    return {
      reads: ['binlog position and write counters', 'redis dirty counter and replication offset'],
      changes: [
        ...config.freeze.stopWriters.map((c) => `run \`${c}\``),
        ...(ctx.source.mysql ? [`SET GLOBAL read_only = ON on ${ctx.source.mysql.host}:${ctx.source.mysql.port}`] : []),
        ...(ctx.source.redis ? [`CLIENT PAUSE WRITE on ${ctx.source.redis.host}:${ctx.source.redis.port}`] : []),
      ],
      details: `then wait until the source is unchanged for ${config.freeze.quietSeconds}s`,
    };
  },
  async check({ ctx, config }) {
    const done = await isFrozen({ ctx, stateDir: config.stateDir });
    return { done, reason: done ? 'the source is frozen and was proven quiet' : 'the source is not frozen' };
  },
  async run({ ctx, config, signal, log }) {
    const s = await freezeSource({ ctx, stateDir: config.stateDir, stopWriters: config.freeze.stopWriters, quietSeconds: config.freeze.quietSeconds, signal, log });
    return { data: { frozenAt: s.frozenAt, quiet: s.quiet } };
  },
  async verify({ ctx, config }) {
    const ok = await isFrozen({ ctx, stateDir: config.stateDir });
    const s = await readFreezeState(config.stateDir);
    return { ok, findings: ok ? [] : [s ? 'the freeze was lifted or has expired' : 'no freeze is recorded'] };
  },
  async undo({ ctx, config, log }) {
    await liftFreeze({ ctx, stateDir: config.stateDir, restartWriters: true, startWriters: config.freeze.startWriters, log });
  },
});
