/**
 * The FerryContext of a run, resolved once from the config in a playbook's `prepare`: source endpoints
 * from the URLs, target endpoints on 127.0.0.1 at the migration ports (their passwords read from the
 * stack's secret files when first used: compose-prepare creates them), ServiceControls over compose.
 * Nothing here changes anything, so dry runs resolve the same context.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config } from '../config/schema.ts';
import type { FerryContext, MysqlEndpoint, PlaybookMode, RedisEndpoint, ServiceControl, StoreBinding } from '../steps/context.ts';
import type { EngineKind } from '../core/engine.ts';
import type { AnyEngine } from '../engines/index.ts';
import { targetSecretName, targetUrlOf } from '../compose/store-target.ts';
import type { Redactor } from '../util/redact.ts';
import { FerryError } from '../core/errors.ts';
import { createComposeClient, composeServiceControl, DATA_DIRS, type ComposeClient } from '../compose/index.ts';
import { secretPath } from '../compose/layout.ts';
import { mysqlEndpointFromUrl, redisEndpointFromUrl, type Env } from './endpoints.ts';

export interface ResolveContextOptions {
  readonly config: Config;
  readonly mode: PlaybookMode;
  readonly redactor: Redactor;
  readonly env?: Env;
  /** Overrides for a rehearsal's throwaway stack. */
  readonly project?: string;
  readonly composeDir?: string;
  readonly appDir?: string;
  /** Variables for compose interpolation (image names). */
  readonly composeEnv?: Readonly<Record<string, string>>;
  /**
   * Dry runs before compose-prepare has created the stack's secrets leave the target endpoints out:
   * the steps that need them say so in their plan instead of connecting anywhere.
   */
  readonly dryRun?: boolean;
  /** The engine registry (lib/engines `engines`); a store whose kind is missing gets steps that say so. */
  readonly engines?: Readonly<Partial<Record<EngineKind, AnyEngine>>>;
  /** Per store id: the 127.0.0.1 port to reach its target on instead of its migrationPort (verify's exec tunnels). */
  readonly targetPorts?: ReadonlyMap<string, number>;
  /** How steps switch a store to a tunnel (migrate); the tunnel's port goes into `targetPorts`. */
  readonly tunnels?: FerryContext['tunnels'];
}

/** A secret of the stack, read on first use and registered with the redactor. */
function lazySecret(composeDir: string, name: string, redactor: Redactor): () => string {
  let value: string | undefined;
  return () => {
    if (value !== undefined) return value;
    const path = secretPath(composeDir, name);
    try {
      value = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw new FerryError('E_COMPOSE_SECRET', `cannot read the secret file ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`, {
        hint: 'the compose-prepare step creates it: run the migrate playbook from the start', cause: e,
      });
    }
    redactor.add(value);
    return value;
  };
}

function lazyService(client: () => Promise<ComposeClient>, service: string, composeDir: string, project?: string): ServiceControl {
  let control: Promise<ServiceControl> | undefined;
  const get = () => (control ??= client().then((c) => composeServiceControl(c, service)));
  return {
    dataDir: join(composeDir, DATA_DIRS[service] ?? `data/${service}`),
    stop: async () => (await get()).stop(),
    start: async () => (await get()).start(),
    ...(project ? { composeView: async () => ({ project, yaml: await (await client()).config() }) } : {}),
  };
}

export function resolveContext(o: ResolveContextOptions): FerryContext {
  const { config, redactor } = o;
  const env = o.env ?? process.env;
  const composeDir = o.composeDir ?? config.target.composeDir;
  const project = o.project ?? config.target.project;
  const mysqlSrc = config.source.mysql
    ? mysqlEndpointFromUrl(config.source.mysql.url, { env, redactor, ...(config.source.mysql.databases ? { databases: config.source.mysql.databases } : {}) })
    : undefined;
  const redisSrc = config.source.redis
    ? redisEndpointFromUrl(config.source.redis.url, { env, redactor, ...(config.source.redis.databases ? { databases: config.source.redis.databases } : {}) })
    : undefined;
  const mysqlPw = lazySecret(composeDir, 'mysql_root_password', redactor);
  const redisPw = lazySecret(composeDir, 'redis_password', redactor);
  const noTarget = o.dryRun === true && !existsSync(secretPath(composeDir, 'mysql_root_password'));
  const mysqlTgt: MysqlEndpoint | undefined = mysqlSrc && !noTarget ? Object.freeze({
    host: '127.0.0.1', port: config.target.migrationPorts.mysql, user: 'root', databases: mysqlSrc.databases,
    get password() { return mysqlPw(); },
  }) : undefined;
  const redisTgt: RedisEndpoint | undefined = redisSrc && !noTarget ? Object.freeze({
    host: '127.0.0.1', port: config.target.migrationPorts.redis, databases: [] as readonly number[],
    get password() { return redisPw(); },
  }) : undefined;
  let client: Promise<ComposeClient> | undefined;
  const getClient = () => (client ??= createComposeClient({
    composeDir, project, files: config.target.files, redactor, ...(o.composeEnv ? { env: o.composeEnv } : {}),
  }));
  const stores = new Map<string, StoreBinding>();
  for (const store of config.stores) {
    const secret = targetSecretName(store);
    const password = secret ? lazySecret(composeDir, secret, redactor) : () => '';
    // Before compose-prepare has created the stack's secrets there is no target to reach (preflight, dry runs).
    const unreachable = () => secret !== undefined && !existsSync(secretPath(composeDir, secret));
    stores.set(store.id, Object.freeze({
      store,
      engine: o.engines?.[store.engine],
      targetUrl: () => (unreachable() ? undefined : targetUrlOf(store, password, o.targetPorts?.get(store.id) ?? store.target.migrationPort)),
      service: lazyService(getClient, store.target.service, composeDir, project),
    }));
  }
  return Object.freeze({
    stores,
    ...(o.tunnels ? { tunnels: o.tunnels } : {}),
    mode: o.mode,
    redactor,
    source: Object.freeze({ ...(mysqlSrc ? { mysql: mysqlSrc } : {}), ...(redisSrc ? { redis: redisSrc } : {}) }),
    target: Object.freeze({ ...(mysqlTgt ? { mysql: mysqlTgt } : {}), ...(redisTgt ? { redis: redisTgt } : {}) }),
    services: Object.freeze({
      ...(mysqlSrc ? { mysql: lazyService(getClient, 'mysql', composeDir) } : {}),
      ...(redisSrc ? { redis: lazyService(getClient, 'redis', composeDir) } : {}),
    }),
    artifactsDir: join(config.stateDir, 'artifacts'),
    project,
    composeDir,
    appDir: o.appDir ?? dirname(config.app.envFile),
  });
}
