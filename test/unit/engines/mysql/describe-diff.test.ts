import { describe, expect, it } from 'vitest';
import { checkClause, diffSchema, RECORDED } from '../../../../lib/engines/mysql/describe.ts';

const target = {
  [RECORDED]: 'checks, table options',
  'column t.id': '#1 int(11) NOT NULL',
  'table t': 'ENGINE=InnoDB COLLATE=utf8mb4_general_ci COMMENT ""',
  'check t.c': 'CHECK `id` > 0',
  'partitions t': 'HASH(`id`): p0, p1',
};

describe('schema diff: checks and table options (describe.ts)', () => {
  it('an export recorded before checks and table options verifies: they are compared only when both sides have them', () => {
    expect(diffSchema('db', { 'column t.id': '#1 int(11) NOT NULL' }, target)).toEqual([]);
    expect(diffSchema('db', { 'column t.id': '#1 bigint(20) NOT NULL' }, target)).toEqual(['db: column t.id differs: source #1 bigint(20) NOT NULL / target #1 int(11) NOT NULL']);
  });
  it('CHECK clauses compare across flavors: outer parentheses and charset introducers dropped', () => {
    expect(checkClause("(`s` <> _utf8mb4'x')")).toBe("`s` <> 'x'");
    expect(checkClause("`s` <> 'x'")).toBe("`s` <> 'x'");
    expect(checkClause('((`a` > 0) and (`b` > 0))')).toBe('(`a` > 0) and (`b` > 0)');
    expect(checkClause('(`a` > 0) and (`b` > 0)')).toBe('(`a` > 0) and (`b` > 0)');
    expect(checkClause("(`s` <> ')(')")).toBe("`s` <> ')('");
  });
  it('a newer export names a differing table option, a missing or extra CHECK and partitioning', () => {
    const source = { ...target, 'table t': 'ENGINE=InnoDB COLLATE=utf8mb4_general_ci COMMENT "users"', 'check t.d': 'CHECK `id` < 9' };
    delete (source as Record<string, string>)['check t.c'];
    delete (source as Record<string, string>)['partitions t'];
    expect(diffSchema('db', source, target)).toEqual([
      'db: table t differs: source ENGINE=InnoDB COLLATE=utf8mb4_general_ci COMMENT "users" / target ENGINE=InnoDB COLLATE=utf8mb4_general_ci COMMENT ""',
      'db: check t.d is missing on the target',
      'db: check t.c exists only on the target',
      'db: partitions t exists only on the target',
    ]);
  });
});
