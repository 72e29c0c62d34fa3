/**
 * Where a MySQL store is: a server (`MysqlTarget`: host, port, account) and the databases that make up
 * the store. Parsed from the store's URL; `${ENV}` references are already resolved by the config layer,
 * and the password is registered with the run's redactor before anything can print it.
 */
import type { SecretSink } from '../../core/engine.ts';
import { hostOf, parseUrl } from '../store-url.ts';
import type { MysqlTarget } from './connect.ts';

export interface MysqlEndpoint extends MysqlTarget {
  /** Databases to move (source) / to create (target); empty: every non-system database. */
  readonly databases: readonly string[];
}

/** `mysql ${user}@${host}:${port}`: how every message names a server (never the password). */
export const describeMysql = (e: Pick<MysqlTarget, 'host' | 'port' | 'user'>): string => `mysql ${e.user}@${e.host}:${e.port}`;

/**
 * `mysql://user:pw@host:port/db` → MysqlEndpoint; `databases` (the store's option) overrides the URL's
 * database. `field` names the URL in errors (`stores[shop].source`).
 */
export function mysqlEndpointFromUrl(raw: string, o: { field: string; redactor?: SecretSink; databases?: readonly string[] | undefined }): MysqlEndpoint {
  const url = parseUrl(raw, o.field, ['mysql:', 'mariadb:'], o.redactor);
  const db = decodeURIComponent(url.pathname.replace(/^\//, ''));
  return Object.freeze({
    host: hostOf(url),
    port: url.port ? Number(url.port) : 3306,
    user: decodeURIComponent(url.username) || 'root',
    password: decodeURIComponent(url.password),
    databases: Object.freeze([...(o.databases?.length ? o.databases : db ? [db] : [])]),
  });
}
