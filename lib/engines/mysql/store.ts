/**
 * A MySQL store as the engine's phases see it: its endpoints, parsed from the store's URLs (passwords
 * registered with the redactor), the databases that make it up (named, or every non-system database of
 * the source), and the small JSON markers it keeps under its directories.
 */
import type { EngineParams } from '../../core/engine.ts';
import { FerryError } from '../../core/errors.ts';
import { readJson } from '../read-json.ts';
import { withMysql } from './connect.ts';
import { mysqlEndpointFromUrl, type MysqlEndpoint } from './endpoint.ts';
import type { MysqlOptions } from './options.ts';

export type MysqlParams = EngineParams<MysqlOptions>;

const SYSTEM_DBS = "('mysql','information_schema','performance_schema','sys')";

/** The source server as the URL says (no connection made). */
export const sourceServer = (p: MysqlParams): MysqlEndpoint =>
  mysqlEndpointFromUrl(p.store.source, { field: `stores[${p.store.id}].source`, redactor: p.redactor, databases: p.store.options.databases });

/** The source endpoint; with no database named (option or URL), every non-system database. */
export async function sourceOf(p: MysqlParams): Promise<MysqlEndpoint> {
  const ep = sourceServer(p);
  if (ep.databases.length) return ep;
  const databases = await withMysql(ep, async (c) => {
    const [rows] = await c.query(`SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN ${SYSTEM_DBS} ORDER BY 1`);
    return (rows as Array<{ s: unknown }>).map((r) => String(r.s));
  });
  return { ...ep, databases };
}

export function targetOf(p: MysqlParams, databases: readonly string[]): MysqlEndpoint {
  if (!p.targetUrl) {
    throw new FerryError('E_CONFIG', `store ${p.store.id}: no target MySQL to reach yet`, {
      hint: `start the store's service (${p.store.target.service}) with its migration port first (the data services step)`,
    });
  }
  return mysqlEndpointFromUrl(p.targetUrl, { field: `stores[${p.store.id}].target`, redactor: p.redactor, databases });
}

export { readJson };
