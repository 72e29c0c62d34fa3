/**
 * A migration sandbox around given source servers: a temp dir with a copy of compose/ (no data) whose
 * `.env` names the test bed's images, the fixture .env, and a `ferry.config.json` whose passwords are
 * `${ENV}` references (the values travel in `env`). Used by the playbook e2e tests and the runbook
 * test; `cleanup` downs the stack with its volumes.
 */
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ConfigInput } from '../../lib/config/schema.ts';
import { createComposeClient, MIGRATION_OVERRIDE_FILE } from '../../lib/compose/index.ts';
import { freePort } from '../../lib/util/free-port.ts';
import { DEMO_ENV_FIXTURE, REPO_COMPOSE_DIR } from '../../demo/paths.ts';
import { testImages } from './images.ts';

export interface SandboxSource { readonly host: string; readonly port: number; readonly password: string }

export interface Sandbox {
  readonly dir: string;
  readonly configPath: string;
  readonly envPath: string;
  readonly composeDir: string;
  readonly stateDir: string;
  readonly project: string;
  /** Variables the config's `${…}` references need. */
  readonly env: Readonly<Record<string, string>>;
  cleanup(): Promise<void>;
}

export async function createSandbox(o: { mysql: SandboxSource & { database: string }; redis: SandboxSource; config?: Partial<ConfigInput> }): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-sandbox-'));
  const composeDir = join(dir, 'compose');
  const envPath = join(dir, 'app', '.env');
  const stateDir = join(dir, 'state');
  const project = `ferry-sbx-${randomBytes(3).toString('hex')}`;
  await cp(REPO_COMPOSE_DIR, composeDir, { recursive: true });
  // The stack's images are the compose project's own configuration (its .env), not ferry's environment.
  await writeFile(join(composeDir, '.env'), `MYSQL_IMAGE=${testImages().mysql}\nREDIS_IMAGE=${testImages().redis}\n`);
  await mkdir(join(dir, 'app'));
  await cp(DEMO_ENV_FIXTURE, envPath);
  const config: ConfigInput = {
    source: {
      mysql: { url: `mysql://root:\${FERRY_SRC_MYSQL_PASSWORD}@${o.mysql.host}:${o.mysql.port}/${o.mysql.database}` },
      redis: { url: `redis://:\${FERRY_SRC_REDIS_PASSWORD}@${o.redis.host}:${o.redis.port}` },
    },
    app: { envFile: envPath },
    target: { composeDir, project, files: ['docker-compose.test.yml'], migrationPorts: { mysql: await freePort(), redis: await freePort() } },
    freeze: { quietSeconds: 2 },
    redis: { path: 'dump' },
    stateDir,
    ...o.config,
  };
  const configPath = join(dir, 'ferry.config.json');
  await writeFile(configPath, JSON.stringify(config, null, 2));
  return {
    dir, configPath, envPath, composeDir, stateDir, project,
    env: { FERRY_SRC_MYSQL_PASSWORD: o.mysql.password, FERRY_SRC_REDIS_PASSWORD: o.redis.password },
    cleanup: async () => {
      const files = ['docker-compose.yml', 'docker-compose.test.yml'];
      if (await stat(join(composeDir, MIGRATION_OVERRIDE_FILE)).then(() => true, () => false)) files.push(MIGRATION_OVERRIDE_FILE);
      const client = await createComposeClient({ composeDir, project, files }).catch(() => undefined);
      await client?.down({ removeVolumes: true }).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Turns a sandbox's Vedfolnir config into one whose `mysql` and `redis` stores follow sources reached BY NAME on a
 * Docker network the caller created: an override joins both data services to it (`services` adds YAML per
 * service, e.g. memory limits), the stores name `followFrom`, no app service starts (the test bed has no app
 * image), and the cutover runs in `auto` mode with the given budget.
 */
export async function followOnNetwork(sb: Sandbox, o: {
  network: string; mysqlAlias: string; redisAlias: string; overrideFile: string; budgetSeconds: number;
  services?: { readonly mysql?: string; readonly redis?: string };
}): Promise<void> {
  const extra = (svc: 'mysql' | 'redis') => (o.services?.[svc] ? `, ${o.services[svc]}` : '');
  await writeFile(join(sb.composeDir, o.overrideFile), [
    'services:', `  mysql: { networks: { ferrysrc: {} }${extra('mysql')} }`, `  redis: { networks: { ferrysrc: {} }${extra('redis')} }`,
    'networks:', `  ferrysrc: { external: true, name: ${o.network} }`, '',
  ].join('\n'));
  const config = JSON.parse(await readFile(sb.configPath, 'utf8'));
  config.stores = [
    { id: 'mysql', engine: 'mysql', source: config.source.mysql.url, target: { service: 'mysql', migrationPort: config.target.migrationPorts.mysql }, options: { followFrom: { host: o.mysqlAlias, port: 3306 } } },
    { id: 'redis', engine: 'redis', source: config.source.redis.url, target: { service: 'redis', migrationPort: config.target.migrationPorts.redis }, options: { followFrom: { host: o.redisAlias, port: 6379 } } },
  ];
  config.source = {};
  config.app.appServices = [];
  delete config.redis;
  config.target.files = [...config.target.files, o.overrideFile];
  config.cutover = { mode: 'auto', budgetSeconds: o.budgetSeconds };
  await writeFile(sb.configPath, JSON.stringify(config, null, 2));
}
