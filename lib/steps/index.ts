/**
 * Each playbook's order of steps. Steps between `freeze` and `unfreeze` lift the freeze when they fail
 * (lib/playbooks/lift-on-failure.ts wraps them); the playbooks add their own steps (rollback's) and
 * instrument these lists, they never reorder them.
 */
import type { Step } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext } from './context.ts';
import preflight from './preflight.ts';
import freeze from './freeze.ts';
import envTransform from './env-transform.ts';
import composePrepare from './compose-prepare.ts';
import composeDataUp from './compose-data-up.ts';
import composeCutover from './compose-cutover.ts';
import mysqlExport from './mysql-export.ts';
import mysqlImport from './mysql-import.ts';
import mysqlVerify from './mysql-verify.ts';
import redisExport from './redis-export.ts';
import redisImport from './redis-import.ts';
import redisVerify from './redis-verify.ts';
import unfreeze from './unfreeze.ts';
import report from './report.ts';

export type FerryStep = Step<Config, FerryContext>;

export { preflight, freeze, envTransform, composePrepare, composeDataUp, composeCutover, unfreeze, report };

/** The engine steps, by id. */
export const ENGINE_STEP_IDS = ['mysql-export', 'redis-export', 'mysql-import', 'redis-import', 'mysql-verify', 'redis-verify'] as const;
const engineSteps: Partial<Record<(typeof ENGINE_STEP_IDS)[number], FerryStep>> = {
  'mysql-export': mysqlExport as FerryStep, 'mysql-import': mysqlImport as FerryStep, 'mysql-verify': mysqlVerify as FerryStep,
  'redis-export': redisExport as FerryStep, 'redis-import': redisImport as FerryStep, 'redis-verify': redisVerify as FerryStep,
};

const pick = (...ids: Array<(typeof ENGINE_STEP_IDS)[number]>): FerryStep[] => ids.flatMap((id) => (engineSteps[id] ? [engineSteps[id]!] : []));

/** An engine step by id, when it has landed. */
export function engineStep(id: string): FerryStep | undefined {
  return engineSteps[id as (typeof ENGINE_STEP_IDS)[number]];
}

export function missingSteps(): string[] {
  return ENGINE_STEP_IDS.filter((id) => !engineSteps[id]);
}

/** preflight → freeze → export → .env → data services → import → verify → cutover → unfreeze → report. */
export function migrateSteps(): FerryStep[] {
  return [
    preflight as FerryStep, freeze as FerryStep, ...pick('mysql-export', 'redis-export'), envTransform as FerryStep,
    composePrepare as FerryStep, composeDataUp as FerryStep, ...pick('mysql-import', 'redis-import', 'mysql-verify', 'redis-verify'),
    composeCutover as FerryStep, unfreeze as FerryStep, report as FerryStep,
  ];
}

/** The rehearsal: the same without the freeze and the cutover, into a throwaway stack. */
export function rehearseSteps(): FerryStep[] {
  return [
    preflight as FerryStep, ...pick('mysql-export', 'redis-export'), envTransform as FerryStep,
    composePrepare as FerryStep, composeDataUp as FerryStep, ...pick('mysql-import', 'redis-import', 'mysql-verify', 'redis-verify'),
    composeCutover as FerryStep, report as FerryStep,
  ];
}

/** Verification at any time: source against target, then the report. */
export function verifySteps(): FerryStep[] {
  return [...pick('mysql-verify', 'redis-verify'), report as FerryStep];
}

/** The ids between `freeze` and `unfreeze` in migrate: the ones that lift the freeze on failure. */
export const FROZEN_STEP_IDS: readonly string[] = ['mysql-export', 'redis-export', 'env-transform', 'compose-prepare', 'compose-data-up',
  'mysql-import', 'redis-import', 'mysql-verify', 'redis-verify', 'compose-cutover'];
