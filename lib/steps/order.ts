/**
 * Every playbook's order, in one place, generated from the app's stores: each store gets its own
 * `export:<id>`, `import:<id>`, `verify:<id>` (and `freeze:<id>`/`thaw:<id>` when its engine has them),
 * each a journal entry of its own, in the order the stores are declared. A phase a store's engine lacks
 * is said in the plan ("freeze: not available for files yet"); a required phase of an engine that is
 * not registered yet is a step whose plan says so and whose run refuses.
 *
 * migrate:   preflight → env-transform → compose-prepare → compose-data-up → stop-writers → freeze:* → prove-quiet →
 *            export:* → import:* → verify:* → compose-cutover → thaw:* (last frozen first) → report
 *   (the stack's data services start before the freeze: none of those three steps reads an export, their start-up
 *   is out of the downtime, and a MySQL or PostgreSQL export streams its chunks into the running target:
 *   lib/engines/mysql/store-export.ts, lib/engines/postgres/stream.ts)
 *   with stores that follow (config `cutover`, lib/steps/cutover-mode.ts), the freeze waits only for their last changes:
 *            preflight → export:F → env-transform → compose-prepare → compose-data-up → import:F → unpublish:F → follow:F →
 *            verify-pinned:F → compose-precreate → stop-writers → freeze:* → prove-quiet → export:C → import:C → verify:C →
 *            catch-up:F → promote:F → compose-cutover → thaw:* → report   (F: following stores, C: copied ones)
 * rehearse:  the same without stop-writers, the freeze and thaw, into a throwaway stack; following stores follow the live
 *            source too, and their catch-up and promote are measured against it (rehearseSteps)
 * verify:    verify:* → report
 * rollback:  rollback-stop-stack → rollback-restore-env → rollback-source-check → rollback-restart-host → report
 *   --with-data: compose-data-up → thaw:* → reverse:* → rollback-stop-stack → rollback-restore-env → rollback-restart-host → report
 */
import type { StoreBinding } from './context.ts';
import type { FerryStep } from './types.ts';
import { hasPhase, unavailable } from './store-params.ts';
import { storeExportStep } from './store-export.ts';
import { storeImportStep } from './store-import.ts';
import { storeVerifyStep } from './store-verify.ts';
import { storeFreezeStep } from './store-freeze.ts';
import { storeThawStep } from './store-thaw.ts';
import { storeReverseStep } from './store-reverse.ts';
import { thawOnFailure } from './thaw-on-failure.ts';
import { freezeLoweredDuring } from './freeze-lowered.ts';
import preflight from './preflight.ts';
import stopWriters from './stop-writers.ts';
import proveQuiet from './prove-quiet.ts';
import envTransform from './env-transform.ts';
import composePrepare from './compose-prepare.ts';
import composeDataUp from './compose-data-up.ts';
import composeCutover from './compose-cutover.ts';
import composePrecreate from './compose-precreate.ts';
import report from './report.ts';
import rollbackStopStack from './rollback-stop-stack.ts';
import rollbackRestoreEnv from './rollback-restore-env.ts';
import rollbackSourceCheck from './rollback-source-check.ts';
import rollbackRestartHost from './rollback-restart-host.ts';
import { defineStep } from '../core/step.ts';
import { storeFollowStep } from './store-follow.ts';
import { storeLiveExportStep } from './store-export-live.ts';
import { storeVerifyPinnedStep } from './store-verify-pinned.ts';
import { storeCatchUpStep } from './store-catch-up.ts';
import { storePromoteStep } from './store-promote.ts';
import { storeUnpublishStep } from './store-unpublish.ts';
import { decideCutover, DEFAULT_CUTOVER, type CutoverOptions } from './cutover-mode.ts';
import { rehearseCatchUpStep, rehearsePromoteStep } from './rehearse-follow.ts';

/** A store as the order needs it: what it is and which engine (if any) moves it. */
export type StoreSpec = Pick<StoreBinding, 'store' | 'engine'>;

const each = (stores: readonly StoreSpec[], make: (s: StoreSpec) => FerryStep, phase?: 'freeze' | 'thaw' | 'reverse') =>
  stores.filter((s) => phase === undefined || hasPhase(s, phase)).map(make);

/** One line per store and phase its engine lacks, for the plan of the step that stands in for it. */
export function missingPhases(stores: readonly StoreSpec[], phases: readonly ('freeze' | 'thaw' | 'reverse' | 'follow')[]): string[] {
  return stores.flatMap((s) => phases.filter((ph) => !hasPhase(s, ph)).map((ph) => `${s.store.id}: ${unavailable(ph, s.store.engine)}`));
}

/** A step whose plan also lists what the stores' engines cannot do in this playbook. */
function noting(step: FerryStep, notes: readonly string[]): FerryStep {
  if (!notes.length) return step;
  return defineStep({
    ...step,
    async plan(p) {
      const e = await step.plan(p);
      return { ...e, details: [e.details, ...notes].filter(Boolean).join('\n') };
    },
  });
}

/** Redis's rewrite path reads the source with EVAL, which its freeze (CLIENT PAUSE WRITE) holds back. */
const readsThroughFreeze = (s: StoreSpec) => s.store.engine === 'redis';

/** Redis's import reads through the freeze (see readsThroughFreeze). */
const importStep = (s: StoreSpec) => (readsThroughFreeze(s) ? freezeLoweredDuring(storeImportStep(s), s.store.id) : storeImportStep(s));

/**
 * `cutover` decides which stores follow the live source (default: none, today's copy inside the freeze;
 * the playbook passes the config's). With a store that follows, its export, import, follow and pinned
 * verify run before the freeze; inside it only its catch-up (budgeted) and promote.
 */
export function migrateSteps(stores: readonly StoreSpec[], cutover: CutoverOptions = DEFAULT_CUTOVER): FerryStep[] {
  const follows = stores.filter((s) => decideCutover(s, cutover).how === 'follow');
  if (follows.length) return followingMigrateSteps(stores, follows, cutover);
  const frozen: FerryStep[] = [...each(stores, storeExportStep), ...stores.map(importStep), ...each(stores, storeVerifyStep), composeCutover as FerryStep];
  // The target is up before the freeze: its start-up is out of the downtime, and an export may stream into it.
  return [preflight as FerryStep, ...stackUp(), ...freezeWindow(stores, frozen)];
}

/** env-transform → compose-prepare → compose-data-up: none reads an export's output. */
const stackUp = (): FerryStep[] => [envTransform as FerryStep, composePrepare as FerryStep, composeDataUp as FerryStep];

/** stop-writers → freeze:* → prove-quiet → `inside` (each thawing on failure) → thaw:* → report. */
function freezeWindow(stores: readonly StoreSpec[], inside: readonly FerryStep[]): FerryStep[] {
  return [
    stopWriters as FerryStep,
    ...each(stores, storeFreezeStep, 'freeze').map(thawOnFailure),
    noting(thawOnFailure(proveQuiet as FerryStep), missingPhases(stores, ['freeze'])),
    ...inside.map(thawOnFailure),
    // Last frozen, first thawed: two stores of one server each recorded the state the other left.
    ...each(stores, storeThawStep, 'thaw').reverse(),
    report as FerryStep,
  ];
}

function followingMigrateSteps(stores: readonly StoreSpec[], follows: readonly StoreSpec[], cutover: CutoverOptions): FerryStep[] {
  const copied = stores.filter((s) => !follows.includes(s));
  const inside: FerryStep[] = [
    ...each(copied, storeExportStep), ...copied.map(importStep), ...each(copied, storeVerifyStep),
    ...each(follows, storeCatchUpStep), ...each(follows, storePromoteStep), composeCutover as FerryStep,
  ];
  return [
    // preflight's plan says per store what it does, why, and the predicted downtime (lib/steps/preflight.ts).
    preflight as FerryStep,
    ...each(follows, storeLiveExportStep), envTransform as FerryStep, composePrepare as FerryStep, composeDataUp as FerryStep,
    // Each following store's service loses its migration port now (ferry reaches it by docker exec), not at cutover inside the freeze.
    ...follows.map(importStep), ...each(follows, storeUnpublishStep), ...each(follows, storeFollowStep), ...each(follows, storeVerifyPinnedStep),
    // The app's containers exist before the freeze: inside it compose-cutover only starts them.
    composePrecreate as FerryStep,
    ...freezeWindow(stores, inside),
  ];
}

/**
 * The rehearsal runs what migrate will run, into a throwaway stack, without the freeze: with stores that
 * follow (`cutover`), they follow the live source too (their own replication objects, named after the
 * rehearsal's project), are verified at a pinned point, and the catch-up and promote migrate will run
 * inside its freeze are measured against the live source (lib/steps/rehearse-follow.ts); their services
 * are handed over before (unpublish), so compose-cutover starts only the app's services, as migrate's will.
 */
export function rehearseSteps(stores: readonly StoreSpec[], cutover: CutoverOptions = DEFAULT_CUTOVER): FerryStep[] {
  const follows = stores.filter((s) => decideCutover(s, cutover).how === 'follow');
  if (follows.length) {
    const copied = stores.filter((s) => !follows.includes(s));
    return [
      preflight as FerryStep,
      ...each(follows, storeLiveExportStep), envTransform as FerryStep, composePrepare as FerryStep, composeDataUp as FerryStep,
      ...follows.map(storeImportStep), ...each(follows, storeUnpublishStep), ...each(follows, storeFollowStep), ...each(follows, storeVerifyPinnedStep),
      ...each(copied, storeExportStep), ...each(copied, storeImportStep), ...each(copied, storeVerifyStep), composePrecreate as FerryStep,
      ...each(follows, rehearseCatchUpStep), ...each(follows, rehearsePromoteStep), composeCutover as FerryStep, report as FerryStep,
    ];
  }
  return [
    preflight as FerryStep, ...stackUp(), ...each(stores, storeExportStep),
    ...each(stores, storeImportStep), ...each(stores, storeVerifyStep), composeCutover as FerryStep, report as FerryStep,
  ];
}

export function verifySteps(stores: readonly StoreSpec[]): FerryStep[] {
  return [...each(stores, storeVerifyStep), report as FerryStep];
}

export function rollbackSteps(stores: readonly StoreSpec[], withData: boolean): FerryStep[] {
  if (!withData) {
    return [rollbackStopStack, rollbackRestoreEnv, rollbackSourceCheck, noting(rollbackRestartHost as FerryStep, missingPhases(stores, ['thaw'])), report] as FerryStep[];
  }
  // The host accepts writes again (writers stay stopped) before the stack's data is copied back.
  return [
    composeDataUp as FerryStep, ...each(stores, storeThawStep, 'thaw').reverse(), ...each(stores, storeReverseStep, 'reverse'),
    rollbackStopStack, rollbackRestoreEnv, noting(rollbackRestartHost as FerryStep, missingPhases(stores, ['reverse'])), report,
  ] as FerryStep[];
}

/** Step ids inside the write freeze of `migrate` (they thaw on failure). */
export function frozenStepIds(stores: readonly StoreSpec[]): string[] {
  const steps = migrateSteps(stores);
  const from = steps.findIndex((s) => s.id === 'stop-writers');
  const to = steps.findIndex((s) => s.id.startsWith('thaw:') || s.id === 'report');
  return steps.slice(from + 1, to).map((s) => s.id);
}
