/**
 * The route from the stack to the host's sources (issue 16): a service that follows a source on this
 * host gets `extra_hosts: host.docker.internal:host-gateway` in ferry's follow override; a source reached
 * by a name on a network gets nothing. The generated file is validated by `config` under every Compose
 * installed (v1 and v2), merged with compose/ and ferry's migration override.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableComposes, createComposeClient, MIGRATION_OVERRIDE_FILE, renderMigrationOverride } from '../../../lib/compose/index.ts';
import step, { FOLLOW_OVERRIDE_FILE, hostGatewayServices, renderFollowOverride, withFollowOverride } from '../../../lib/steps/compose-prepare.ts';
import type { Config, ConfigStore } from '../../../lib/config/schema.ts';
import type { CutoverOptions } from '../../../lib/steps/cutover-mode.ts';

const COMPOSE_SRC = fileURLToPath(new URL('../../../compose/', import.meta.url));
const clis = await availableComposes();

const mysqlStore = (options: Record<string, unknown> = {}): ConfigStore => ({ id: 'db', engine: 'mysql', source: 'mysql://root:pw@127.0.0.1:3306/app', target: { service: 'mysql', migrationPort: 33306 }, options });
const redisStore = (options: Record<string, unknown> = {}): ConfigStore => ({ id: 'cache', engine: 'redis', source: 'redis://:pw@localhost:6379', target: { service: 'redis', migrationPort: 36379 }, options });
const cfg = (stores: ConfigStore[], cutover: CutoverOptions) => ({ stores, cutover } as unknown as Pick<Config, 'stores' | 'cutover'>);

describe('which services need the host-gateway mapping', () => {
  it('follow mode, a loopback source and no followFrom: the stack reaches it as host.docker.internal', () => {
    expect(hostGatewayServices(cfg([mysqlStore(), redisStore()], { mode: 'follow', budgetSeconds: 30 }))).toEqual(['mysql', 'redis']);
  });

  it('a source reached by a name on a network needs none; a copied store needs none', () => {
    const byName = cfg([mysqlStore({ followFrom: { host: 'src-mysql' } }), redisStore()], {
      mode: 'auto', budgetSeconds: 30,
      readiness: {
        db: { store: 'db', ready: true, why: 'x', from: { host: 'src-mysql', port: 3306 } },
        cache: { store: 'cache', ready: false, why: 'RDB too new', enable: 'newer image' },
      },
    });
    expect(hostGatewayServices(byName)).toEqual([]);
    expect(hostGatewayServices(cfg([mysqlStore(), redisStore()], { mode: 'freeze-copy', budgetSeconds: 30 }))).toEqual([]);
  });

  it('the route the preflight proved through host.docker.internal', () => {
    const proven = cfg([redisStore({ followFrom: { host: 'host.docker.internal' } })], {
      mode: 'auto', budgetSeconds: 30, readiness: { cache: { store: 'cache', ready: true, why: 'x', from: { host: 'host.docker.internal', port: 6379 } } },
    });
    expect(hostGatewayServices(proven)).toEqual(['redis']);
    const config = { ...proven, target: { files: ['docker-compose.dev.yml'] } } as unknown as Config;
    expect(withFollowOverride(config).target.files).toEqual(['docker-compose.dev.yml', FOLLOW_OVERRIDE_FILE]);
    expect(withFollowOverride(withFollowOverride(config)).target.files).toEqual(['docker-compose.dev.yml', FOLLOW_OVERRIDE_FILE]);
    const none = { ...cfg([redisStore()], { mode: 'freeze-copy', budgetSeconds: 30 }), target: { files: [] } } as unknown as Config;
    expect(withFollowOverride(none)).toBe(none);
  });

  it('renders a document every YAML reader takes, never a bare services: {}', () => {
    expect(parse(renderFollowOverride(['mysql', 'redis']))).toEqual({
      services: { mysql: { extra_hosts: ['host.docker.internal:host-gateway'] }, redis: { extra_hosts: ['host.docker.internal:host-gateway'] } },
    });
    expect(() => renderFollowOverride([])).toThrow(/at least one service/);
    expect(() => renderFollowOverride(['bad name'])).toThrow(/compose service name/);
  });
});

it('a Compose CLI is installed to validate the generated configuration', () => {
  expect(clis.length).toBeGreaterThan(0);
});

describe.each(clis.map((c) => [c.kind, c] as const))('the follow override under compose %s', (_k, cli) => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-follow-override-'));
    await cp(COMPOSE_SRC, dir, { recursive: true });
    await writeFile(join(dir, MIGRATION_OVERRIDE_FILE), renderMigrationOverride({ ports: { mysql: 33306, redis: 36379 }, mysql: { localInfile: true, characterSet: 'utf8mb4' } }));
    await writeFile(join(dir, FOLLOW_OVERRIDE_FILE), renderFollowOverride(['mysql']));
  });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  it('merges with compose/ and the migration override: mysql maps host.docker.internal to the host gateway, redis does not', { timeout: 30_000 }, async () => {
    const c = await createComposeClient({ composeDir: dir, project: 'ferry-follow-test', cli, files: ['docker-compose.yml', MIGRATION_OVERRIDE_FILE, FOLLOW_OVERRIDE_FILE] });
    const stack = parse(await c.config()) as { services: Record<string, { extra_hosts?: string[] | Record<string, string>; ports?: unknown[] }> };
    // v1 prints the mapping as a map, v2 as a list (`host=ip` or `host:ip`).
    const hosts = (s: { extra_hosts?: string[] | Record<string, string> }) =>
      Array.isArray(s.extra_hosts) ? s.extra_hosts.map((h) => h.replace('=', ':')) : Object.entries(s.extra_hosts ?? {}).map(([k, v]) => `${k}:${v}`);
    expect(hosts(stack.services.mysql!)).toEqual(['host.docker.internal:host-gateway']);
    expect(hosts(stack.services.redis!)).toEqual([]);
    expect(stack.services.mysql!.ports?.length).toBe(1); // the migration access is kept
  });
});

describe('compose-prepare writes the follow override (migrate and rehearse) and proves it', () => {
  const log = { info() {}, warn() {}, error() {}, debug() {} } as never;
  const config = (composeDir: string) => ({
    stores: [mysqlStore()], cutover: { mode: 'follow', budgetSeconds: 30 }, target: { composeDir, project: 'p', files: [] },
  } as unknown as Config);

  it('writes it when a service follows a source on this host, and its check and verify hold afterwards; undo removes it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-prepare-follow-'));
    try {
      const p = { ctx: { composeDir: dir, mode: 'migrate' }, config: config(dir), log } as never;
      expect((await step.check!(p)).done).toBe(false);
      expect((await step.plan(p)).changes.join('\n')).toContain(`${FOLLOW_OVERRIDE_FILE}: extra_hosts host.docker.internal:host-gateway for mysql`);
      const out = await step.run(p);
      expect(parse(await readFile(join(dir, FOLLOW_OVERRIDE_FILE), 'utf8'))).toEqual({ services: { mysql: { extra_hosts: ['host.docker.internal:host-gateway'] } } });
      expect(await step.verify!(p)).toEqual({ ok: true, findings: [] });
      expect((await step.check!(p)).done).toBe(true);
      await step.undo!({ ...(p as object), previous: out } as never);
      await expect(readFile(join(dir, FOLLOW_OVERRIDE_FILE), 'utf8')).rejects.toThrow(/ENOENT/);
      // A rehearsal follows as migrate will: the same override; a playbook that never follows (verify) writes none.
      const r = { ctx: { composeDir: dir, mode: 'rehearse' }, config: config(dir), log } as never;
      await step.run(r);
      expect(parse(await readFile(join(dir, FOLLOW_OVERRIDE_FILE), 'utf8'))).toEqual({ services: { mysql: { extra_hosts: ['host.docker.internal:host-gateway'] } } });
      await rm(join(dir, FOLLOW_OVERRIDE_FILE));
      await step.run({ ctx: { composeDir: dir, mode: 'verify' }, config: config(dir), log } as never);
      await expect(readFile(join(dir, FOLLOW_OVERRIDE_FILE), 'utf8')).rejects.toThrow(/ENOENT/);
    } finally { await rm(dir, { recursive: true, force: true }); }
  });
});
