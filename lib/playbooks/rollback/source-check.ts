/**
 * Step `rollback-source-check`: the source must still match the snapshot the freeze took before the
 * export (per table rows and CHECKSUM TABLE, object bodies, per db persistent Redis keys).
 */
import { defineStep } from '../../core/step.ts';
import { FerryError } from '../../core/errors.ts';
import type { Config } from '../../config/schema.ts';
import type { FerryContext } from '../../steps/context.ts';
import { compareSnapshots, readSourceSnapshot, takeSourceSnapshot } from '../../freeze/index.ts';

export default defineStep<Config, FerryContext>({
  id: 'rollback-source-check',
  title: 'Check the source still matches its pre-migration snapshot',
  async plan({ config }) {
    return { reads: [`${config.stateDir}/source-snapshot.json`, 'the source (COUNT, CHECKSUM TABLE, SCAN + DUMP)'], changes: [] };
  },
  async check({ config }) {
    const before = await readSourceSnapshot(config.stateDir);
    return { done: !before, reason: before ? `a snapshot of ${before.takenAt} exists` : 'no source snapshot: the freeze never ran, nothing was exported' };
  },
  async run({ ctx, config, log }) {
    const before = await readSourceSnapshot(config.stateDir);
    if (!before) {
      throw new FerryError('E_NO_SNAPSHOT', `no source snapshot in ${config.stateDir}`, { hint: 'the freeze step takes it: was the migration run with this state dir? Compare the source by hand' });
    }
    const diff = compareSnapshots(before, await takeSourceSnapshot(ctx));
    for (const d of diff) log.error(d);
    if (diff.length) {
      throw new FerryError('E_SOURCE_DIVERGED', `the source differs from its pre-migration snapshot (${diff.length} difference(s)); first: ${diff[0]}`, {
        hint: 'something wrote to the host services after the freeze: run rollback --with-data to copy the stack\'s data back, or restore from the export in <stateDir>/artifacts',
        detail: diff.join('\n'),
      });
    }
    log.info(`the source matches its snapshot of ${before.takenAt}`);
    return { data: { snapshotAt: before.takenAt, tables: Object.keys(before.mysql?.tables ?? {}).length, redisDbs: Object.keys(before.redis ?? {}).length } };
  },
});
