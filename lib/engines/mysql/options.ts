/** A MySQL store's options (`stores[].options`), defaults in one place. */
import { z } from 'zod';
import type { Store } from '../../core/engine.ts';
import { parseStoreOptions } from '../parse-options.ts';
import type { DefinerPolicy } from './definer.ts';

export const mysqlOptionsSchema = z.object({
  /** Databases to move; default: the URL's database, else every non-system database. */
  databases: z.array(z.string().min(1)).optional(),
  /**
   * DEFINER handling: `keep` (default: objects keep their DEFINER and SQL SECURITY, the accounts they name
   * are carried), `rewrite` to `definerAccount` (an explicit choice naming the account), or `strip`
   * (the importing account becomes the definer; views and routines become SQL SECURITY INVOKER).
   */
  definer: z.enum(['keep', 'rewrite', 'strip']).default('keep'),
  /** The account DEFINERs are rewritten to, e.g. `` `app`@`%` `` (only with `definer: 'rewrite'`, required there). */
  definerAccount: z.string().min(1).optional(),
  /**
   * App accounts to carry besides every DEFINER account (host omitted: every host of that user). A
   * `passwordFile` holds the password used when the target lacks the account's plugin.
   */
  accounts: z.array(z.object({ user: z.string().min(1), host: z.string().min(1).optional(), passwordFile: z.string().min(1).optional() }).strict()).default([]),
  /**
   * The app's env files: the MySQL users they name (URLs, `*_DB_USER` keys) are carried like `accounts`,
   * with the password they give for a target lacking the account's plugin. Empty: ferry fills in the
   * config's `app.envFile` and `app.envFiles` (lib/playbooks/stores.ts `withEngineOptions`).
   */
  appEnvFiles: z.array(z.string().min(1)).default([]),
  /** Connections working at once (export, import, verify). */
  parallelism: z.number().int().min(1).max(16).default(2),
  /** How rows are loaded: LOAD DATA LOCAL when the target allows it (`auto`), or forced. */
  via: z.enum(['auto', 'local-infile', 'insert']).default('auto'),
  /** Following: the source as the stack's container reaches it; default host.docker.internal for a loopback source. */
  followFrom: z.object({ host: z.string().min(1).optional(), port: z.number().int().min(1).max(65535).optional() }).strict().optional(),
}).strict().refine((o) => o.definer !== 'rewrite' || o.definerAccount !== undefined, {
  path: ['definerAccount'], message: "expected the account to rewrite DEFINERs to (e.g. \"`app`@`%`\") with definer 'rewrite'; ferry never picks one (root would escalate)",
});

export type MysqlOptions = Readonly<z.output<typeof mysqlOptionsSchema>>;
export type MysqlStore = Store<MysqlOptions>;

export const parseMysqlOptions = (raw: unknown, storeId: string): MysqlOptions => parseStoreOptions(mysqlOptionsSchema, raw, storeId, 'mysql');

export const definerPolicyOf = (o: MysqlOptions): DefinerPolicy =>
  o.definer === 'rewrite' && o.definerAccount ? { mode: 'rewrite', account: o.definerAccount } : o.definer === 'strip' ? { mode: 'strip' } : { mode: 'keep' };
