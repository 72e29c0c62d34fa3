/**
 * ferry's steps: one file per step (file name = id), the per-store step factories, and every
 * playbook's order (lib/steps/order.ts), generated from the app's stores.
 */
export type { FerryStep } from './types.ts';
export type { FerryContext, StoreBinding, PlaybookMode } from './context.ts';
export { migrateSteps, rehearseSteps, verifySteps, rollbackSteps, frozenStepIds, missingPhases, type StoreSpec } from './order.ts';
export { storeExportStep } from './store-export.ts';
export { storeImportStep } from './store-import.ts';
export { storeVerifyStep } from './store-verify.ts';
export { storeFreezeStep, freezeRecordOf } from './store-freeze.ts';
export { storeThawStep } from './store-thaw.ts';
export { storeReverseStep } from './store-reverse.ts';
export { storeStepId, engineParams, bindingOf, hasPhase, unavailable } from './store-params.ts';
export { thawOnFailure, thawAll } from './thaw-on-failure.ts';
export { freezeLoweredDuring } from './freeze-lowered.ts';
export { default as preflight } from './preflight.ts';
export { default as stopWriters } from './stop-writers.ts';
export { default as proveQuiet } from './prove-quiet.ts';
export { default as envTransform } from './env-transform.ts';
export { default as composePrepare } from './compose-prepare.ts';
export { default as composeDataUp } from './compose-data-up.ts';
export { default as composeCutover } from './compose-cutover.ts';
export { default as composePrecreate } from './compose-precreate.ts';
export { default as report } from './report.ts';
export { default as rollbackStopStack } from './rollback-stop-stack.ts';
export { default as rollbackRestoreEnv } from './rollback-restore-env.ts';
export { default as rollbackSourceCheck } from './rollback-source-check.ts';
export { default as rollbackRestartHost } from './rollback-restart-host.ts';
