/**
 * The MySQL engine reads the app's accounts from its env files: a store's `appEnvFiles` option is the
 * config's app.envFile + app.envFiles unless given, and readEnvAccounts reads every readable file
 * (each user once, an unreadable file naming none) for the export's accounts and the import's passwords.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { normalizeConfig } from '../../../../lib/config/index.ts';
import { withEngineOptions } from '../../../../lib/playbooks/index.ts';
import { appAccounts, passwordSource, readEnvAccounts } from '../../../../lib/engines/mysql/accounts-env.ts';
import { mysqlEngine, type MysqlEngineFacts } from '../../../../lib/engines/mysql/engine.ts';
import { DEFAULT_MYSQL_TARGET } from '../../../../lib/engines/mysql/assess.ts';
import type { MysqlFacts } from '../../../../lib/engines/mysql/facts.ts';
import type { MysqlStore } from '../../../../lib/engines/mysql/options.ts';

function config(dir: string, mysqlOptions: Record<string, unknown> = {}) {
  return withEngineOptions(normalizeConfig({
    app: { envFile: '.env', envFiles: ['worker.env'], appServices: [] },
    stores: [
      { id: 'db', engine: 'mysql', source: 'mysql://root:pw@127.0.0.1:3306/app', target: { service: 'db', migrationPort: 33306 }, options: mysqlOptions },
      { id: 'cache', engine: 'redis', source: 'redis://127.0.0.1:6379', target: { service: 'cache', migrationPort: 36379 } },
    ],
    target: { composeDir: dir, project: 'p' },
  }, { baseDir: dir, env: {} }));
}

describe("a MySQL store reads the app's env files", () => {
  it("fills appEnvFiles with the app's envFile and envFiles (absolute), other engines untouched", () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-envfiles-'));
    const c = config(dir);
    expect(c.stores.find((s) => s.id === 'db')!.options.appEnvFiles).toEqual([join(dir, '.env'), join(dir, 'worker.env')]);
    expect(c.stores.find((s) => s.id === 'cache')!.options).not.toHaveProperty('appEnvFiles');
  });

  it('keeps appEnvFiles the config gives', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-envfiles-'));
    expect(config(dir, { appEnvFiles: ['/srv/app/.env.mysql'] }).stores[0]!.options.appEnvFiles).toEqual(['/srv/app/.env.mysql']);
  });

  it('reads the users every readable file names, once each, with their passwords; a missing file names none', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-envfiles-'));
    writeFileSync(join(dir, '.env'), 'DATABASE_URL=mysql+pymysql://app:app%40pw@localhost/app\nREDIS_URL=redis://localhost\n');
    writeFileSync(join(dir, 'worker.env'), 'WORKER_DB_USER=worker\nWORKER_DB_PASSWORD=w-pw\nOTHER_URL=mysql://app:other@localhost/app\n');
    const env = await readEnvAccounts([join(dir, '.env'), join(dir, 'missing.env'), join(dir, 'worker.env')]);
    expect(env).toEqual([
      { user: 'app', key: 'DATABASE_URL', password: 'app@pw' },
      { user: 'worker', key: 'WORKER_DB_USER', password: 'w-pw' },
    ]);
    expect(appAccounts([{ user: 'reports', host: '10.%' }], env)).toEqual([{ user: 'reports', host: '10.%' }, { user: 'app' }, { user: 'worker' }]);
    const pw = passwordSource([], env);
    expect([await pw({ user: 'worker', host: '%' }), await pw({ user: 'nobody', host: '%' })]).toEqual(['w-pw', undefined]);
    expect(await readEnvAccounts([])).toEqual([]);
  });

  it('preflight: an account the .env names (absent from the source) is created with the .env password, a blocker without one', () => {
    const source: MysqlFacts = {
      endpoint: '127.0.0.1:3306', version: '8.0.36', sqlMode: 'STRICT_TRANS_TABLES', lowerCaseTableNames: 0, characterSetServer: 'utf8mb4',
      collationServer: 'utf8mb4_general_ci', localInfile: true, maxAllowedPacket: 64 << 20, grants: ['GRANT ALL PRIVILEGES ON *.* TO `root`@`%`'],
      databases: [{ name: 'app', charset: 'utf8mb4', collation: 'utf8mb4_general_ci' }], missingDatabases: [], tables: [], definers: [], generatedColumns: 0,
      foreignKeys: [], largestLobColumn: 0,
      accounts: [{ user: 'vedfolnir', host: '%', why: ['app account'], exists: false, plugin: '', authHex: '', grants: [], notCarried: [] }],
    } as unknown as MysqlFacts;
    const store = { id: 'db', engine: 'mysql', source: 'mysql://root@127.0.0.1/app', target: { service: 'db' }, options: mysqlEngine.parseOptions({}, 'db') } as MysqlStore;
    const severity = (f: MysqlEngineFacts) => mysqlEngine.assess(f, store).find((x) => x.check === 'mysql-account')?.severity;
    expect(severity({ source, target: DEFAULT_MYSQL_TARGET })).toBe('blocker');
    expect(severity({ source, target: DEFAULT_MYSQL_TARGET, envPasswordUsers: ['vedfolnir'] })).toBe('rewrite');
  });
});
