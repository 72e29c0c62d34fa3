import { describe, expect, it } from 'vitest';
import { createClause, databaseLevelSql, describeReplaced, type ReplacedDatabase } from '../../../../lib/engines/postgres/reverse.ts';
import { alreadyThere } from '../../../../lib/engines/postgres/import.ts';
import { choosePgDump, type PgDumpProbe } from '../../../../lib/engines/postgres/schema-dump.ts';
import { assessPostgres } from '../../../../lib/engines/postgres/assess.ts';
import { FerryError } from '../../../../lib/core/errors.ts';
import type { PostgresFacts } from '../../../../lib/engines/postgres/facts.ts';

const host: ReplacedDatabase = {
  server: '127.0.0.1:5432', database: 'veo"gen', major: 15, owner: 'veogen_owner', collate: 'en_US.UTF-8', ctype: 'en_US.UTF-8', provider: 'libc', icuLocale: null,
  bytes: 3 << 20, tables: 8, estimatedRows: 8265,
  acl: [{ grantee: 'veogen_owner', privilege: 'CREATE', grantable: false }, { grantee: 'veogen_app', privilege: 'CONNECT', grantable: false }, { grantee: null, privilege: 'TEMPORARY', grantable: false }],
  settings: [{ role: null, name: 'search_path', value: '"$user", public, media' }, { role: null, name: 'work_mem', value: "8MB'x" }, { role: 'veogen_app', name: 'statement_timeout', value: '5s' }],
  capturedAt: '2026-11-29T03:00:00.000Z',
};

describe('postgres reverse: the host database recreated as it was', () => {
  it('recreates it with its owner and locale (ICU on 15+), quoting every name and value', () => {
    expect(createClause(host)).toBe(`OWNER "veogen_owner" LC_COLLATE 'en_US.UTF-8' LC_CTYPE 'en_US.UTF-8'`);
    expect(createClause({ ...host, provider: 'icu', icuLocale: 'und-u-ks-level2' })).toBe(`OWNER "veogen_owner" LC_COLLATE 'en_US.UTF-8' LC_CTYPE 'en_US.UTF-8' LOCALE_PROVIDER icu ICU_LOCALE 'und-u-ks-level2'`);
    // PostgreSQL 14 has no locale provider: libc only.
    expect(createClause({ ...host, major: 14, provider: 'icu', icuLocale: 'und' })).not.toContain('LOCALE_PROVIDER');
  });

  it('gives back its grants (PUBLIC\'s default revoked only when the ACL was not the default) and settings', () => {
    expect(databaseLevelSql(host)).toEqual([
      'REVOKE ALL ON DATABASE "veo""gen" FROM PUBLIC',
      'GRANT CREATE ON DATABASE "veo""gen" TO "veogen_owner"',
      'GRANT CONNECT ON DATABASE "veo""gen" TO "veogen_app"',
      'GRANT TEMPORARY ON DATABASE "veo""gen" TO PUBLIC',
      'ALTER DATABASE "veo""gen" SET "search_path" = "$user", public, media',
      `ALTER DATABASE "veo""gen" SET "work_mem" = '8MB''x'`,
      `ALTER ROLE "veogen_app" IN DATABASE "veo""gen" SET "statement_timeout" = '5s'`,
    ]);
    expect(databaseLevelSql({ ...host, acl: null, settings: [] })).toEqual([]);
  });

  it('says what it replaced', () => {
    expect(describeReplaced(host, 'veogen')).toBe('database veo"gen on 127.0.0.1:5432 (owner veogen_owner, 8 tables, about 8265 rows, 3 MiB as at 2026-11-29T03:00:00.000Z)');
    expect(describeReplaced(null, 'veogen')).toBe('no database veogen was there');
  });

  it('a resumed import takes "already exists" for an entry the killed run committed; nothing else', () => {
    const pgErr = (code: string, message = 'x') => Object.assign(new Error(message), { code });
    expect(alreadyThere(pgErr('42P07'))).toBe(true);
    expect(alreadyThere(pgErr('42710'))).toBe(true);
    expect(alreadyThere(pgErr('42P16', 'multiple primary keys for table "events_other" are not allowed'))).toBe(true);
    expect(alreadyThere(pgErr('42P16', 'column "x" is in a primary key'))).toBe(false);
    expect(alreadyThere(pgErr('23505'))).toBe(false);
    expect(alreadyThere(new Error('boom'))).toBe(false);
  });
});

describe('postgres: which pg_dump dumps the schema', () => {
  const source = { host: '127.0.0.1', port: 5416, user: 'postgres', password: 'pw-never-shown', database: 'veogen' };
  /** A machine with Debian's pg_dump 15 and no postgres images. */
  const machine = (o: { images?: string[]; majors?: Record<string, number> } = {}): PgDumpProbe => {
    const majors = o.majors ?? { pg_dump: 15, '/usr/lib/postgresql/15/bin/pg_dump': 15 };
    return {
      candidates: async () => Object.keys(majors),
      majorOf: async (file, prefix) => (prefix?.length ? Number(/postgres:(\d+)/.exec(prefix.join(' '))?.[1]) : majors[file]),
      hasImage: async (image) => (o.images ?? []).includes(image),
    };
  };
  const refusal = async (p: Promise<unknown>): Promise<FerryError> => p.then(() => { throw new Error('not refused'); }, (e: unknown) => e as FerryError);

  it('refuses a source newer than every pg_dump, naming its major, what was found and the three ways out', async () => {
    const e = await refusal(choosePgDump(16, source, { probe: machine() }));
    expect(e).toBeInstanceOf(FerryError);
    expect(e.code).toBe('E_PG_DUMP_VERSION');
    expect(e.message).toBe('Cannot dump the schema of the PostgreSQL 16 source 127.0.0.1:5416/veogen: the newest pg_dump here is pg_dump (15), and no postgres:16 image is available');
    expect(e.hint).toContain('install pg_dump ≥ 16 on this host');
    expect(e.hint).toContain('docker pull postgres:16');
    expect(e.hint).toContain('--pg-dump <path>');
    expect(`${e.message} ${e.hint}`).not.toContain('pw-never-shown');
  });

  it('uses the newest qualifying pg_dump, else a local image for a loopback source, else the one given', async () => {
    expect((await choosePgDump(15, source, { probe: machine({ majors: { pg_dump: 15, '/opt/homebrew/opt/postgresql@17/bin/pg_dump': 17 } }) })).label).toBe('/opt/homebrew/opt/postgresql@17/bin/pg_dump (17)');
    expect((await choosePgDump(16, source, { probe: machine({ images: ['postgres:16'] }) })).label).toBe('postgres:16 image');
    const remote = await refusal(choosePgDump(16, { ...source, host: 'db.internal' }, { probe: machine({ images: ['postgres:16'] }) }));
    expect(remote.message).toContain("the postgres:16 image's pg_dump cannot reach db.internal (not the loopback)");
    expect((await choosePgDump(16, source, { override: '/opt/pg16/pg_dump', probe: machine({ majors: { '/opt/pg16/pg_dump': 16 } }) })).label).toBe('/opt/pg16/pg_dump (16)');
    const old = await refusal(choosePgDump(16, source, { override: '/usr/bin/pg_dump', probe: machine({ majors: { '/usr/bin/pg_dump': 15 } }) }));
    expect(old.message).toBe('The pg_dump given (/usr/bin/pg_dump) is 15: the PostgreSQL 16 source 127.0.0.1:5416/veogen needs one of major ≥ 16');
  });

  it('preflight turns the refusal into a blocker', () => {
    const facts = {
      source: { endpoint: '127.0.0.1:5416', user: 'postgres', database: 'veogen', server: { major: 16, version: '16.4', encoding: 'UTF8', localeProvider: 'libc', collate: 'C.UTF-8', ctype: 'C.UTF-8', extensions: [], superuser: true, databaseBytes: 1 }, unreadable: [], keyless: [] },
      target: undefined, disk: { dir: '/tmp', freeBytes: 1e12 }, pgDump: { refused: 'Cannot dump …', hint: 'any one of: …' },
    } as unknown as PostgresFacts;
    const b = assessPostgres(facts, { allowDowngrade: false, replace: false }).filter((x) => x.severity === 'blocker');
    expect(b.map((x) => [x.check, x.message, x.hint])).toEqual([['postgres-pg-dump', 'Cannot dump …', 'any one of: …']]);
  });
});
