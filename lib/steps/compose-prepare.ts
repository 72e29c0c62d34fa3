/**
 * compose-prepare: the passwords of the services that hold the stores (`secrets/<service>_…password.txt`,
 * 0700 folder), generated only when absent — and for ferry's own compose/ stack (the preset) its host
 * layout (config/, data/, storage/, logs/, ssl/, backups/) and its other secrets. When a store follows a
 * source the stack reaches through Docker's host gateway (`host.docker.internal`: a server on this
 * machine), ferry's follow override gives its service `extra_hosts: host.docker.internal:host-gateway`
 * (Linux needs it; Docker Desktop resolves the name anyway); a source reached by a name on a network
 * needs none. The journal keeps which files this step created; `undo` removes only those, and never
 * while a data directory holds data initialised with them.
 */
import { readdir, readFile, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { defineStep } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext } from './context.ts';
import { DATA_SECRETS, LAYOUT_DIRS, prepareLayout, secretPath } from '../compose/layout.ts';
import { DATA_DIRS } from '../compose/service-control.ts';
import { targetSecretName } from '../compose/store-target.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { DOCKER_HOST_NAME, needsHostGateway, sourceFromTarget } from '../engines/follow-from.ts';
import { cutoverOptionsOf, decideCutover } from './cutover-mode.ts';
import { engines } from '../engines/index.ts';

/** ferry's follow override: the host-gateway mapping of the services that follow a source on this machine. */
export const FOLLOW_OVERRIDE_FILE = 'docker-compose.ferry-follow.yml';

/** host:port of a store's source URL (`mysql://…@127.0.0.1:3306`), undefined for a path (files). */
function sourceHostPort(source: string): { host: string; port: number } | undefined {
  try {
    const u = new URL(source);
    const defaults: Record<string, number> = { 'mysql:': 3306, 'mariadb:': 3306, 'redis:': 6379, 'rediss:': 6379, 'postgres:': 5432, 'postgresql:': 5432 };
    return u.hostname ? { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : defaults[u.protocol] ?? 0 } : undefined;
  } catch { return undefined; }
}

/**
 * The services that follow a source through the host gateway in this migration: a store that follows
 * (lib/steps/cutover-mode.ts) whose source the stack reaches as host.docker.internal (the route the
 * preflight proved, else the store's followFrom or its loopback URL).
 */
export function hostGatewayServices(config: Pick<Config, 'stores' | 'cutover'>): string[] {
  const o = cutoverOptionsOf(config);
  const out = new Set<string>();
  for (const s of config.stores) {
    if (decideCutover({ store: s, engine: engines[s.engine] }, o).how !== 'follow') continue;
    const proven = o.readiness?.[s.id]?.from;
    const at = sourceHostPort(s.source);
    const from = proven ?? (at ? sourceFromTarget(at, (s.options as { followFrom?: { host?: string; port?: number } }).followFrom) : undefined);
    if (from && needsHostGateway(from)) out.add(s.target.service);
  }
  return [...out].sort();
}

/**
 * The follow override (JSON, which every YAML reader takes; compose v1 and v2 alike): each service gets
 * the host-gateway mapping. Never `services: {}` alone (docker-compose v1 reads that as a version 1 file).
 */
export function renderFollowOverride(services: readonly string[]): string {
  if (!services.length) throw new TypeError('Expected at least one service to give the host-gateway mapping');
  for (const s of services) if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(s)) throw new TypeError(`Expected a compose service name, got ${JSON.stringify(s)}`);
  const doc = { services: Object.fromEntries(services.map((s) => [s, { extra_hosts: [`${DOCKER_HOST_NAME}:host-gateway`] }])) };
  return `# Written by ferry: these services follow a source on this host until the cutover. Do not edit.\n${JSON.stringify(doc, null, 2)}\n`;
}

/** The config whose compose files include the follow override, when a service needs it (migrate). */
export function withFollowOverride(config: Config): Config {
  if (!hostGatewayServices(config).length || config.target.files.includes(FOLLOW_OVERRIDE_FILE)) return config;
  return Object.freeze({ ...config, target: Object.freeze({ ...config.target, files: [...config.target.files, FOLLOW_OVERRIDE_FILE] }) }) as Config;
}

const followOverridePath = (composeDir: string) => join(composeDir, FOLLOW_OVERRIDE_FILE);

/** What the follow override should hold (undefined: no service needs one; only migrate and rehearse follow) and whether the file holds it. */
async function followOverrideState(ctx: Pick<FerryContext, 'composeDir' | 'mode'>, config: Config): Promise<{ want: string | undefined; ok: boolean }> {
  const composeDir = ctx.composeDir;
  const services = ctx.mode === 'migrate' || ctx.mode === 'rehearse' ? hostGatewayServices(config) : [];
  const want = services.length ? renderFollowOverride(services) : undefined;
  const have = await readFile(followOverridePath(composeDir), 'utf8').catch(() => undefined);
  return { want, ok: want === undefined || have === want };
}

/** ferry's own compose/ stack (Vedfolnir's preset) has a host layout; an operator's project only gets its stores' secrets. */
const ownStack = (config: Config): boolean => config.stores.every((s) => s.preset === true);
const dirsOf = (config: Config): readonly string[] => (ownStack(config) ? LAYOUT_DIRS : ['secrets']);

/** The stack's data-service passwords: ferry's own stack's, and each store's target secret. */
const secretsOf = (config: Config): string[] => [...new Set([...(ownStack(config) ? DATA_SECRETS : []), ...config.stores.map(targetSecretName).filter((s): s is string => s !== undefined)])];

async function missing(composeDir: string, config: Config): Promise<string[]> {
  const paths = [...dirsOf(config), ...secretsOf(config).map((s) => `secrets/${s}.txt`)];
  const found = await Promise.all(paths.map((p) => stat(join(composeDir, p)).then(() => true, () => false)));
  return paths.filter((_, i) => !found[i]);
}

async function holdsData(dir: string): Promise<boolean> {
  return readdir(dir).then((e) => e.length > 0, () => false);
}

export default defineStep<Config, FerryContext>({
  id: 'compose-prepare',
  title: 'Prepare the stack\'s host directories and data-service passwords',
  async check({ ctx, config }) {
    const absent = await missing(ctx.composeDir, config);
    if (!(await followOverrideState(ctx, config)).ok) absent.push(`${FOLLOW_OVERRIDE_FILE} (up to date)`);
    return absent.length === 0
      ? { done: true, reason: `${ctx.composeDir} has the host layout and the data services' secrets` }
      : { done: false, reason: `missing: ${absent.join(', ')}` };
  },
  async plan({ ctx, config }) {
    const absent = await missing(ctx.composeDir, config);
    const gw = hostGatewayServices(config);
    const follow = (await followOverrideState(ctx, config)).ok ? [] : [`${followOverridePath(ctx.composeDir)}: extra_hosts ${DOCKER_HOST_NAME}:host-gateway for ${gw.join(', ')}`];
    return { reads: [join(ctx.composeDir, 'secrets')], changes: [...absent.map((p) => join(ctx.composeDir, p)), ...follow], pending: absent.length + follow.length > 0 };
  },
  async run({ ctx, config, log }) {
    const r = await prepareLayout(ctx.composeDir, secretsOf(config), dirsOf(config));
    if (r.createdSecrets.length) log.info(`generated ${r.createdSecrets.join(', ')} in ${join(ctx.composeDir, 'secrets')}`);
    const f = await followOverrideState(ctx, config);
    if (f.want !== undefined && !f.ok) {
      await writeFileAtomic(followOverridePath(ctx.composeDir), f.want, 0o644);
      log.info(`wrote ${FOLLOW_OVERRIDE_FILE}: ${hostGatewayServices(config).join(', ')} reach the host as ${DOCKER_HOST_NAME} (host-gateway)`);
    }
    return { data: { createdDirs: r.createdDirs, createdSecrets: r.createdSecrets, ...(f.want !== undefined ? { followOverride: FOLLOW_OVERRIDE_FILE } : {}) } };
  },
  async verify({ ctx, config }) {
    const findings = (await missing(ctx.composeDir, config)).map((p) => `missing ${join(ctx.composeDir, p)}`);
    if (!(await followOverrideState(ctx, config)).ok) findings.push(`${followOverridePath(ctx.composeDir)} is missing or out of date`);
    const mode = await stat(join(ctx.composeDir, 'secrets')).then((s) => s.mode & 0o777, () => undefined);
    if (mode !== undefined && mode !== 0o700) findings.push(`${join(ctx.composeDir, 'secrets')} has mode ${mode.toString(8)}, expected 700`);
    for (const s of secretsOf(config)) {
      const size = await stat(secretPath(ctx.composeDir, s)).then((x) => x.size, () => 0);
      if (size === 0) findings.push(`secrets/${s}.txt is empty`);
    }
    return { ok: findings.length === 0, findings };
  },
  async undo({ ctx, previous, log }) {
    if (previous?.data?.followOverride) await rm(followOverridePath(ctx.composeDir), { force: true });
    const created = (previous?.data?.createdSecrets ?? []) as string[];
    const inUse = (await Promise.all(Object.values(DATA_DIRS).map((d) => holdsData(join(ctx.composeDir, d))))).some(Boolean);
    if (inUse && created.length) {
      log.warn(`kept ${created.join(', ')}: the data directories hold data initialised with them`);
    } else {
      for (const s of created) await rm(secretPath(ctx.composeDir, s), { force: true });
    }
    // Only the directories this step created, and only while empty.
    for (const d of [...((previous?.data?.createdDirs ?? []) as string[])].reverse()) {
      await rmdir(join(ctx.composeDir, d)).catch(() => undefined);
    }
  },
});
