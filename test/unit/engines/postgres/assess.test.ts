import { describe, expect, it } from 'vitest';
import { assessPostgres } from '../../../../lib/engines/postgres/assess.ts';
import type { PostgresFacts } from '../../../../lib/engines/postgres/facts.ts';
import type { ServerFacts } from '../../../../lib/engines/postgres/server.ts';

const server = (o: Partial<ServerFacts> = {}): ServerFacts => ({
  version: '15.8', versionNum: 150008, major: 15, encoding: 'UTF8', collate: 'C.UTF-8', ctype: 'C.UTF-8', localeProvider: 'libc', icuLocale: null,
  collationVersion: null, extensions: [{ name: 'plpgsql', version: '1.0' }], superuser: true, databaseBytes: 10 << 20, ...o,
});

const facts = (s: Partial<ServerFacts> = {}, t: Partial<NonNullable<PostgresFacts['target']>> = {}, more: Partial<PostgresFacts['source']> = {}): PostgresFacts => ({
  source: { endpoint: '127.0.0.1:5432', user: 'alice', database: 'veogen', server: server(s), unreadable: [], keyless: [], ...more },
  target: { endpoint: '127.0.0.1:55432', versionNum: 150008, major: 15, encoding: 'UTF8', collate: 'C.UTF-8', localeProvider: 'libc', availableExtensions: ['plpgsql', 'pgcrypto'], databaseExists: false, superuser: true, ...t },
  disk: { dir: '/state', freeBytes: 1 << 30 },
});

const checks = (f: ReturnType<typeof assessPostgres>, severity?: string) => f.filter((x) => !severity || x.severity === severity).map((x) => x.check);
const opts = { allowDowngrade: false, replace: false };

describe('assessPostgres', () => {
  it('finds nothing to say about a same-major, same-locale move', () => {
    expect(assessPostgres(facts(), opts)).toEqual([]);
  });

  it('blocks a downgrade unless allowed, and names the image to use', () => {
    const f = assessPostgres(facts({ major: 16, versionNum: 160004, version: '16.4' }), opts);
    expect(checks(f, 'blocker')).toEqual(['postgres-major-downgrade']);
    expect(f[0]!.hint).toContain('postgres:16');
    expect(checks(assessPostgres(facts({ major: 16, versionNum: 160004 }), { ...opts, allowDowngrade: true }), 'warning')).toEqual(['postgres-major-downgrade']);
    expect(checks(assessPostgres(facts({ major: 14, versionNum: 140012 }), opts))).toEqual(['postgres-major-upgrade']);
  });

  it('names missing extensions with an image that has them', () => {
    const f = assessPostgres(facts({ extensions: [{ name: 'vector', version: '0.7.0' }, { name: 'postgis', version: '3.4' }, { name: 'pgcrypto', version: '1.3' }] }), opts);
    expect(f.filter((x) => x.check === 'postgres-extension-missing').map((x) => [x.subject, x.hint])).toEqual([
      ['extension vector', "use pgvector/pgvector:pg15 for the store's service"],
      ['extension postgis', "use postgis/postgis:15-3.4 for the store's service"],
    ]);
  });

  it('warns about macOS/ICU versus glibc collations, naming both', () => {
    const f = assessPostgres(facts({ collate: 'en_US.UTF-8', localeProvider: 'icu', icuLocale: 'en-US' }), opts);
    expect(checks(f)).toEqual(['postgres-collation']);
    expect(f[0]!.message).toContain('icu en-US');
    expect(f[0]!.message).toContain('libc C.UTF-8');
  });

  it('gives the exact GRANT for unreadable relations, and says hashes are not carried without superuser', () => {
    const f = assessPostgres(facts({ superuser: false }, {}, { unreadable: ['public.orders', 'public.users'] }), opts);
    const grant = f.find((x) => x.check === 'postgres-privilege')!;
    expect(grant.severity).toBe('blocker');
    expect(grant.hint).toBe('as a superuser run: GRANT pg_read_all_data TO "alice";');
    expect(grant.message).toContain('public.orders');
    expect(checks(f, 'warning')).toEqual(['postgres-role-hashes']);
  });

  it('lists the large objects the account cannot read (pg_read_all_data does not cover them) with the statement granting each', () => {
    const f = assessPostgres(facts({}, {}, { user: "o'brien", unreadableLargeObjects: [16401, 16402] }), opts);
    expect(checks(f, 'blocker')).toEqual(['postgres-privilege-large-objects']);
    const lo = f.find((x) => x.check === 'postgres-privilege-large-objects')!;
    expect(lo.message).toBe("o'brien cannot read 2 large object(s) (pg_read_all_data does not cover large objects): 16401, 16402");
    expect(lo.hint).toBe("as a superuser run: DO $$DECLARE o oid; BEGIN FOR o IN SELECT oid FROM pg_largeobject_metadata LOOP EXECUTE format('GRANT SELECT ON LARGE OBJECT %s TO %I', o, 'o''brien'); END LOOP; END$$;");
    // Facts gathered before large objects were read, or none unreadable: nothing said.
    expect(checks(assessPostgres(facts({}, {}, { unreadableLargeObjects: [] }), opts))).toEqual([]);
  });

  it('blocks SQL_ASCII, a database already on the target (unless replace), a non-superuser target and too little disk', () => {
    const f = assessPostgres({ ...facts({ encoding: 'SQL_ASCII', databaseBytes: 2 * 2 ** 30 }, { databaseExists: true, superuser: false }) }, opts);
    expect(checks(f, 'blocker').sort()).toEqual(['postgres-disk', 'postgres-encoding', 'postgres-target-exists', 'postgres-target-privilege']);
    expect(checks(assessPostgres(facts({}, { databaseExists: true }), { ...opts, replace: true }))).toEqual([]);
  });

  it('refuses a source older than 12 and plans without a target', () => {
    const f = assessPostgres({ ...facts({ major: 11, versionNum: 110020 }), target: undefined }, opts);
    expect(checks(f)).toEqual(['postgres-source-too-old']);
  });
});
