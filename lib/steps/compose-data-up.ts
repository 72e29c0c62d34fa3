/**
 * compose-data-up: bring the stack's data services up for the import, reachable from this host on
 * 127.0.0.1 only (migration ports), mysql started with the import's settings: local_infile on, the
 * source's character set, and lower_case_table_names matched to the source (fixed at first init).
 * Each setting is recorded in the journal; compose-cutover removes the access and restores them.
 * `undo` = down, never removing volumes (the data dirs are bind mounts and stay).
 */
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FerryError } from '../core/errors.ts';
import { defineStep, type StepParams } from '../core/step.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext, RedisEndpoint } from './context.ts';
import { Redis } from 'ioredis';
import { exists } from '../compose/layout.ts';
import { targetEndpoints } from '../compose/endpoints.ts';
import { readMysqlSettings } from '../compose/mysql-settings.ts';
import { serviceHealth, waitHealthy } from '../compose/health.ts';
import { createStackClient, removeMigrationNetwork } from '../compose/stack.ts';
import {
  LOWER_CASE_CNF, migrationOverridePath, renderLowerCaseCnf, renderMigrationOverride, targetLowerCaseTableNames,
  type MigrationAccess,
} from '../compose/migration-access.ts';

type P = StepParams<Config, FerryContext>;

async function pingRedis(ep: RedisEndpoint): Promise<string> {
  const r = new Redis({ host: ep.host, port: ep.port, username: ep.username, password: ep.password, lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 10_000 });
  try { await r.connect(); return await r.ping(); } finally { r.disconnect(); }
}

/** What the import needs: ports from config, mysql settings from the source (recorded, so a resume reuses them). */
async function wanted(p: P): Promise<{ access: MigrationAccess; lowerCase: 0 | 1 }> {
  const recorded = p.previous?.data?.access as MigrationAccess | undefined;
  const src = recorded ? undefined : p.ctx.source.mysql ? await readMysqlSettings(p.ctx.source.mysql) : undefined;
  const access: MigrationAccess = {
    ports: { mysql: p.config.target.migrationPorts.mysql, redis: p.config.target.migrationPorts.redis },
    mysql: recorded?.mysql ?? { localInfile: true, characterSet: src?.characterSet ?? 'utf8mb4', ...(src ? { collation: src.collation } : {}) },
  };
  const lowerCase = (p.previous?.data?.lowerCaseTableNames as 0 | 1 | undefined) ?? targetLowerCaseTableNames(src?.lowerCaseTableNames ?? 0);
  return { access, lowerCase };
}

const client = (p: P, migrationAccess: boolean) => createStackClient({
  composeDir: p.ctx.composeDir, project: p.ctx.project, files: p.config.target.files, migrationAccess, redactor: p.ctx.redactor,
});

async function targetMysql(p: P) {
  return p.ctx.target.mysql ?? (await targetEndpoints(p.ctx.composeDir, p.config)).mysql;
}

export default defineStep<Config, FerryContext>({
  id: 'compose-data-up',
  title: 'Start the stack\'s data services with migration-time access',
  async fingerprint(p) {
    const { access, lowerCase } = await wanted(p);
    return createHash('sha256').update(`${renderMigrationOverride(access)}\n${lowerCase}\n${p.config.target.dataServices.join(',')}`).digest('hex');
  },
  async check(p) {
    const { access } = await wanted(p);
    const current = await readFile(migrationOverridePath(p.ctx.composeDir), 'utf8').catch(() => '');
    if (current !== renderMigrationOverride(access)) return { done: false, reason: 'the migration override is absent or differs' };
    const c = await client(p, true);
    for (const s of p.config.target.dataServices) {
      const h = await serviceHealth(c, s);
      if (h !== 'healthy') return { done: false, reason: `service ${s} is ${h}` };
    }
    return { done: true, reason: `${p.config.target.dataServices.join(', ')} healthy with migration access` };
  },
  async plan(p) {
    const { access } = await wanted(p);
    return {
      reads: [p.ctx.composeDir, ...(p.ctx.source.mysql ? ['source mysql settings'] : [])],
      changes: [migrationOverridePath(p.ctx.composeDir), `compose up ${p.config.target.dataServices.join(' ')} (project ${p.ctx.project})`],
      details: `mysql on 127.0.0.1:${access.ports.mysql}, redis on 127.0.0.1:${access.ports.redis}`,
    };
  },
  async run(p) {
    const { access, lowerCase } = await wanted(p);
    const dir = p.ctx.composeDir;
    const initialised = await exists(join(dir, 'data', 'mysql', 'mysql'));
    const cnf = join(dir, LOWER_CASE_CNF);
    if (!initialised && lowerCase !== 0 && !(await exists(cnf))) await writeFileAtomic(cnf, renderLowerCaseCnf(lowerCase));
    // Ours by content, so a run killed right after writing it still knows (and undo may remove it).
    const wroteCnf = (await readFile(cnf, 'utf8').catch(() => '')) === renderLowerCaseCnf(lowerCase);
    await writeFileAtomic(migrationOverridePath(dir), renderMigrationOverride(access));
    const c = await client(p, true);
    await c.up(p.config.target.dataServices, { signal: p.signal });
    await waitHealthy(c, p.config.target.dataServices, { signal: p.signal });
    const got = await readMysqlSettings(await targetMysql(p));
    if (got.lowerCaseTableNames !== lowerCase) {
      throw new FerryError('E_LOWER_CASE_TABLE_NAMES',
        `target mysql in ${join(dir, 'data', 'mysql')} runs with lower_case_table_names=${got.lowerCaseTableNames}, the source needs ${lowerCase}`, {
          hint: 'MySQL 8 fixes lower_case_table_names when the data directory is initialised: stop the stack, move data/mysql aside (it holds no migrated data yet), and re-run',
        });
    }
    p.log.info(`mysql on 127.0.0.1:${access.ports.mysql} (local_infile=${got.localInfile ? 1 : 0}, ${got.characterSet}), redis on 127.0.0.1:${access.ports.redis}`);
    return {
      data: {
        access, lowerCaseTableNames: lowerCase, wroteLowerCaseCnf: wroteCnf, overrideFile: migrationOverridePath(dir),
        // What the migration changed, and what cutover restores.
        settings: [
          { name: 'local_infile', migration: access.mysql.localInfile ? 1 : 0, restore: 'config/mysql/conf.d/vedfolnir.cnf (0)' },
          { name: 'character_set_server', migration: access.mysql.characterSet, restore: 'config/mysql/conf.d/vedfolnir.cnf (utf8mb4)' },
          { name: 'lower_case_table_names', migration: lowerCase, restore: 'kept: fixed at data-dir initialisation' },
          { name: 'published ports', migration: `127.0.0.1:${access.ports.mysql}, 127.0.0.1:${access.ports.redis}`, restore: 'none' },
        ],
        mysqlVersion: got.version,
      },
    };
  },
  async verify(p) {
    const { access, lowerCase } = await wanted(p);
    const findings: string[] = [];
    const got = await readMysqlSettings(await targetMysql(p)).catch((e: Error) => { findings.push(e.message); return undefined; });
    if (got && got.localInfile !== access.mysql.localInfile) findings.push(`local_infile is ${got.localInfile ? 1 : 0}`);
    if (got && got.characterSet !== access.mysql.characterSet) findings.push(`character_set_server is ${got.characterSet}, expected ${access.mysql.characterSet}`);
    if (got && got.lowerCaseTableNames !== lowerCase) findings.push(`lower_case_table_names is ${got.lowerCaseTableNames}, expected ${lowerCase}`);
    const redis = p.ctx.target.redis ?? (await targetEndpoints(p.ctx.composeDir, p.config)).redis;
    const pong = await pingRedis(redis).catch((e: Error) => e.message);
    if (pong !== 'PONG') findings.push(`redis at 127.0.0.1:${redis.port}: ${pong}`);
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
