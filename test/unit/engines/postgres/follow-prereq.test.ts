/** Which PostgreSQL sources can be followed, and the one change each blocker needs (pure); the record's secret file. */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assessPgFollow, type PgReplicationFacts } from '../../../../lib/engines/postgres/replication-prereq.ts';
import { forgetPassword, readPgFollowRecord, replicationPassword, SECRET_FILE, writePgFollowRecord } from '../../../../lib/engines/postgres/replication-record.ts';
import { replicationNames } from '../../../../lib/engines/postgres/replication-sql.ts';
import { Redactor } from '../../../../lib/util/redact.ts';

const ok: PgReplicationFacts = {
  endpoint: '127.0.0.1:5432', user: 'postgres', major: 15, walLevel: 'logical', maxReplicationSlots: 10, slotsUsed: 0, maxWalSenders: 10,
  walSendersUsed: 0, superuser: true, replication: true, createRole: true, withoutIdentity: [],
};
const checks = (f: Partial<PgReplicationFacts>, target?: number, own = false) => assessPgFollow({ ...ok, ...f }, target, own).map((x) => x.check);

describe('assessPgFollow', () => {
  it('a logical source with room and a superuser can be followed', () => {
    expect(assessPgFollow(ok, 15)).toEqual([]);
  });
  it('wal_level replica: restart needed, ferry never restarts it, the copy runs inside the freeze', () => {
    const [f] = assessPgFollow({ ...ok, walLevel: 'replica', major: 14 }, 15);
    expect(f).toMatchObject({ severity: 'blocker', check: 'postgres-follow-wal-level', subject: 'server 127.0.0.1:5432', message: 'wal_level is replica, logical replication needs logical' });
    expect(f!.hint).toContain('wal_level = logical');
    expect(f!.hint).toContain('restart PostgreSQL once');
    expect(f!.hint).toContain('postgresql@14');
    expect(f!.hint).toContain('ferry never restarts it');
  });
  it('no free slot or WAL sender, unless ferry\'s slot is already there (a resumed run)', () => {
    expect(checks({ slotsUsed: 10, walSendersUsed: 10 })).toEqual(['postgres-follow-slots', 'postgres-follow-senders']);
    expect(checks({ slotsUsed: 10, walSendersUsed: 10 }, 15, true)).toEqual([]);
  });
  it('an account without REPLICATION/CREATEROLE gets the exact ALTER ROLE', () => {
    const [f] = assessPgFollow({ ...ok, superuser: false, replication: false, createRole: false, user: 'app' }, 15);
    expect(f!.check).toBe('postgres-follow-privilege');
    expect(f!.hint).toMatch(/^as a superuser run: ALTER ROLE "app" REPLICATION CREATEROLE;/);
    expect(checks({ superuser: false, replication: true, createRole: true })).toEqual([]);
  });
  it('names the tables without a key or replica identity, with the statement to run', () => {
    const names = Array.from({ length: 12 }, (_, i) => `public.t${i}`);
    const [f] = assessPgFollow({ ...ok, withoutIdentity: names }, 15);
    expect(f!.subject).toBe(`tables ${names.slice(0, 10).join(', ')} and 2 more`);
    expect(f!.message).toContain('12 table(s)');
    expect(f!.hint).toContain('ALTER TABLE public.t0 REPLICA IDENTITY FULL; ALTER TABLE public.t1 REPLICA IDENTITY FULL;');
  });
  it('names unlogged tables (logical replication never carries them) with the statement that logs them', () => {
    const [f] = assessPgFollow({ ...ok, unlogged: ['public.cache', 'public.hits'] }, 15);
    expect(f).toMatchObject({ severity: 'blocker', check: 'postgres-follow-unlogged', subject: 'tables public.cache, public.hits' });
    expect(f!.message).toContain('2 UNLOGGED table(s)');
    expect(f!.hint).toContain('ALTER TABLE public.cache SET LOGGED; ALTER TABLE public.hits SET LOGGED;');
    expect(checks({ unlogged: [] })).toEqual([]);
  });
  it('an old source or target', () => {
    expect(checks({ major: 9 })).toContain('postgres-follow-major');
    expect(checks({}, 9)).toEqual(['postgres-follow-target']);
  });
});

describe('follow record and secret', () => {
  const dirs: string[] = [];
  afterAll(async () => { await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))); });

  it('the password is generated once into a 0600 file, registered with the redactor, never in the record', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-pg-follow-'));
    dirs.push(dir);
    const redactor = new Redactor();
    const pw = await replicationPassword(dir, redactor);
    expect(pw).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(await replicationPassword(dir)).toBe(pw);
    expect((await stat(join(dir, SECRET_FILE))).mode & 0o777).toBe(0o600);
    expect(redactor.redact(`conninfo password=${pw}`)).not.toContain(pw);
    await writePgFollowRecord(dir, { state: 'preparing', names: replicationNames('pg'), from: { host: 'h', port: 5432 }, source: { endpoint: '127.0.0.1:5432', database: 'd' }, created: { role: true } });
    expect(await readFile(join(dir, 'follow.json'), 'utf8')).not.toContain(pw);
    expect(await readPgFollowRecord(dir)).toMatchObject({ state: 'preparing', created: { role: true } });
    await forgetPassword(dir);
    await expect(stat(join(dir, SECRET_FILE))).rejects.toThrow();
    expect(await replicationPassword(dir)).not.toBe(pw);
  });
});
