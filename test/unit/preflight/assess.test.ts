import { describe, expect, it } from 'vitest';
import { assessMysql, assessRedis, assessHost, hasCycle, grantedPrivileges, blockers, formatFindings, requiredDiskBytes, DEFAULT_MYSQL_TARGET, type MysqlFacts, type RedisFacts, type HostFacts } from '../../../lib/preflight/index.ts';
import { rdbVersionOf, parseVersion } from '../../../lib/preflight/versions.ts';

const mysqlFacts = (over: Partial<MysqlFacts> = {}): MysqlFacts => ({
  endpoint: '127.0.0.1:3306', version: '8.0.36', sqlMode: 'ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION',
  lowerCaseTableNames: 0, characterSetServer: 'utf8mb4', collationServer: 'utf8mb4_0900_ai_ci', localInfile: true, maxAllowedPacket: 64 * 1024 ** 2,
  grants: ['GRANT ALL PRIVILEGES ON *.* TO `root`@`%` WITH GRANT OPTION'],
  databases: [{ name: 'vedfolnir', charset: 'utf8mb4', collation: 'utf8mb4_0900_ai_ci' }], missingDatabases: [],
  tables: [{ db: 'vedfolnir', name: 'users', engine: 'InnoDB', collation: 'utf8mb4_0900_ai_ci', bytes: 1000, hasPrimaryKey: true }],
  definers: [], generatedColumns: 0, foreignKeys: [], largestLobColumn: 0, ...over,
});

const redisFacts = (over: Partial<RedisFacts> = {}): RedisFacts => ({
  endpoint: '127.0.0.1:6379', version: '7.2.4', modules: [], keyspace: { 0: { keys: 10, expires: 2 } }, usedMemory: 1e6,
  streams: 0, consumerGroups: 0, pendingEntries: 0, hashFieldTtlKeys: 0, ...over,
});

const opts = { definer: 'rewrite' as const, definerAccount: '`root`@`%`' };

describe('preflight: MySQL', () => {
  it('passes a clean MySQL 8 source with only an informational version line', () => {
    const f = assessMysql(mysqlFacts(), DEFAULT_MYSQL_TARGET, opts);
    expect(blockers(f)).toEqual([]);
    expect(f.map((x) => x.check)).toEqual(['mysql-version']);
  });

  it('warns about a Mac\'s lower_case_table_names=2 naming the mixed-case tables', () => {
    const f = assessMysql(mysqlFacts({ lowerCaseTableNames: 2, tables: [
      { db: 'vedfolnir', name: 'Users', engine: 'InnoDB', collation: null, bytes: 1, hasPrimaryKey: true },
      { db: 'vedfolnir', name: 'posts', engine: 'InnoDB', collation: null, bytes: 1, hasPrimaryKey: true },
    ] }), DEFAULT_MYSQL_TARGET, opts);
    const lc = f.find((x) => x.check === 'mysql-lower-case-table-names')!;
    expect(lc.severity).toBe('warning');
    expect(lc.message).toContain('vedfolnir.Users');
    expect(lc.message).not.toContain('vedfolnir.posts');
  });

  it('reports each DEFINER missing on the target as a rewrite listing its objects', () => {
    const f = assessMysql(mysqlFacts({ definers: [
      { kind: 'VIEW', db: 'vedfolnir', name: 'v1', definer: 'app@%' },
      { kind: 'TRIGGER', db: 'vedfolnir', name: 't1', definer: 'app@%' },
      { kind: 'ROUTINE', db: 'vedfolnir', name: 'r1', definer: 'root@localhost' },
    ] }), DEFAULT_MYSQL_TARGET, opts);
    const d = f.filter((x) => x.check === 'mysql-definer');
    expect(d).toHaveLength(1);
    expect(d[0]!.severity).toBe('rewrite');
    expect(d[0]!.subject).toBe('DEFINER app@%');
    expect(d[0]!.message).toContain('view vedfolnir.v1, trigger vedfolnir.t1');
    expect(d[0]!.hint).toContain('`root`@`%`');
  });

  it('blocks when the account lacks the privileges the export and the freeze need', () => {
    const f = assessMysql(mysqlFacts({ grants: ['GRANT SELECT, SHOW VIEW ON *.* TO `ferry`@`%`'] }), DEFAULT_MYSQL_TARGET, opts);
    const b = blockers(f);
    expect(b.map((x) => x.check)).toEqual(['mysql-privileges', 'mysql-privileges']);
    expect(b[0]!.message).toContain('TRIGGER, EVENT, LOCK TABLES');
    expect(b[1]!.message).toContain('read_only');
  });

  it('blocks a configured database the source does not have', () => {
    const f = assessMysql(mysqlFacts({ missingDatabases: ['nope'] }), DEFAULT_MYSQL_TARGET, opts);
    expect(blockers(f).map((x) => x.subject)).toEqual(['database nope']);
  });

  it('notes a lax sql_mode, tables without a primary key, generated columns, FK cycles and 0900 collations on MariaDB', () => {
    const f = assessMysql(mysqlFacts({
      sqlMode: 'NO_ENGINE_SUBSTITUTION', generatedColumns: 2,
      tables: [{ db: 'vedfolnir', name: 'tag_log', engine: 'InnoDB', collation: 'utf8mb4_0900_ai_ci', bytes: 1, hasPrimaryKey: false }],
      foreignKeys: [{ from: 'v.a', to: 'v.b' }, { from: 'v.b', to: 'v.a' }],
    }), { ...DEFAULT_MYSQL_TARGET, version: '10.11.6-MariaDB' }, opts);
    const checks = new Map(f.map((x) => [x.check, x.severity]));
    expect(checks.get('mysql-sql-mode')).toBe('rewrite');
    expect(checks.get('mysql-no-primary-key')).toBe('info');
    expect(checks.get('mysql-generated-columns')).toBe('info');
    expect(checks.get('mysql-foreign-key-cycle')).toBe('info');
    expect(checks.get('mysql-collation')).toBe('rewrite');
    expect(blockers(f)).toEqual([]);
  });

  it('parses grants and finds cycles', () => {
    expect([...grantedPrivileges(['GRANT RELOAD, PROCESS ON *.* TO `x`@`%`', 'GRANT ALL ON `db`.* TO `x`@`%`'])]).toEqual(['RELOAD', 'PROCESS', 'ALL PRIVILEGES']);
    expect(hasCycle([{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }])).toBe(false);
    expect(hasCycle([{ from: 'a', to: 'a' }])).toBe(true);
    expect(hasCycle([{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }, { from: 'c', to: 'a' }])).toBe(true);
  });
});

describe('preflight: Redis', () => {
  it('maps Redis versions to RDB formats', () => {
    expect(['6.2.14', '7.0.15', '7.2.4', '7.4.1', '8.0.0'].map((v) => rdbVersionOf(parseVersion(v)!))).toEqual([9, 10, 11, 12, 12]);
  });

  it('rewrites keys when the source writes a newer RDB than the target reads, and blocks a forced physical copy', () => {
    const auto = assessRedis(redisFacts({ version: '7.2.4' }), { version: '7.0.15', modules: [] }, { path: 'auto' });
    expect(auto.find((x) => x.check === 'redis-rdb-format')?.severity).toBe('rewrite');
    const forced = assessRedis(redisFacts({ version: '7.2.4' }), { version: '7.0.15', modules: [] }, { path: 'physical' });
    expect(blockers(forced).map((x) => x.check)).toEqual(['redis-rdb-format']);
  });

  it('blocks modules the target lacks and hash-field TTLs on a target < 7.4', () => {
    const f = assessRedis(redisFacts({ version: '7.4.1', modules: ['search'], hashFieldTtlKeys: 3 }), { version: '7.0.15', modules: [] }, { path: 'auto' });
    expect(blockers(f).map((x) => x.check).sort()).toEqual(['redis-hash-field-ttl', 'redis-modules']);
    const ok = assessRedis(redisFacts({ version: '7.4.1', hashFieldTtlKeys: 3 }), { version: '7.4.2', modules: [] }, { path: 'auto' });
    expect(blockers(ok)).toEqual([]);
  });

  it('describes streams with consumer groups and pending entries', () => {
    const f = assessRedis(redisFacts({ streams: 2, consumerGroups: 3, pendingEntries: 5 }), { version: '7.2.4', modules: [] }, { path: 'auto' });
    const s = f.find((x) => x.check === 'redis-streams')!;
    expect(s.message).toBe('2 stream(s), 3 consumer group(s), 5 pending entries');
    expect(s.severity).toBe('info');
  });
});

describe('preflight: host', () => {
  const host = (over: Partial<HostFacts> = {}): HostFacts => ({
    dockerVersion: '27.0.1', composeVersion: '2.29.0', composeCommand: 'docker compose', cpus: 4, memoryBytes: 8 * 1024 ** 3,
    freeDiskBytes: 100 * 1024 ** 3, ports: { 33306: true, 36379: true }, ...over,
  });

  it('passes a big enough engine with free ports and disk', () => {
    expect(blockers(assessHost(host(), { estimatedArtifactBytes: 1e9, stateDir: '/s' }))).toEqual([]);
  });

  it('blocks a small VM, a missing compose, too little disk and a taken port', () => {
    const f = assessHost(host({ cpus: 1, memoryBytes: 2 * 1024 ** 3, composeVersion: undefined, composeCommand: undefined, freeDiskBytes: 2 * 1024 ** 3, ports: { 33306: false, 36379: true } }),
      { estimatedArtifactBytes: 1024 ** 3, stateDir: '/s' });
    expect(blockers(f).map((x) => x.check).sort()).toEqual(['disk-space', 'docker-compose', 'docker-cpus', 'docker-memory', 'target-port']);
    expect(formatFindings(f).split('\n')[0]).toMatch(/^BLOCKER /);
  });

  it('needs twice the artifacts plus a GiB of disk', () => {
    expect(requiredDiskBytes(1024 ** 3)).toBe(3 * 1024 ** 3);
  });

  it('does not count a port the target project already holds', () => {
    expect(blockers(assessHost(host({ ports: { 33306: false } }), { estimatedArtifactBytes: 0, stateDir: '/s', ownPorts: [33306] }))).toEqual([]);
  });
});
