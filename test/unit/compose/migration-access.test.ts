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
