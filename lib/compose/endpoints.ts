/** Where ferry reaches the stack's data services during the migration: 127.0.0.1, migration ports. */
import { readFile } from 'node:fs/promises';
import { FerryError } from '../core/errors.ts';
import { secretPath } from './layout.ts';
import type { MysqlEndpoint } from '../engines/mysql/endpoint.ts';
import type { RedisEndpoint } from '../engines/redis/endpoint.ts';

export interface TargetEndpointsConfig {
  readonly target: { readonly migrationPorts: { readonly mysql: number; readonly redis: number } };
}

export async function readSecret(composeDir: string, name: string): Promise<string> {
  const path = secretPath(composeDir, name);
  try {
    return (await readFile(path, 'utf8')).replace(/\r?\n$/, '');
  } catch (e) {
    throw new FerryError('E_COMPOSE_SECRET', `cannot read the secret file ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`, {
      hint: 'run the compose-prepare step first (it creates the data services\' passwords)', cause: e,
    });
  }
}

/** Endpoints as root / the default user, passwords from `secrets/`; databases left for the caller. */
export async function targetEndpoints(composeDir: string, config: TargetEndpointsConfig, databases: readonly string[] = []): Promise<{ mysql: MysqlEndpoint; redis: RedisEndpoint }> {
  // In order, not Promise.all: with both missing, the error names the first one every time.
  const mysqlPassword = await readSecret(composeDir, 'mysql_root_password');
  const redisPassword = await readSecret(composeDir, 'redis_password');
  return {
    mysql: { host: '127.0.0.1', port: config.target.migrationPorts.mysql, user: 'root', password: mysqlPassword, databases },
    redis: { host: '127.0.0.1', port: config.target.migrationPorts.redis, password: redisPassword, databases: [] },
  };
}
