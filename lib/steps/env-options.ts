/**
 * What the env-transform step passes to `transformEnv`, from the config: the app services, where each
 * database store lands, which host directories the volumes carry, the secret and bind keys.
 */
import { basename, dirname, join } from 'node:path';
import type { Config } from '../config/schema.ts';
import { DEFAULT_BIND_KEYS, DEFAULT_SERVICE_RULES, HOST_GATEWAY, parseUrl } from '../env/index.ts';
import type { PathMapping, ServiceRule, TransformOptions } from '../env/index.ts';
import type { FerryContext } from './context.ts';
import { envFileServices } from './env-shadowed.ts';

type Dirs = Pick<FerryContext, 'appDir' | 'composeDir'>;

/** The stack's own compose files (not the generated override). */
export const stackFilesFor = (config: Config, override: string): string[] => ['docker-compose.yml', ...config.target.files.filter((f) => f !== override)];

/** Vedfolnir's preset, possibly with files stores beside it (its `storage/`): the preset's defaults hold. */
const isPresetApp = (c: Config) => c.stores.every((s) => s.preset) || (c.stores.some((s) => s.preset) && c.stores.every((s) => s.preset || s.engine === 'files'));

/**
 * The services that load the app's env: the configured app services; Vedfolnir's `vedfolnir` for the
 * preset; else the compose files' services that load an env file and hold no store.
 */
export async function appServicesFor(config: Config, composeDir: string, override: string): Promise<readonly string[]> {
  const named = config.app.appServices ?? config.target.appServices;
  if (named.length) return named;
  if (isPresetApp(config)) return ['vedfolnir'];
  // A files store's service is the app mounting it: it still loads the app's env.
  const stores = new Set(config.stores.filter((s) => s.engine !== 'files').map((s) => s.target.service));
  return (await envFileServices(composeDir, stackFilesFor(config, override))).filter((s) => !stores.has(s));
}

/** The configured volumes, the files stores', then the design's `./storage:/app/storage` and `./logs/app:/app/logs` from the app's and the stack's side. */
export function pathMappingsFor(config: Config, ctx: Dirs): PathMapping[] {
  const configured = Object.entries(config.app.pathMappings).map(([host, container]) => ({ host, container }));
  // A files store moves a host directory into the container path its volume is mounted at.
  const stores = config.stores.filter((s) => s.engine === 'files' && s.target.containerPath).map((s) => ({ host: s.source, container: s.target.containerPath as string }));
  const design = [dirname(config.app.envFile), ctx.appDir].filter((d) => d.startsWith('/'))
    .flatMap((d) => [{ host: join(d, 'storage'), container: '/app/storage' }, { host: join(d, 'logs'), container: '/app/logs' }]);
  return [...configured, ...stores, ...design, { host: join(ctx.composeDir, 'storage'), container: '/app/storage' }, { host: join(ctx.composeDir, 'logs/app'), container: '/app/logs' }];
}

/**
 * Where each database store lands (its compose service and port), for an app configured by `stores`:
 * a server the config does not move stays on the host (host.docker.internal). Vedfolnir's preset keeps
 * the default rules and required variables.
 */
export function storeRulesFor(config: Config): Pick<TransformOptions, 'rules' | 'required'> {
  if (isPresetApp(config)) return {};
  const rules: ServiceRule[] = [];
  for (const s of config.stores) {
    const base = DEFAULT_SERVICE_RULES.find((r) => r.name === s.engine);
    if (!base) continue;
    const sourcePort = Number(parseUrl(s.source)?.port);
    rules.push({
      ...base, name: s.id, host: s.target.service, port: s.target.containerPort ?? base.port,
      passwordSecret: s.target.service === base.host ? base.passwordSecret : undefined, ...(sourcePort ? { sourcePort } : {}),
    });
  }
  return { rules: [...rules, ...DEFAULT_SERVICE_RULES.filter((r) => r.host === HOST_GATEWAY)], required: [] };
}

export const transformOptionsFor = (config: Config, ctx: Dirs): TransformOptions => ({
  file: basename(config.app.envFile), extraSecretKeys: config.app.secretKeys, keepUrlPasswords: config.app.keepUrlPasswords,
  bindKeys: [...DEFAULT_BIND_KEYS, ...config.app.bindKeys], pathMappings: pathMappingsFor(config, ctx), ...storeRulesFor(config),
});
