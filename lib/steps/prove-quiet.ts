/**
 * Step `prove-quiet`: after every store is frozen, sample each store's write activity (the engine's
 * `quietSample`) until all stay unchanged for `freeze.quietSeconds`, then record each store's
 * `sourceState` — the fingerprint rollback compares the source with ("did anything write after the
 * freeze?").
 *
 * When every store of the run follows the live source, the wait is skipped: each store's catch-up
 * (inside the same freeze) waits until the target holds the source's position taken after the freeze,
 * which proves by positions what the quiet wait proves by sampling. The fingerprints are still recorded.
 * A store copied inside the freeze (or one without a freeze) still needs the wait.
 */
import { defineStep } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext } from './context.ts';
import { proveQuiet } from '../freeze/quiet.ts';
import { engineParams, hasPhase, thawedAt, type StoreStepParams } from './store-params.ts';
import { cutoverOptionsOf, decideCutover } from './cutover-mode.ts';

/** The stores whose engines can be sampled (those without `quietSample` are proven by their freeze alone). */
function sampled(p: StoreStepParams) {
  return [...(p.ctx.stores?.values() ?? [])].filter((b) => b.engine?.quietSample !== undefined);
}

/**
 * Every store's source fingerprint, by store id in store order (stores whose engine is not registered are
 * left out). Read side by side: inside the freeze, one store's round trips overlap another's tree walk.
 */
export async function sourceStates(p: StoreStepParams): Promise<Record<string, string>> {
  const bound = [...(p.ctx.stores?.values() ?? [])].filter((b) => hasPhase(b, 'sourceState'));
  const states = await Promise.all(bound.map((b) => b.engine!.sourceState(engineParams(p, b.store.id))));
  return Object.fromEntries(bound.map((b, i) => [b.store.id, states[i]!]));
}

/** Every store of the run follows (at least one): its catch-up proves the target complete by positions. */
export function allFollow(p: Pick<StoreStepParams, 'ctx' | 'config'>): boolean {
  const stores = [...(p.ctx.stores?.values() ?? [])];
  const o = cutoverOptionsOf(p.config);
  return stores.length > 0 && stores.every((b) => decideCutover(b, o).how === 'follow');
}

const SKIP_REASON = 'no wait: every store follows, and its catch-up waits for the frozen source\'s final position';

export default defineStep<Config, FerryContext>({
  id: 'prove-quiet',
  title: 'Prove the frozen source quiet and fingerprint it',
  // A store thawed since (a failure lifted the freeze) is frozen again on resume: prove it quiet again.
  async fingerprint(p) {
    return (await Promise.all([...(p.ctx.stores?.keys() ?? [])].map(async (id) => `${id}@${await thawedAt(p, id)}`))).join(',');
  },
  async plan(p) {
    const ids = sampled(p).map((b) => b.store.id);
    if (allFollow(p)) return { reads: ids.map((id) => `${id}: source fingerprint`), changes: [], details: SKIP_REASON };
    return { reads: ids.map((id) => `${id}: write activity`), changes: [], details: `until nothing changes for ${p.config.freeze.quietSeconds}s` };
  },
  async run(p) {
    if (allFollow(p)) {
      p.log.info(SKIP_REASON);
      return { data: { quietSeconds: 0, skipped: SKIP_REASON, samples: {}, sourceStates: await sourceStates(p), at: new Date().toISOString() } };
    }
    const stores = sampled(p);
    const samples = await proveQuiet({
      seconds: p.config.freeze.quietSeconds,
      signal: p.signal,
      sample: async () => Object.fromEntries(await Promise.all(stores.map(async (b) => [b.store.id, await b.engine!.quietSample!(engineParams(p, b.store.id))] as const))),
    });
    p.log.info(`source quiet for ${p.config.freeze.quietSeconds}s (${stores.map((b) => b.store.id).join(', ') || 'no store to sample'})`);
    return { data: { quietSeconds: p.config.freeze.quietSeconds, samples, sourceStates: await sourceStates(p), at: new Date().toISOString() } };
  },
});
