/**
 * `catch-up:<store>` (inside the freeze): wait until the target holds everything the frozen source wrote,
 * within `cutover.budgetSeconds`. Over budget the engine throws `E_FOLLOW_BUDGET` and changes nothing; the
 * order wraps this step in thaw-on-failure, so the freeze is lifted, the app stays on the host, the target
 * keeps following, and running migrate again retries. The engines' catch-up ends with their bounded final
 * check (applier threads clean at the frozen position; Redis keys per db equal), so no full verify runs
 * inside the freeze.
 */
import { defineStep } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext, StoreBinding } from './context.ts';
import { bindingOf, describeTarget, engineOf, engineParams, storeStepId } from './store-params.ts';
import { cutoverOptionsOf } from './cutover-mode.ts';

export function storeCatchUpStep(b: Pick<StoreBinding, 'store' | 'engine'>) {
  const id = b.store.id;
  return defineStep<Config, FerryContext>({
    id: storeCatchUpStep.id(id),
    title: `Let service ${b.store.target.service} catch up with the frozen ${b.store.engine} store ${id}`,
    async plan(p) {
      const budget = cutoverOptionsOf(p.config).budgetSeconds;
      if (b.store.engine === 'files') return { reads: [describeTarget(bindingOf(p, id))], changes: [describeTarget(bindingOf(p, id))], details: `the final pass: only what changed since the bulk copy is copied (or removed), at most ${budget} s; over budget the freeze is lifted and the app stays on the host` };
      return { reads: [describeTarget(bindingOf(p, id))], changes: [], details: `waits at most ${budget} s; over budget the freeze is lifted and the app stays on the host` };
    },
    async run(p) {
      // From here to the thaw the exec tunnels start no `docker exec` ahead: catch-up and promote take the spares started before.
      p.ctx.tunnels?.hold();
      const budgetMs = cutoverOptionsOf(p.config).budgetSeconds * 1000;
      const t0 = performance.now();
      const s = await engineOf(p, id, 'catchUp').catchUp!(engineParams(p, id), budgetMs);
      return { data: { store: id, engine: b.store.engine, ...s, budgetMs, ms: Math.round(performance.now() - t0) } };
    },
  });
}
storeCatchUpStep.id = (storeId: string) => storeStepId('catch-up', storeId);
