/** What the mysql-* steps share: endpoints from ctx, where the export lives, config → engine options. */
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { FerryError } from '../core/errors.ts';
import type { StepParams } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext, MysqlEndpoint } from './context.ts';
import type { DefinerPolicy } from '../engines/mysql/index.ts';
import { appAccountsFromEnv, type EnvAccount } from '../engines/mysql/accounts-env.ts';

export type MysqlStepParams = StepParams<Config, FerryContext>;

/** The export directory: `<artifactsDir>/mysql` (the rollback backup). */
export const exportDir = (p: MysqlStepParams): string => join(p.ctx.artifactsDir, 'mysql');

/** Per-step state (`<stateDir>/mysql/…`), e.g. the import's per-chunk progress. */
export const stateFile = (p: MysqlStepParams, name: string): string => join(p.stateDir, 'mysql', name);

export function sourceOf(p: MysqlStepParams): MysqlEndpoint {
  const s = p.ctx.source.mysql;
  if (!s) throw new FerryError('E_CONFIG', 'No source MySQL is configured', { hint: 'set source.mysql.url in ferry.config.ts, or drop the mysql steps' });
  return s;
}

export function targetOf(p: MysqlStepParams): MysqlEndpoint {
  const t = p.ctx.target.mysql;
  if (!t) throw new FerryError('E_CONFIG', 'No target MySQL endpoint in the run context', { hint: 'start the data services (compose-data-up) before the mysql import' });
  return t;
}

export function definerPolicy(p: MysqlStepParams): DefinerPolicy {
  const { definer, definerAccount } = p.config.mysql;
  if (definer !== 'rewrite') return { mode: definer };
  if (!definerAccount) throw new FerryError('E_CONFIG', "mysql.definer is 'rewrite' but mysql.definerAccount names no account", { hint: 'name the account DEFINERs become (e.g. "`app`@`%`"), or use definer "keep" (the default) to carry the accounts' });
  return { mode: 'rewrite', account: definerAccount };
}

export const where = (e: MysqlEndpoint): string => `mysql ${e.user}@${e.host}:${e.port}`;

/** The app's MySQL accounts its .env names (none when the .env cannot be read). */
export const envAccounts = (p: MysqlStepParams): Promise<EnvAccount[]> =>
  readFile(join(p.ctx.appDir, basename(p.config.app.envFile)), 'utf8').then(appAccountsFromEnv, () => []);
