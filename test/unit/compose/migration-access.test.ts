import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  MIGRATION_LABEL, mysqlImportFlags, renderLowerCaseCnf, renderMigrationOverride, targetLowerCaseTableNames,
} from '../../../lib/compose/migration-access.ts';

describe('renderMigrationOverride', () => {
  const access = { ports: { mysql: 33306, redis: 36379 }, mysql: { localInfile: true, characterSet: 'utf8mb4', collation: 'utf8mb4_0900_ai_ci' } };

  it('publishes mysql and redis on 127.0.0.1 only, on the migration ports, labelled', () => {
    const doc = parse(renderMigrationOverride(access)) as { services: Record<string, { ports: string[]; labels: Record<string, string>; command?: string[] }>; networks: Record<string, { driver: string }> };
    expect(doc.services.mysql!.ports).toEqual(['127.0.0.1:33306:3306']);
    expect(doc.services.redis!.ports).toEqual(['127.0.0.1:36379:6379']);
    expect(doc.services.mysql!.labels[MIGRATION_LABEL]).toBe('1');
    expect(doc.services.redis!.command).toBeUndefined();
    expect(doc.services.mysql!.command).toEqual(['mysqld', '--local-infile=1', '--character-set-server=utf8mb4', '--collation-server=utf8mb4_0900_ai_ci']);
    expect(Object.values(doc.networks).map((n) => n.driver)).toEqual(['bridge']);
  });

  it('is stable (check compares it byte for byte) and follows renamed services', () => {
    expect(renderMigrationOverride(access)).toBe(renderMigrationOverride({ ...access }));
    const doc = parse(renderMigrationOverride({ ...access, services: { mysql: 'db', redis: 'cache' } })) as { services: Record<string, unknown> };
    expect(Object.keys(doc.services)).toEqual(['db', 'cache']);
  });

  it('rejects a port out of range, naming it', () => {
    expect(() => renderMigrationOverride({ ...access, ports: { mysql: 0, redis: 36379 } })).toThrow(/`mysql`.*got `0`/);
  });

  it('omits the collation when none is known and can switch local_infile off', () => {
    expect(mysqlImportFlags({ localInfile: false, characterSet: 'latin1' })).toEqual(['--local-infile=0', '--character-set-server=latin1']);
  });
});

describe('lower_case_table_names', () => {
  it('maps a Mac source (2) to 1, the only case-insensitive value Linux accepts', () => {
    expect([0, 1, 2].map(targetLowerCaseTableNames)).toEqual([0, 1, 1]);
    expect(() => targetLowerCaseTableNames(3)).toThrow(/got `3`/);
  });

  it('renders a [mysqld] option file that says why it must stay', () => {
    const cnf = renderLowerCaseCnf(1);
    expect(cnf).toMatch(/^\[mysqld\]\nlower_case_table_names = 1$/m);
    expect(cnf).toMatch(/keep this file as long as data\/mysql exists/);
  });
});

describe('renderServicesOverride: each store\'s service on its own migration port', () => {
  it('publishes every listed service on 127.0.0.1 only, with its own container port and command', async () => {
    const { renderServicesOverride } = await import('../../../lib/compose/migration-access.ts');
    const doc = parse(renderServicesOverride([
      { service: 'db', hostPort: 43306, containerPort: 3306, command: ['mysqld', '--local-infile=1'] },
      { service: 'blog-db', hostPort: 43307, containerPort: 3306 },
      { service: 'queue', hostPort: 46380, containerPort: 6380 },
    ])) as { services: Record<string, { ports: string[]; command?: string[]; labels: Record<string, string> }> };
    expect(Object.entries(doc.services).map(([s, v]) => [s, v.ports, v.command ?? null, v.labels[MIGRATION_LABEL]])).toEqual([
      ['db', ['127.0.0.1:43306:3306'], ['mysqld', '--local-infile=1'], '1'],
      ['blog-db', ['127.0.0.1:43307:3306'], null, '1'],
      ['queue', ['127.0.0.1:46380:6380'], null, '1'],
    ]);
    expect(() => renderServicesOverride([{ service: 'cache', hostPort: 70000, containerPort: 6379 }])).toThrow(/migration port for `cache`.*got `70000`/);
  });
});
