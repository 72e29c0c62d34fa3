/**
 * Who follows and who falls back (issue 16): the follow prerequisites judged per store — the server's
 * own (binary log, ROW format, wal_level…) first, then the route from the stack — and the cutover
 * decision built on them: `auto` copies a store that cannot follow inside the freeze with the one change
 * that would let it follow; `follow` refuses it. No server here: the judgements are pure, the probe is a
 * function the test hands in.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../../lib/config/index.ts';
import { createFileJournal } from '../../../lib/journal/index.ts';
import { assessFollow, type ReplicationFacts } from '../../../lib/engines/mysql/replication-prereq.ts';
import { assessPgFollow, type PgReplicationFacts } from '../../../lib/engines/postgres/replication-prereq.ts';
import { assessFollowReadiness, assumedMysqlTarget, fromBlockers, judgeRoute, probeNetworks } from '../../../lib/preflight/follow-readiness.ts';
import { parseStackView } from '../../../lib/preflight/stack-view.ts';
import { cutoverLines, cutoverOptionsOf, decideCutover, planCutover, type CutoverOptions } from '../../../lib/steps/cutover-mode.ts';
import { filesEngine } from '../../../lib/engines/files/index.ts';
import { engines } from '../../../lib/engines/index.ts';
import { Redactor } from '../../../lib/util/redact.ts';
import type { ConfigStore } from '../../../lib/config/schema.ts';
import type { Engine } from '../../../lib/core/engine.ts';

const mysqlFacts = (o: Partial<ReplicationFacts> = {}): ReplicationFacts => ({
  version: '8.0.36', dialect: 'mysql', logBin: true, binlogFormat: 'ROW', serverId: 1, gtidMode: 'OFF', ssl: true, eventScheduler: 'OFF', ...o,
});
const pgFacts = (o: Partial<PgReplicationFacts> = {}): PgReplicationFacts => ({
  endpoint: '127.0.0.1:5432', user: 'postgres', major: 15, walLevel: 'logical', maxReplicationSlots: 10, slotsUsed: 0, maxWalSenders: 10,
  walSendersUsed: 0, superuser: true, replication: true, createRole: true, withoutIdentity: [], ...o,
});
const start = { file: 'binlog.000001', position: 4 };

describe('the server\'s own prerequisites: the first blocker is the reason, its hint the one change', () => {
  it('a MySQL source without a binary log, or logging STATEMENT, cannot follow', () => {
    const noLog = fromBlockers('db', assessFollow({ source: mysqlFacts({ logBin: false }), target: mysqlFacts({ serverId: 2 }), start: null, where: 'root@127.0.0.1:3306' }), 1234);
    expect(noLog).toMatchObject({ store: 'db', ready: false, bytes: 1234 });
    expect(noLog!.why).toMatch(/no binary log/);
    expect(noLog!.enable).toMatch(/log-bin.*restart MySQL once/);
    const stmt = fromBlockers('db', assessFollow({ source: mysqlFacts({ binlogFormat: 'STATEMENT' }), target: mysqlFacts({ serverId: 2 }), start, where: 'w' }));
    expect(stmt!.why).toMatch(/STATEMENT format; following needs ROW/);
    expect(stmt!.enable).toMatch(/binlog_format = ROW/);
    expect(fromBlockers('db', assessFollow({ source: mysqlFacts(), target: mysqlFacts({ serverId: 2 }), start, where: 'w' }))).toBeUndefined();
  });

  it('the stack\'s MySQL is judged by its image and command: GTIDs on the source need --gtid-mode=ON on the stack; a MariaDB image cannot follow MySQL', () => {
    const src = mysqlFacts({ gtidMode: 'ON' });
    const judge = (version: string, command: string) => assessFollow({ source: src, target: assumedMysqlTarget(src, version, command), start, where: 'w' }).filter((f) => f.severity === 'blocker').map((f) => f.check);
    expect(judge('8.0.36', 'mysqld')).toEqual(['mysql-follow-gtid']);
    expect(judge('8.0.36', 'mysqld --gtid-mode=ON --enforce-gtid-consistency=ON')).toEqual([]);
    expect(judge('10.11.18-MariaDB-0+deb12u1', '')).toEqual(expect.arrayContaining(['mysql-follow-flavor']));
    expect(assumedMysqlTarget(mysqlFacts({ dialect: 'mariadb', version: '10.11.6-MariaDB' }), '10.11.18-MariaDB-0+deb12u1', '').gtidMode).toBe('');
  });

  it('a PostgreSQL source with wal_level=replica says the restart ferry will not do', () => {
    const r = fromBlockers('pg', assessPgFollow(pgFacts({ walLevel: 'replica' }), undefined));
    expect(r!.why).toBe('wal_level is replica, logical replication needs logical');
    expect(r!.enable).toMatch(/wal_level = logical.*restart PostgreSQL once.*ferry never restarts it/);
    const noIdentity = fromBlockers('pg', assessPgFollow(pgFacts({ withoutIdentity: ['public.log'] }), undefined));
    expect(noIdentity!.enable).toMatch(/ALTER TABLE public\.log REPLICA IDENTITY FULL/);
  });
});

describe('the route from the stack', () => {
  const source = { host: '127.0.0.1', port: 3306 };
  it('auto without options.followFrom does not probe and says what to add', async () => {
    const probed: string[] = [];
    const r = await judgeRoute({ store: 'db', mode: 'auto', followFrom: undefined, source, what: 'binary log ROW', probe: async (f) => { probed.push(f.host); return { ok: true, detail: '' }; } });
    expect(probed).toEqual([]);
    expect(r).toMatchObject({ ready: false });
    expect(r.enable).toMatch(/add options\.followFrom \{ host, port \} to store db/);
  });

  it('follows where the probe found the server, and falls back with its hint where it did not', async () => {
    const ok = await judgeRoute({ store: 'db', mode: 'auto', followFrom: { host: 'src-mysql' }, source, bytes: 10, what: 'binary log ROW', probe: async (f) => ({ ok: true, detail: `answers at ${f.host}:${f.port}` }) });
    expect(ok).toEqual({ store: 'db', ready: true, bytes: 10, from: { host: 'src-mysql', port: 3306 }, why: 'binary log ROW; answers at src-mysql:3306' });
    const no = await judgeRoute({ store: 'db', mode: 'auto', followFrom: { host: 'host.docker.internal' }, source, what: 'x', probe: async () => ({ ok: false, detail: 'nothing answers at host.docker.internal:3306', hint: 'bind-address = 0.0.0.0' }) });
    expect(no).toMatchObject({ ready: false, why: 'nothing answers at host.docker.internal:3306', enable: 'bind-address = 0.0.0.0' });
  });

  it('follow mode without followFrom probes host.docker.internal for a loopback source', async () => {
    const probed: string[] = [];
    await judgeRoute({ store: 'db', mode: 'follow', followFrom: undefined, source, what: 'x', probe: async (f) => { probed.push(`${f.host}:${f.port}`); return { ok: false, detail: 'no' }; } });
    expect(probed).toEqual(['host.docker.internal:3306']);
  });

  it('a probe that found nothing is tried again on every network (a busy Docker engine), an answer is final, the last miss is the reason', async () => {
    const seen: Array<string | undefined> = [];
    const answersOnThird = async (n?: string) => { seen.push(n); return seen.length >= 6 && n === 'b' ? { ok: true, detail: `answers on ${n}` } : { ok: false, detail: `nothing on ${n ?? 'default'} (${seen.length})` }; };
    expect(await probeNetworks(['a', 'b'], answersOnThird, { pauseMs: 1 })).toEqual({ ok: true, detail: 'answers on b' });
    expect(seen).toEqual(['a', 'b', 'a', 'b', 'a', 'b']);
    seen.length = 0;
    const never = async (n?: string) => { seen.push(n); return { ok: false, detail: `miss ${seen.length}` }; };
    expect(await probeNetworks([], never, { pauseMs: 1 })).toEqual({ ok: false, detail: 'miss 3' });
    expect(seen).toEqual([undefined, undefined, undefined]);
    seen.length = 0;
    const first = async (n?: string) => { seen.push(n); return { ok: true, detail: 'at once' }; };
    expect(await probeNetworks(['a', 'b'], first, { pauseMs: 1 })).toEqual({ ok: true, detail: 'at once' });
    expect(seen).toEqual(['a']);
    // An aborted preflight does not wait for more rounds.
    seen.length = 0;
    const ac = new AbortController();
    ac.abort();
    expect(await probeNetworks(['a'], never, { pauseMs: 60_000, signal: ac.signal })).toEqual({ ok: false, detail: 'miss 1' });
  });

  it('a files store and an engine without follow phases are copied, with the reason', async () => {
    const files: ConfigStore = { id: 'uploads', engine: 'files', source: '/srv/uploads', target: { service: 'app' }, options: {} };
    const { follow: _f, catchUp: _c, promote: _p, ...rest } = filesEngine as Engine;
    const copyOnly = { ...rest, phases: rest.phases.filter((p) => !['follow', 'catchUp', 'promote'].includes(p)) } as Engine;
    const stack = { images: {}, networks: {} };
    const [r] = await assessFollowReadiness({ stores: [{ store: files, engine: copyOnly }], mode: 'auto', stack, redactor: new Redactor() });
    expect(r).toMatchObject({ store: 'uploads', ready: false, why: expect.stringMatching(/final pass copies only what changed/) });
    // With the follow phases (bulk copy before the freeze, final pass inside it) a files store follows when the run has a follow phase anyway.
    const phased = { ...copyOnly, phases: [...copyOnly.phases, 'follow', 'catchUp', 'promote'], follow: async () => ({}), catchUp: async () => ({}), promote: async () => undefined } as unknown as Engine;
    const [alone] = await assessFollowReadiness({ stores: [{ store: files, engine: phased }], mode: 'auto', stack, redactor: new Redactor() });
    expect(alone).toMatchObject({ store: 'uploads', ready: false });
    const [f] = await assessFollowReadiness({ stores: [{ store: files, engine: phased }], mode: 'follow', stack, redactor: new Redactor() });
    expect(f).toMatchObject({ store: 'uploads', ready: true });
    const [pg] = await assessFollowReadiness({ stores: [{ store: { ...files, id: 'old', engine: 'postgres' }, engine: undefined }], mode: 'auto', stack, redactor: new Redactor() });
    expect(pg).toMatchObject({ ready: false, why: 'the postgres engine cannot follow a live source yet' });
  });
});

describe('the decision and the plan line built on the readiness', () => {
  const spec = (id: string, engine: 'mysql' | 'redis') => ({
    store: { id, engine, source: `${engine}://127.0.0.1`, target: { service: id }, options: {} } as ConfigStore,
    engine: engines[engine] as Engine,
  });
  const readiness = {
    db: { store: 'db', ready: false, why: 'the source has no binary log, so the stack cannot follow it', enable: 'add `log-bin` … and restart MySQL once' },
    cache: { store: 'cache', ready: true, why: 'Redis 7.0.15 reads the RDB v10; Redis answers at src-redis:6379 from the stack\'s side' },
  };

  it('auto: the store that cannot follow is copied inside the freeze and the run goes on; the other follows', () => {
    const o: CutoverOptions = { mode: 'auto', budgetSeconds: 30, readiness };
    expect(decideCutover(spec('db', 'mysql'), o)).toEqual({ store: 'db', how: 'freeze-copy', why: readiness.db.why, enable: readiness.db.enable });
    expect(decideCutover(spec('cache', 'redis'), o)).toEqual({ store: 'cache', how: 'follow', why: readiness.cache.why });
    expect(cutoverLines([spec('db', 'mysql'), spec('cache', 'redis')], o)).toEqual([
      `db: copied inside the freeze (${readiness.db.why}); to follow: ${readiness.db.enable}`,
      `cache: follows the live source; inside the freeze only the catch-up (budget 30 s) and promote (${readiness.cache.why})`,
    ]);
  });

  it('follow: the store that cannot follow is refused (preflight stops the run with E_FOLLOW_REFUSED)', () => {
    const d = decideCutover(spec('db', 'mysql'), { mode: 'follow', budgetSeconds: 30, readiness });
    expect(d).toMatchObject({ how: 'follow', refused: true, enable: readiness.db.enable });
    expect(cutoverLines([spec('db', 'mysql')], { mode: 'follow', budgetSeconds: 30, readiness })[0]).toMatch(/^db: REFUSED to follow/);
  });

  it('freeze-copy copies every store whatever the readiness', () => {
    expect(decideCutover(spec('cache', 'redis'), { mode: 'freeze-copy', budgetSeconds: 30, readiness }).how).toBe('freeze-copy');
  });
});

describe('the stack as the probe sees it (compose config output)', () => {
  it('reads images and the external networks each service joins (docker-compose v1 output)', () => {
    const v1 = [
      'networks:', '  ferrysrc:', '    external: true', '    name: some-net-123', 'services:', '  mysql:', '    image: ferry-testbed/mysql:1',
      '    networks:', '      ferrysrc: {}', '  redis:', '    image: ferry-testbed/redis:1', "version: '3.9'", '',
    ].join('\n');
    expect(parseStackView(v1)).toEqual({ images: { mysql: 'ferry-testbed/mysql:1', redis: 'ferry-testbed/redis:1' }, networks: { mysql: ['some-net-123'] }, commands: {} });
  });

  it('reads the v2 shapes too: networks as a list, a project network (not external) left out, the legacy external name', () => {
    const v2 = [
      'name: p', 'services:', '  db:', '    image: postgres:15', '    command:', '      - mysqld', '      - --gtid-mode=ON', '    networks:', '      - default', '      - shared', 'networks:',
      '  default:', '    name: p_default', '  shared:', '    external:', '      name: legacy-net', '',
    ].join('\n');
    expect(parseStackView(v2)).toEqual({ images: { db: 'postgres:15' }, networks: { db: ['legacy-net'] }, commands: { db: 'mysqld --gtid-mode=ON' } });
  });
});

/** One MySQL store following `src` (nobody listens on its source: a fresh check would find it unreachable). */
const followingConfig = (stateDir: string) => normalizeConfig({
  app: { envFile: '.env' }, target: { composeDir: 'compose', project: 'p' }, stateDir,
  stores: [{ id: 'db', engine: 'mysql', source: 'mysql://root:pw@127.0.0.1:1/app', target: { service: 'mysql', migrationPort: 33306 }, options: { followFrom: { host: 'src' } } }],
  cutover: { mode: 'auto', budgetSeconds: 5 },
}, { baseDir: '/srv/app', env: {} });

/** A migrate journal whose preflight recorded these readiness answers. */
async function recordPreflight(stateDir: string, readiness: Record<string, unknown>): Promise<void> {
  const now = new Date().toISOString();
  await createFileJournal(stateDir, 'migrate').record({ id: 'preflight', title: 'Preflight', status: 'done', startedAt: now, finishedAt: now, durationMs: 1, outputs: { data: { cutover: { mode: 'auto', readiness } } } });
}

describe('planCutover: checked once, reused by a resumed run', () => {
  it('reuses the readiness the journal\'s preflight recorded (no server is asked), and checks nothing in freeze-copy', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'ferry-plan-cutover-'));
    try {
      // Sources nobody listens on: a fresh check would find them unreachable.
      const base = followingConfig(stateDir);
      const recorded = { db: { store: 'db', ready: true, why: 'recorded at the first run', from: { host: 'src', port: 3306 } } };
      await recordPreflight(stateDir, recorded);
      const planned = await planCutover(base, { engines, redactor: new Redactor(), journal: 'migrate' });
      expect(cutoverOptionsOf(planned).readiness).toEqual(recorded);
      const copy = { ...base, cutover: { mode: 'freeze-copy' as const, budgetSeconds: 5 } };
      expect(await planCutover(copy, { engines, redactor: new Redactor(), journal: 'migrate' })).toBe(copy);
    } finally { await rm(stateDir, { recursive: true, force: true }); }
  });
});

describe('planCutover for rollback: only what the migration recorded', () => {
  it('takes the recorded readiness, and without one leaves the config as it is (never asks a server)', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'ferry-plan-rollback-'));
    try {
      const base = followingConfig(stateDir);
      expect(await planCutover(base, { engines, redactor: new Redactor(), journal: 'migrate', recordedOnly: true })).toBe(base);
      const recorded = { db: { store: 'db', ready: false, why: 'no binary log', enable: 'log-bin' } };
      await recordPreflight(stateDir, recorded);
      const planned = await planCutover(base, { engines, redactor: new Redactor(), journal: 'migrate', recordedOnly: true });
      // followFrom alone would say follow; the migration copied it: rollback sees it copied.
      expect(decideCutover({ store: planned.stores[0]!, engine: engines.mysql as Engine }, cutoverOptionsOf(planned)).how).toBe('freeze-copy');
    } finally { await rm(stateDir, { recursive: true, force: true }); }
  });
});
