/**
 * ferry's public surface: the only module playbooks import. Everything a playbook does, a library call
 * can do without listr2: config (an app's stores), the engines behind one contract, steps generated per
 * store (`steps.migrateSteps`…), the runner (`runPlaybook`), the journal, and each playbook's `prepare`.
 */
export * from './core/errors.ts';
export * from './core/step.ts';
export * from './core/engine.ts';
export * from './core/logger.ts';
export * from './core/progress.ts';
export { Redactor, MASK, redactUrlPasswords } from './util/redact.ts';
export { writeFileAtomic } from './util/atomic-write.ts';
export * from './config/index.ts';
export * from './journal/index.ts';
export * from './runner/index.ts';
export * from './env/index.ts';
export { engines, engineFor, mysqlEngine, redisEngine, type AnyEngine } from './engines/index.ts';
export * as mysql from './engines/mysql/index.ts';
export * as redis from './engines/redis/index.ts';
export * as compose from './compose/index.ts';
export * as preflight from './preflight/index.ts';
export * as freeze from './freeze/index.ts';
export * as report from './report/index.ts';
export type { FerryContext, StoreBinding, PlaybookMode, MysqlEndpoint, RedisEndpoint, ServiceControl } from './steps/context.ts';
export * as steps from './steps/index.ts';
export {
  prepareMigrate, prepareRehearse, prepareVerify, prepareRollback, prepareConfig, resolveContext, withEngineOptions, storeSpecs,
  type Prepared, type PrepareArgs,
} from './playbooks/index.ts';
