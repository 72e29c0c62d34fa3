import { describe, expect, it } from 'vitest';
import { choosePath, type PathFacts } from '../../../../lib/engines/redis/choose-path.ts';
import { compareVersions, parseInfo, parseKeyspace, rdbVersionFor } from '../../../../lib/engines/redis/info.ts';
import { isFerryError } from '../../../../lib/core/errors.ts';

describe('rdbVersionFor: the RDB format each Redis release writes', () => {
  it.each([
    ['3.2.12', 7], ['4.0.14', 8], ['5.0.14', 9], ['6.0.20', 9], ['6.2.14', 9], ['7.0.15', 10], ['7.2.5', 11],
    ['7.4.1', 12], ['8.0.2', 12], ['8.2.0', 12],
  ])('%s → RDB %i', (version, rdb) => {
    expect(rdbVersionFor(version)).toBe(rdb);
  });
  it('compares versions numerically, not as strings', () => {
    expect(compareVersions('7.10.0', '7.4.0')).toBeGreaterThan(0);
    expect(compareVersions('7.0', '7.0.0')).toBe(0);
  });
});

describe('choosePath: the decision table', () => {
  const facts = (over: Partial<PathFacts> = {}): PathFacts => ({ sourceRdb: 10, targetRdb: 10, canPlaceFile: true, subsetOfDatabases: false, ...over });
  it.each([
    ['same version, service controllable', facts(), 'physical'],
    ['older source', facts({ sourceRdb: 9 }), 'physical'],
    ['no service control', facts({ canPlaceFile: false }), 'dump'],
    ['only some databases', facts({ subsetOfDatabases: true }), 'dump'],
    ['target with appendonly (the compose stack)', facts({ targetAof: true }), 'dump'],
    ['Homebrew 7.4 (RDB 12) into redis:7 (RDB 10)', facts({ sourceRdb: 12, targetRdb: 10 }), 'rewrite'],
    ['Redis 8 into 7.2', facts({ sourceRdb: 12, targetRdb: 11, canPlaceFile: false }), 'rewrite'],
  ])('auto: %s → %s', (_what, f, path) => {
    const d = choosePath('auto', f);
    expect(d.path).toBe(path);
    expect(d.reason.length).toBeGreaterThan(10);
  });
  it('honours a forced path the servers support', () => {
    expect(choosePath('rewrite', facts()).path).toBe('rewrite');
    expect(choosePath('dump', facts({ canPlaceFile: false })).path).toBe('dump');
  });
  it('refuses a forced path the servers cannot do, naming the versions', () => {
    for (const wanted of ['physical', 'dump'] as const) {
      try {
        choosePath(wanted, facts({ sourceRdb: 12, targetRdb: 10 }));
        expect.unreachable();
      } catch (e) {
        expect(isFerryError(e) && e.code).toBe('E_REDIS_PATH');
        expect((e as Error).message).toMatch(/12/);
      }
    }
  });
});

describe('INFO parsing', () => {
  it('reads keyspace lines per database', () => {
    const f = parseInfo('# Server\r\nredis_version:7.0.15\r\n# Keyspace\r\ndb0:keys=10,expires=3,avg_ttl=5\r\ndb15:keys=2,expires=0,avg_ttl=0\r\n');
    expect(f.get('redis_version')).toBe('7.0.15');
    expect([...parseKeyspace(f)]).toEqual([[0, { keys: 10, expires: 3 }], [15, { keys: 2, expires: 0 }]]);
  });
});
