/** A MySQL store's options (`stores[].options`), defaults in one place. */
import { z } from 'zod';
import type { Store } from '../../core/engine.ts';
import { parseStoreOptions } from '../parse-options.ts';
import type { DefinerPolicy } from './definer.ts';

export const mysqlOptionsSchema = z.object({
  /** Databases to move; default: the URL's database, else every non-system database. */
  databases: z.array(z.string().min(1)).optional(),
  /** DEFINER handling: rewrite to `definerAccount` (default) or strip. */
  definer: z.enum(['rewrite', 'strip']).default('rewrite'),
  definerAccount: z.string().min(1).default('`root`@`%`'),
  /** Connections working at once (export, import, verify). */
  parallelism: z.number().int().min(1).max(16).default(2),
  /** How rows are loaded: LOAD DATA LOCAL when the target allows it (`auto`), or forced. */
  via: z.enum(['auto', 'local-infile', 'insert']).default('auto'),
}).strict();

export type MysqlOptions = Readonly<z.output<typeof mysqlOptionsSchema>>;
export type MysqlStore = Store<MysqlOptions>;

export const parseMysqlOptions = (raw: unknown, storeId: string): MysqlOptions => parseStoreOptions(mysqlOptionsSchema, raw, storeId, 'mysql');

export const definerPolicyOf = (o: MysqlOptions): DefinerPolicy =>
  o.definer === 'strip' ? { mode: 'strip' } : { mode: 'rewrite', account: o.definerAccount };
