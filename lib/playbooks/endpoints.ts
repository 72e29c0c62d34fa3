/**
 * Source endpoints from the config's URLs: `${ENV_VAR}` references resolved from the environment,
 * every password registered with the run's redactor before anything can print it.
 */
import { FerryError } from '../core/errors.ts';
import type { Redactor } from '../util/redact.ts';
import type { MysqlEndpoint, RedisEndpoint } from '../steps/context.ts';
import { resolveEnvRefs, type Env } from '../config/normalize-config.ts';

export type { Env };

const REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

function parse(raw: string, env: Env, field: string, redactor: Redactor): URL {
  // Register the referenced values first: a parse error must not echo them.
  for (const m of raw.matchAll(REF)) redactor.add(env[m[1]!]);
  const resolved = resolveEnvRefs(raw, env, field);
  let url: URL;
  try {
    url = new URL(resolved);
  } catch (e) {
    throw new FerryError('E_CONFIG_URL', `${field} is not a valid URL: ${redactor.redact(raw)}`, {
      hint: 'expected scheme://user:password@host:port/db; percent-encode special characters in the password', cause: e,
    });
  }
  if (url.password) redactor.add(decodeURIComponent(url.password), url.password);
  return url;
}

/** `mysql://user:pw@host:port/db` → MysqlEndpoint; `databases` overrides the URL's database. */
export function mysqlEndpointFromUrl(raw: string, opts: { env: Env; redactor: Redactor; databases?: readonly string[] }): MysqlEndpoint {
  const url = parse(raw, opts.env, 'source.mysql.url', opts.redactor);
  const db = decodeURIComponent(url.pathname.replace(/^\//, ''));
  return Object.freeze({
    host: url.hostname || '127.0.0.1',
    port: url.port ? Number(url.port) : 3306,
    user: decodeURIComponent(url.username) || 'root',
    password: decodeURIComponent(url.password),
    databases: Object.freeze([...(opts.databases ?? (db ? [db] : []))]),
  });
}

/** `redis://[user]:pw@host:port[/db]` → RedisEndpoint; `databases` overrides the URL's db number. */
export function redisEndpointFromUrl(raw: string, opts: { env: Env; redactor: Redactor; databases?: readonly number[] }): RedisEndpoint {
  const url = parse(raw, opts.env, 'source.redis.url', opts.redactor);
  const dbPath = url.pathname.replace(/^\//, '');
  const username = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  return Object.freeze({
    host: url.hostname || '127.0.0.1',
    port: url.port ? Number(url.port) : 6379,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    databases: Object.freeze([...(opts.databases ?? (/^\d+$/.test(dbPath) ? [Number(dbPath)] : []))]),
  });
}
