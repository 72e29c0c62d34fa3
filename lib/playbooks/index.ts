/** The playbooks' shared code, usable without listr2: ctx resolution, prepare per playbook, instrumentation. */
export { resolveContext, type ResolveContextOptions } from './resolve-context.ts';
export { mysqlEndpointFromUrl, redisEndpointFromUrl } from './endpoints.ts';
export { prepareMigrate, prepareVerify, instrument, playbookOf, alwaysRun, tolerantPlan, type Prepared, type PrepareArgs } from './prepare.ts';
export { prepareRehearse, withConfig } from './prepare-rehearse.ts';
export { prepareRollback, rollbackSteps } from './prepare-rollback.ts';
export { liftFreezeOnFailure } from './lift-on-failure.ts';
export { redisUnpausedDuring } from './redis-pause.ts';
export { reverseStep, reverseContext, reverseConfig } from './reverse.ts';
export { openExecTunnel, serviceContainer, type Tunnel } from './exec-tunnel.ts';
