/**
 * Source endpoints from a config URL that may still hold `${ENV_VAR}` references: the referenced values
 * are registered with the run's redactor before anything can print them, then the engine's own parser
 * (lib/engines/<kind>/endpoint.ts) reads the URL.
 */
import type { Redactor } from '../util/redact.ts';
import { resolveEnvRefs, type Env } from '../config/normalize-config.ts';
import { mysqlEndpointFromUrl as parseMysql, type MysqlEndpoint } from '../engines/mysql/endpoint.ts';
import { redisEndpointFromUrl as parseRedis, type RedisEndpoint } from '../engines/redis/endpoint.ts';

export type { Env };

const REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

function resolved(raw: string, env: Env, field: string, redactor: Redactor): string {
  // Register the referenced values first: a parse error must not echo them.
  for (const m of raw.matchAll(REF)) redactor.add(env[m[1]!]);
  return resolveEnvRefs(raw, env, field);
}

/** `mysql://user:pw@host:port/db` → MysqlEndpoint; `databases` overrides the URL's database. */
export function mysqlEndpointFromUrl(raw: string, opts: { env: Env; redactor: Redactor; databases?: readonly string[] }): MysqlEndpoint {
  const field = 'source.mysql.url';
  return parseMysql(resolved(raw, opts.env, field, opts.redactor), { field, redactor: opts.redactor, databases: opts.databases });
}

/** `redis://[user]:pw@host:port[/db]` → RedisEndpoint; `databases` overrides the URL's db number. */
export function redisEndpointFromUrl(raw: string, opts: { env: Env; redactor: Redactor; databases?: readonly number[] }): RedisEndpoint {
  const field = 'source.redis.url';
  return parseRedis(resolved(raw, opts.env, field, opts.redactor), { field, redactor: opts.redactor, databases: opts.databases });
}
