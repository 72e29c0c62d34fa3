/**
 * Step `rollback-source-check`: every store's source must still be as the migration's `prove-quiet`
 * fingerprinted it, right after the freeze (the engine's `sourceState`: binlog position or checksums,
 * persistent keys…). A difference means something wrote to the host after the freeze.
 */
import { defineStep } from '../core/step.ts';
import { FerryError } from '../core/errors.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext } from './context.ts';
import { readJournalOutputs } from '../journal/index.ts';
import { sourceStates } from './prove-quiet.ts';

async function recorded(stateDir: string): Promise<{ at: string; states: Record<string, string> } | undefined> {
  const data = (await readJournalOutputs(stateDir, 'migrate').catch(() => new Map())).get('prove-quiet')?.data;
  return data?.sourceStates ? { at: String(data.at), states: data.sourceStates as Record<string, string> } : undefined;
}

export default defineStep<Config, FerryContext>({
  id: 'rollback-source-check',
  title: 'Check every store\'s source still matches its fingerprint from the freeze',
  async plan({ config }) {
    return { reads: [`the migrate journal in ${config.stateDir} (prove-quiet)`, 'each store\'s source fingerprint'], changes: [] };
  },
  async check({ config }) {
    const before = await recorded(config.stateDir);
    return { done: !before, reason: before ? `fingerprints of ${before.at} exist` : 'no fingerprint: the freeze never completed, nothing was exported under it' };
  },
  async run(p) {
    const before = await recorded(p.config.stateDir);
    if (!before) {
      throw new FerryError('E_NO_SNAPSHOT', `no source fingerprint in ${p.config.stateDir}`, { hint: 'prove-quiet records it: was the migration run with this state dir? Compare the source by hand' });
    }
    const now = await sourceStates(p);
    const diff = Object.entries(before.states).filter(([id, s]) => now[id] !== undefined && now[id] !== s).map(([id]) => `store ${id}: the source changed since the freeze (${before.at})`);
    for (const d of diff) p.log.error(d);
    if (diff.length) {
      throw new FerryError('E_SOURCE_DIVERGED', `the source differs from its fingerprint at the freeze (${diff.length} store(s)); first: ${diff[0]}`, {
        hint: 'something wrote to the host services after the freeze: run rollback --with-data to copy the stack\'s data back, or restore from the export in <stateDir>/artifacts',
        detail: diff.join('\n'),
      });
    }
    p.log.info(`every store's source matches its fingerprint of ${before.at}`);
    return { data: { fingerprintedAt: before.at, stores: Object.keys(before.states) } };
  },
});
