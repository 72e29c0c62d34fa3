/**
 * compose/ validated by `config` under every Compose installed, for every combination of overrides
 * (with and without ferry's migration access), and the properties the design promises.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableComposes, createComposeClient, MIGRATION_OVERRIDE_FILE, renderMigrationOverride } from '../../../lib/compose/index.ts';

const COMPOSE_SRC = fileURLToPath(new URL('../../../compose/', import.meta.url));
const clis = await availableComposes();
const OVERRIDES = ['docker-compose.dev.yml', 'docker-compose.prod.yml', 'docker-compose.test.yml'];
const DATA_SERVICES = ['mysql', 'redis', 'vault', 'prometheus', 'loki', 'mysql-exporter', 'redis-exporter', 'nginx-exporter', 'vedfolnir'];
/** Services whose official image must start as root: each drops privileges itself. */
const ROOT_AT_START: Record<string, string> = {
  mysql: 'entrypoint chowns the bind-mounted data dir, then gosu mysql',
  redis: 'entrypoint chowns /data, then gosu/su-exec redis',
  nginx: 'master binds 80/443; workers run as nginx',
  vault: 'entrypoint sets IPC_LOCK on the binary, then su-exec vault',
};

type Service = { ports?: Array<string | { published: number | string; target: number; host_ip?: string }>; user?: string; [k: string]: unknown };
type Stack = { services: Record<string, Service>; networks: Record<string, { internal?: boolean }>; secrets: Record<string, { file: string }> };

/** Every subset of the overrides, in file order. */
const combos = Array.from({ length: 1 << OVERRIDES.length }, (_, m) => OVERRIDES.filter((_f, i) => m & (1 << i)));

function published(s: Service): Array<{ host: string; port: string }> {
  return (s.ports ?? []).map((p) => {
    if (typeof p === 'string') {
      const parts = p.split(':');
      return parts.length === 3 ? { host: parts[0]!, port: parts[1]! } : { host: '', port: parts[0]! };
    }
    return { host: p.host_ip ?? '', port: String(p.published) };
  });
}

describe.each(clis.map((c) => [c.kind, c] as const))('compose/ under %s', (_k, cli) => {
  let dir: string;
  const config = async (files: string[], env: Record<string, string> = {}): Promise<Stack> => {
    const c = await createComposeClient({ composeDir: dir, project: 'ferry-config-test', cli, files: ['docker-compose.yml', ...files], env });
    return parse(await c.config()) as Stack;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-compose-config-'));
    await cp(COMPOSE_SRC, dir, { recursive: true });
    await writeFile(join(dir, MIGRATION_OVERRIDE_FILE), renderMigrationOverride({
      ports: { mysql: 33306, redis: 36379 }, mysql: { localInfile: true, characterSet: 'utf8mb4', collation: 'utf8mb4_unicode_ci' },
    }));
  });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  it.each(combos.flatMap((c) => [[c.join(' + ') || 'base', c], [`${c.join(' + ') || 'base'} + migration`, [...c, MIGRATION_OVERRIDE_FILE]]] as const))(
    'validates %s', { timeout: 30_000 }, async (_name, files) => {
      const stack = await config([...files]);
      expect(Object.keys(stack.services).sort()).toEqual(
        ['grafana', 'loki', 'mysql', 'mysql-exporter', 'nginx', 'nginx-exporter', 'prometheus', 'redis', 'redis-exporter', 'vault', 'vedfolnir']);
      const dev = files.includes('docker-compose.dev.yml');
      const migration = files.includes(MIGRATION_OVERRIDE_FILE);
      for (const name of DATA_SERVICES) {
        for (const p of published(stack.services[name]!)) {
          // Only dev and migration access publish a data service, and then on loopback only.
          expect(dev || migration, `${name} publishes ${p.port}`).toBe(true);
          expect(p.host, `${name} publishes ${p.port} beyond loopback`).toBe('127.0.0.1');
        }
      }
      if (migration) {
        expect(published(stack.services.mysql!)).toContainEqual({ host: '127.0.0.1', port: '33306' });
        expect(published(stack.services.redis!)).toContainEqual({ host: '127.0.0.1', port: '36379' });
        expect(stack.services.mysql!.command).toEqual(['mysqld', '--local-infile=1', '--character-set-server=utf8mb4', '--collation-server=utf8mb4_unicode_ci']);
      }
    });

  it('the prod stack publishes only nginx 80/443 and grafana 3000, never a data-service port', async () => {
    const stack = await config(['docker-compose.prod.yml']);
    const ports = Object.fromEntries(Object.entries(stack.services)
      .map(([n, s]) => [n, published(s).map((p) => p.port).sort()] as const).filter(([, p]) => p.length > 0));
    expect(ports).toEqual({ nginx: ['443', '80'], grafana: ['3000'] });
  });

  it('every service whose image allows it runs as non-root', async () => {
    for (const files of [[], ['docker-compose.prod.yml']]) {
      const stack = await config(files);
      for (const [name, s] of Object.entries(stack.services)) {
        if (ROOT_AT_START[name]) { expect(s.user, `${name}: ${ROOT_AT_START[name]}`).toBeUndefined(); continue; }
        expect(s.user, `${name} sets no user`).toMatch(/^[1-9]\d*(:[1-9]\d*)?$/);
      }
    }
    const dockerfile = await readFile(join(dir, 'app', 'Dockerfile'), 'utf8');
    expect(dockerfile.match(/^USER (.+)$/gm)?.at(-1)).toBe('USER 10001:10001');
  });

  it('keeps data services on internal networks, secrets in ./secrets, health-gated start order', async () => {
    const stack = await config([]);
    expect(stack.networks.internal?.internal).toBe(true);
    expect(stack.networks.monitoring?.internal).toBe(true);
    expect(stack.networks.external?.internal ?? false).toBe(false);
    for (const n of ['mysql', 'redis']) expect(Object.keys(stack.services[n]!.networks as object)).toEqual(['internal']);
    for (const s of Object.values(stack.secrets)) expect(s.file).toBe(join(dir, 'secrets', s.file.split('/').at(-1)!));
    // v2 adds `required`/`restart` to each entry: match what both print.
    expect(stack.services.vedfolnir!.depends_on).toMatchObject({ mysql: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
    for (const [name, s] of Object.entries(stack.services)) expect(s.restart, name).toBe('unless-stopped');
    // v1 prints volumes as `src:dst[:mode]`, v2 as `{ type, source, target }`.
    const binds = (n: string) => (stack.services[n]!.volumes as Array<string | { source: string; target: string }>)
      .map((v) => (typeof v === 'string' ? v.split(':').slice(0, 2).join(':') : `${v.source}:${v.target}`));
    expect(binds('mysql')).toContain(`${dir}/data/mysql:/var/lib/mysql`);
    expect(binds('redis')).toContain(`${dir}/data/redis:/data`);
  });

  it('takes image names from variables, defaulting to the official images', async () => {
    const defaults = await config([]);
    expect([defaults.services.mysql!.image, defaults.services.redis!.image]).toEqual(['mysql:8.0', 'redis:7-alpine']);
    const standins = await config([], { MYSQL_IMAGE: 'stand-in/mysql:1', REDIS_IMAGE: 'stand-in/redis:1' });
    expect([standins.services.mysql!.image, standins.services.redis!.image]).toEqual(['stand-in/mysql:1', 'stand-in/redis:1']);
  });
});

it('finds at least one Compose', () => { expect(clis.length).toBeGreaterThan(0); });

describe('app/Dockerfile (static: the python base image cannot be pulled here)', () => {
  it('is multi-stage on python:3.12-slim, runs gunicorn with eventlet as non-root, checks /health', async () => {
    const text = await readFile(join(COMPOSE_SRC, 'app', 'Dockerfile'), 'utf8');
    expect(text).toMatch(/^ARG PYTHON_IMAGE=python:3\.12-slim$/m);
    expect(text.match(/^FROM \$\{PYTHON_IMAGE\} AS (\w+)$/gm)).toEqual(['FROM ${PYTHON_IMAGE} AS build', 'FROM ${PYTHON_IMAGE} AS runtime']);
    expect(text).toMatch(/^COPY --from=build /m);
    expect(text).toMatch(/--worker-class", "eventlet"/);
    expect(text).toMatch(/HEALTHCHECK[^\n]*\n\s+CMD curl -fsS http:\/\/127\.0\.0\.1:5000\/health/);
    const gunicorn = await readFile(join(COMPOSE_SRC, 'app', 'gunicorn.conf.py'), 'utf8');
    expect(gunicorn).toMatch(/^worker_class = "eventlet"$/m);
  });
});
