/**
 * ferry's public surface. Everything a playbook does, a library call can do without listr2:
 * steps (`defineStep`), the runner (`runPlaybook`), the journal, config, and the engines.
 */
export * from './core/errors.ts';
export * from './core/step.ts';
export * from './core/logger.ts';
export * from './core/progress.ts';
export { Redactor, MASK, redactUrlPasswords } from './util/redact.ts';
export { writeFileAtomic } from './util/atomic-write.ts';
export * from './config/index.ts';
export * from './journal/index.ts';
export * from './runner/index.ts';
export * from './env/index.ts';
export * as mysql from './engines/mysql/index.ts';
export * as redis from './engines/redis/index.ts';
export * as compose from './compose/index.ts';
export * as preflight from './preflight/index.ts';
export * as freeze from './freeze/index.ts';
export * as report from './report/index.ts';
export * from './steps/context.ts';
export * as steps from './steps/index.ts';
