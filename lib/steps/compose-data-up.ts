/**
 * compose-data-up: bring the services that hold the stores up for the import, each published on
 * 127.0.0.1:<migrationPort> only. A MySQL store's service starts with the import's settings:
 * local_infile on, the source's character set, and (ferry's compose layout) lower_case_table_names
 * matched to the source (fixed at first init). Each setting is recorded in the journal;
 * compose-cutover removes the access and restores them. `undo` = down, never removing volumes.
 */
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FerryError } from '../core/errors.ts';
import { defineStep, type StepParams } from '../core/step.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import type { Config, ConfigStore } from '../config/schema.ts';
import type { FerryContext } from './context.ts';
import { exists } from '../compose/layout.ts';
import { readMysqlSettings, type MysqlServerSettings } from '../compose/mysql-settings.ts';
import { serviceHealth, waitHealthy } from '../compose/health.ts';
import { createStackClient, removeMigrationNetwork } from '../compose/stack.ts';
import { containerPortOf, targetSecretName, targetUrlOf } from '../compose/store-target.ts';
import { secretPath } from '../compose/layout.ts';
import {
  LOWER_CASE_CNF, migrationOverridePath, mysqlImportFlags, overrideServices, renderLowerCaseCnf, renderServicesOverride, targetLowerCaseTableNames,
  type MysqlImportSettings, type PublishedService,
} from '../compose/migration-access.ts';
import { mysqlEndpointFromUrl } from '../engines/mysql/endpoint.ts';
import { redisEndpointFromUrl } from '../engines/redis/endpoint.ts';
import { connectRedis } from '../engines/redis/connect.ts';
import { cutoverOptionsOf, decideCutover } from './cutover-mode.ts';

type P = StepParams<Config, FerryContext>;

interface Wanted {
  readonly services: readonly PublishedService[];
  /** Per MySQL store: the import settings of its service. */
  readonly mysql: Readonly<Record<string, MysqlImportSettings>>;
  readonly lowerCase: 0 | 1;
}

/**
 * The stores whose services are published. A config without stores (a library caller's bare config)
 * gets ferry's own two services, mysql and redis, on `target.migrationPorts`.
 */
function published(c: Config): ConfigStore[] {
  if (!c.stores.length) {
    return [
      { id: 'mysql', engine: 'mysql', source: '', target: { service: 'mysql', migrationPort: c.target.migrationPorts.mysql }, options: {} },
      { id: 'redis', engine: 'redis', source: '', target: { service: 'redis', migrationPort: c.target.migrationPorts.redis }, options: {} },
    ];
  }
  return c.stores.filter((s) => s.target.migrationPort !== undefined && containerPortOf(s) !== undefined);
}
const mysqlStores = (c: Config) => published(c).filter((s) => s.engine === 'mysql');
const sourceMysql = (s: ConfigStore, p: P) => mysqlEndpointFromUrl(s.source, { field: `stores[${s.id}].source`, redactor: p.ctx.redactor });

/** ferry's own compose layout keeps mysqld option files in config/mysql/conf.d (the lower_case_table_names file goes there). */
const hasCnfDir = (p: P) => exists(join(p.ctx.composeDir, 'config', 'mysql', 'conf.d'));

/** What the import needs: ports from the stores, MySQL settings from the sources (recorded, so a resume reuses them). */
async function wanted(p: P): Promise<Wanted> {
  const recorded = p.previous?.data?.wanted as Wanted | undefined;
  if (recorded) return recorded;
  const mysql: Record<string, MysqlImportSettings> = {};
  let lowerCase: 0 | 1 = 0;
  for (const s of mysqlStores(p.config)) {
    // A config without stores (a library caller) may still name the host's MySQL in the run context.
    const endpoint = s.source ? sourceMysql(s, p) : p.ctx.source.mysql;
    const src = endpoint ? await readMysqlSettings(endpoint) : undefined;
    mysql[s.id] = { localInfile: true, characterSet: src?.characterSet ?? 'utf8mb4', ...(src ? { collation: src.collation } : {}) };
    if (src) lowerCase = targetLowerCaseTableNames(src.lowerCaseTableNames) || lowerCase;
  }
  const seen = new Set<string>();
  const services = published(p.config).filter((s) => !seen.has(s.target.service) && seen.add(s.target.service)).map((s) => ({
    service: s.target.service, hostPort: s.target.migrationPort!, containerPort: containerPortOf(s)!,
    ...(mysql[s.id] ? { command: ['mysqld', ...mysqlImportFlags(mysql[s.id]!)] } : {}),
  }));
  return { services, mysql, lowerCase };
}

const client = (p: P, migrationAccess: boolean) => createStackClient({
  composeDir: p.ctx.composeDir, project: p.ctx.project, files: p.config.target.files, migrationAccess, redactor: p.ctx.redactor,
});

/** The target of a store as ferry reaches it now: the run's binding, else 127.0.0.1:<migrationPort> with the stack's secret. */
function targetUrl(p: P, s: ConfigStore): string | undefined {
  const bound = p.ctx.stores?.get(s.id);
  if (bound) return bound.targetUrl();
  const secret = targetSecretName(s);
  return targetUrlOf(s, () => {
    const pw = readFileSync(secretPath(p.ctx.composeDir, secret!), 'utf8').replace(/\r?\n$/, '');
    p.ctx.redactor.add(pw);
    return pw;
  });
}

async function targetMysqlSettings(p: P, s: ConfigStore): Promise<MysqlServerSettings> {
  const url = targetUrl(p, s);
  if (!url) throw new FerryError('E_CONFIG', `store ${s.id}: no target to reach`, { hint: 'the stack\'s secrets are missing: run the migrate playbook from compose-prepare' });
  return readMysqlSettings(mysqlEndpointFromUrl(url, { field: `stores[${s.id}].target`, redactor: p.ctx.redactor }));
}

async function pingRedis(p: P, s: ConfigStore): Promise<string> {
  const url = targetUrl(p, s);
  if (!url) return 'no target to reach';
  const r = await connectRedis(redisEndpointFromUrl(url, { field: `stores[${s.id}].target`, redactor: p.ctx.redactor }));
  try { return await r.ping(); } finally { r.disconnect(); }
}

export default defineStep<Config, FerryContext>({
  id: 'compose-data-up',
  title: 'Start the stores\' services with migration-time access',
  async fingerprint(p) {
    const w = await wanted(p);
    return createHash('sha256').update(`${renderServicesOverride(w.services)}\n${w.lowerCase}\n${p.config.target.dataServices.join(',')}`).digest('hex');
  },
  async check(p) {
    const w = await wanted(p);
    const current = await readFile(migrationOverridePath(p.ctx.composeDir), 'utf8').catch(() => '');
    if (current !== renderServicesOverride(w.services)) return { done: false, reason: 'the migration override is absent or differs' };
    const c = await client(p, true);
    for (const s of p.config.target.dataServices) {
      const h = await serviceHealth(c, s);
      if (h !== 'healthy') return { done: false, reason: `service ${s} is ${h}` };
    }
    return { done: true, reason: `${p.config.target.dataServices.join(', ')} healthy with migration access` };
  },
  async plan(p) {
    const w = await wanted(p);
    return {
      reads: [p.ctx.composeDir, ...mysqlStores(p.config).map((s) => `store ${s.id}: source mysql settings`)],
      changes: [migrationOverridePath(p.ctx.composeDir), `compose up ${p.config.target.dataServices.join(' ')} (project ${p.ctx.project})`],
      details: w.services.map((s) => `${s.service} on 127.0.0.1:${s.hostPort}`).join(', '),
    };
  },
  async run(p) {
    const w = await wanted(p);
    const dir = p.ctx.composeDir;
    const cnf = join(dir, LOWER_CASE_CNF);
    let wroteCnf = false;
    if (mysqlStores(p.config).length && (await hasCnfDir(p))) {
      const initialised = await exists(join(dir, 'data', 'mysql', 'mysql'));
      if (!initialised && w.lowerCase !== 0 && !(await exists(cnf))) await writeFileAtomic(cnf, renderLowerCaseCnf(w.lowerCase));
      // Ours by content, so a run killed right after writing it still knows (and undo may remove it).
      wroteCnf = (await readFile(cnf, 'utf8').catch(() => '')) === renderLowerCaseCnf(w.lowerCase);
    }
    await writeFileAtomic(migrationOverridePath(dir), renderServicesOverride(w.services));
    const c = await client(p, true);
    await c.up(p.config.target.dataServices, { signal: p.signal });
    await waitHealthy(c, p.config.target.dataServices, { signal: p.signal });
    const versions: Record<string, string> = {};
    for (const s of mysqlStores(p.config)) {
      const got = await targetMysqlSettings(p, s);
      versions[s.id] = got.version;
      if (got.lowerCaseTableNames !== w.lowerCase) {
        throw new FerryError('E_LOWER_CASE_TABLE_NAMES',
          `target mysql of store ${s.id} (service ${s.target.service}) runs with lower_case_table_names=${got.lowerCaseTableNames}, the source needs ${w.lowerCase}`, {
            hint: `MySQL 8 fixes lower_case_table_names when the data directory is initialised: stop the stack, move service ${s.target.service}'s data directory aside (it holds no migrated data yet), and re-run`,
          });
      }
    }
    p.log.info(`migration access: ${w.services.map((s) => `${s.service} on 127.0.0.1:${s.hostPort}`).join(', ')}`);
    return {
      data: {
        wanted: w, lowerCaseTableNames: w.lowerCase, wroteLowerCaseCnf: wroteCnf, overrideFile: migrationOverridePath(dir),
        // What the migration changed, and what cutover restores.
        // Per MySQL store (by id): the import settings its service runs with.
        access: w.mysql,
        settings: [
          ...Object.entries(w.mysql).flatMap(([id, m]) => {
            const name = (n: string) => (Object.keys(w.mysql).length > 1 ? `${id}: ${n}` : n);
            return [
              { name: name('local_infile'), migration: m.localInfile ? 1 : 0, restore: 'the service\'s own configuration (0)' },
              { name: name('character_set_server'), migration: m.characterSet, restore: 'the service\'s own configuration' },
            ];
          }),
          ...(mysqlStores(p.config).length ? [{ name: 'lower_case_table_names', migration: w.lowerCase, restore: 'kept: fixed at data-dir initialisation' }] : []),
          { name: 'published ports', migration: w.services.map((s) => `127.0.0.1:${s.hostPort}`).join(', '), restore: 'none' },
        ],
        versions,
      },
    };
  },
  async verify(p) {
    const w = await wanted(p);
    const findings: string[] = [];
    // A following store's service handed over before the freeze (unpublish:<store>) is no longer in the override: its step checks it.
    // A store that no longer follows (cutover changed) needs its port back: that is a finding, and this step runs again.
    const text = await readFile(migrationOverridePath(p.ctx.composeDir), 'utf8').catch(() => '');
    const o = cutoverOptionsOf(p.config);
    const follows = (s: ConfigStore) => { const b = p.ctx.stores?.get(s.id); return b !== undefined && decideCutover(b, o).how === 'follow'; };
    const handedOver = (s: ConfigStore) => text.trim() !== '' && !overrideServices(text).includes(s.target.service);
    for (const s of published(p.config).filter((x) => handedOver(x) && !follows(x))) findings.push(`${s.id}: service ${s.target.service} was handed over for following, but the store is copied now`);
    for (const s of published(p.config).filter((x) => !(handedOver(x) && follows(x)))) {
      if (s.engine === 'mysql') {
        const got = await targetMysqlSettings(p, s).catch((e: Error) => { findings.push(e.message); return undefined; });
        const m = w.mysql[s.id];
        if (got && m && got.localInfile !== m.localInfile) findings.push(`${s.id}: local_infile is ${got.localInfile ? 1 : 0}`);
        if (got && m && got.characterSet !== m.characterSet) findings.push(`${s.id}: character_set_server is ${got.characterSet}, expected ${m.characterSet}`);
        if (got && got.lowerCaseTableNames !== w.lowerCase) findings.push(`${s.id}: lower_case_table_names is ${got.lowerCaseTableNames}, expected ${w.lowerCase}`);
      } else if (s.engine === 'redis') {
        const pong = await pingRedis(p, s).catch((e: Error) => e.message);
        if (pong !== 'PONG') findings.push(`${s.id}: redis at 127.0.0.1:${s.target.migrationPort}: ${pong}`);
      }
    }
    return { ok: findings.length === 0, findings };
  },
  async undo(p) {
    const c = await client(p, await exists(migrationOverridePath(p.ctx.composeDir)));
    await c.down({ removeVolumes: false });
    await removeMigrationNetwork(c);
    await rm(migrationOverridePath(p.ctx.composeDir), { force: true });
    // The cnf must stay once data/mysql was initialised with it; before that it can go.
    if (p.previous?.data?.wroteLowerCaseCnf && !(await exists(join(p.ctx.composeDir, 'data', 'mysql', 'mysql')))) {
      await rm(join(p.ctx.composeDir, LOWER_CASE_CNF), { force: true });
    }
  },
});
