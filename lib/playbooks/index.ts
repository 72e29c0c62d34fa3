/** The playbooks' shared code, usable without listr2: config and ctx per run, prepare per playbook, instrumentation. */
export { resolveContext, type ResolveContextOptions } from './resolve-context.ts';
export { mysqlEndpointFromUrl, redisEndpointFromUrl } from './endpoints.ts';
export { prepareMigrate, prepareVerify, prepareConfig, instrument, playbookOf, alwaysRun, tolerantPlan, type Prepared, type PrepareArgs } from './prepare.ts';
export { prepareRehearse, withConfig } from './prepare-rehearse.ts';
export { prepareRollback, rollbackSteps } from './prepare-rollback.ts';
export { withEngineOptions, storeSpecs, refuseLegacyState, type EngineRegistry } from './stores.ts';
export { openExecTunnel, serviceContainer, type Tunnel } from './exec-tunnel.ts';
