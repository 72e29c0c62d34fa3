/**
 * Step `rollback-restart-host`: lift any freeze still recorded and start the host's writers again
 * (freeze.startWriters: `brew services start vedfolnir`…). Safe to repeat.
 */
import { defineStep } from '../../core/step.ts';
import type { Config } from '../../config/schema.ts';
import type { FerryContext } from '../../steps/context.ts';
import { liftFreeze, readFreezeState, runCommands, withMysql, mysqlReadOnly } from '../../freeze/index.ts';

export default defineStep<Config, FerryContext>({
  id: 'rollback-restart-host',
  title: 'Lift the freeze and restart the host services',
  async plan({ config }) {
    const s = await readFreezeState(config.stateDir);
    return { reads: ['freeze.json'], changes: [...(s ? ['lift the write freeze'] : []), ...config.freeze.startWriters.map((c) => `run \`${c}\``)] };
  },
  async run({ ctx, config, log }) {
    const lifted = await liftFreeze({ ctx, stateDir: config.stateDir, restartWriters: false, startWriters: [], log });
    await runCommands(config.freeze.startWriters, 'startWriters');
    for (const c of config.freeze.startWriters) log.info(`ran \`${c}\``);
    return { data: { lifted, started: config.freeze.startWriters } };
  },
  async verify({ ctx, config }) {
    const findings: string[] = [];
    if (await readFreezeState(config.stateDir)) findings.push('freeze.json still records a freeze');
    const m = ctx.source.mysql;
    if (m && (await withMysql(m, mysqlReadOnly))) findings.push(`mysql ${m.host}:${m.port} is still read_only`);
    return { ok: findings.length === 0, findings };
  },
});
