/**
 * The rehearsal's measure of what a following store costs inside migrate's freeze, taken without freezing:
 * `catch-up:<store>` runs the engine's own catch-up against the live source (it returns once the follower
 * holds the source's position — MySQL's end of binlog, PostgreSQL's `pg_current_wal_lsn()` pinned at its
 * start, Redis's master_repl_offset with equal keys per db; files: the final pass of what changed since
 * the bulk copy), and `promote:<store>` runs the engine's real promote against the throwaway follower
 * (replication stopped and reset, what the rehearsal created on the source removed). Same step ids as
 * migrate's, so the report's parts and the calibration line up. The catch-up runs twice and its second
 * run is the figure (see `run`); promote's figure is its step's timing.
 * A source too busy to be caught up while it keeps writing (no freeze here) is not a failure: the output
 * says `measured: false` (the prediction keeps its default). A promote the live source keeps behind (it
 * refuses a lagging target) is replaced by the same unfollow by force (`abortFollow`: replication stopped and
 * reset, the source cleaned; PostgreSQL's sequences are not set), timed on its own: `forced` and its `ms`.
 */
import { defineStep } from '../core/step.ts';
import { FerryError } from '../core/errors.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext, StoreBinding } from './context.ts';
import { bindingOf, describeSource, describeTarget, engineOf, engineParams, type StoreStepParams } from './store-params.ts';
import { cutoverOptionsOf } from './cutover-mode.ts';
import { storeCatchUpStep } from './store-catch-up.ts';
import { storePromoteStep } from './store-promote.ts';

/** Without a freeze a busy source may never stand still: the rehearsal waits at most this long (or the cutover budget, if shorter). */
export const REHEARSAL_CATCH_UP_MS = 20_000;

const codeOf = (e: unknown): string => (e instanceof FerryError ? e.code : String((e as { code?: unknown }).code ?? ''));
const lagging = (e: unknown) => /_PROMOTE_LAG$|^E_FOLLOW_BUDGET$/.test(codeOf(e));

export function rehearseCatchUpStep(b: Pick<StoreBinding, 'store' | 'engine'>) {
  const id = b.store.id;
  const budgetOf = (p: Pick<StoreStepParams, 'config'>) => Math.min(cutoverOptionsOf(p.config).budgetSeconds * 1000, REHEARSAL_CATCH_UP_MS);
  return defineStep<Config, FerryContext>({
    id: storeCatchUpStep.id(id),
    title: `Measure the catch-up of service ${b.store.target.service} with the live ${b.store.engine} store ${id} (not frozen)`,
    async plan(p) {
      return {
        reads: [describeSource(p, bindingOf(p, id)), describeTarget(bindingOf(p, id))], changes: [],
        details: `the engine's catch-up against the live source, at most ${budgetOf(p) / 1000} s: the figure migrate's freeze will wait for it`,
      };
    },
    async run(p) {
      // As migrate's freeze holds them (store-catch-up.ts): the measure includes no `docker exec` starting ahead beside it.
      p.ctx.tunnels?.hold();
      const e = engineOf(p, id, 'catchUp');
      const once = async () => {
        const t0 = performance.now();
        const s = await e.catchUp!(engineParams(p, id), budgetOf(p));
        return { s, ms: Math.round(performance.now() - t0) };
      };
      try {
        // Twice: the first meets what the pinned verify just did (a follower restarted, a source unpaused), which
        // migrate's freeze steps leave time to settle; the second is the figure (both are in the output).
        const first = await once();
        const second = await once().catch(() => first);
        return { data: { store: id, engine: b.store.engine, ...second.s, measured: true, firstMs: first.ms, ms: second.ms } };
      } catch (e) {
        if (codeOf(e) !== 'E_FOLLOW_BUDGET') throw e;
        p.log.warn(`${id}: the live source kept writing past ${budgetOf(p)} ms; its catch-up is not measured (the prediction keeps its default): ${(e as Error).message}`);
        return { data: { store: id, engine: b.store.engine, measured: false, reason: (e as Error).message } };
      }
    },
  });
}

export function rehearsePromoteStep(b: Pick<StoreBinding, 'store' | 'engine'>) {
  const id = b.store.id;
  return defineStep<Config, FerryContext>({
    id: storePromoteStep.id(id),
    title: `Measure the promote of service ${b.store.target.service} (stop following ${b.store.engine} store ${id}, remove what the rehearsal created on the source)`,
    async plan(p) {
      const bound = bindingOf(p, id);
      return { reads: [], changes: [`${describeTarget(bound)}: replication stopped and reset`, `${describeSource(p, bound)}: the rehearsal's replication account / user / slot removed`] };
    },
    async run(p) {
      const e = engineOf(p, id, 'promote');
      const params = engineParams(p, id);
      const t0 = performance.now();
      try {
        await e.promote!(params);
        return { data: { store: id, measured: true, ms: Math.round(performance.now() - t0) } };
      } catch (err) {
        // The live source wrote after the catch-up (no freeze holds it): the same unfollow, by force, is the figure.
        if (!lagging(err) || !e.abortFollow) throw err;
        p.log.info(`${id}: the live source kept writing (${(err as Error).message}); the follower is stopped by force, timed as its promote`);
        const t1 = performance.now();
        await e.abortFollow(params);
        return { data: { store: id, measured: true, forced: true, ms: Math.round(performance.now() - t1) } };
      }
    },
  });
}
