/**
 * The Redis engine against real servers: a source seeded from fixtures/redis (sessions, RQ, every
 * type, dbs 0/1/15, a 200k-field hash, sub-second TTLs) copied by each path and verified; a damaged
 * target named key by key; a SIGKILL mid-copy resumed to a verified end; bad input refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis, startRedisWithDataDir, type StartedRedis } from '../support/containers.ts';
import { killedAtTick } from '../support/stop-at-tick.ts';
import { seedVedfolnirRedis, BIG_HASH_FIELDS } from '../../fixtures/redis/seed.ts';
import { Redactor } from '../../lib/util/redact.ts';
import { silentLogger } from '../../lib/core/logger.ts';
import { noProgress } from '../../lib/core/progress.ts';
import type { EngineParams, ServiceControl } from '../../lib/core/engine.ts';
import { redisEngine, checkApp, connectRedis, copyLogical, verifyCopy, type RedisEndpoint, type RedisOptions } from '../../lib/engines/redis/index.ts';

const SOURCE_PW = 'src-redis-secret-pw';
const ep = (r: { host: string; port: number; password?: string | undefined }, databases: number[] = []): RedisEndpoint =>
  ({ host: r.host, port: r.port, ...(r.password ? { password: r.password } : {}), databases });

/** A target Redis whose /data is a host directory (test/support), as the physical path addresses it. */
async function startTargetWithDataDir(): Promise<{ url: string; endpoint: RedisEndpoint; service: ServiceControl; remove(): Promise<void> }> {
  const t = await startRedisWithDataDir();
  return { url: t.url, endpoint: { host: t.host, port: t.port, databases: [] }, service: t.service, remove: t.remove };
}

/** The one params object the Redis engine's phases receive, for a store `redis` from `source` into `targetUrl`. */
function engineParams(stateDir: string, source: StartedRedis, targetUrl: string, options: Record<string, unknown>, service?: ServiceControl): EngineParams<RedisOptions> {
  return {
    store: { id: 'redis', engine: 'redis', source: source.url, target: { service: 'redis' }, options: redisEngine.parseOptions(options, 'redis') },
    targetUrl, artifactDir: join(stateDir, 'artifacts', 'redis'), stateDir: join(stateDir, 'stores', 'redis'),
    ...(service ? { service } : {}),
    signal: new AbortController().signal, log: silentLogger, progress: noProgress, redactor: new Redactor().add(SOURCE_PW),
  };
}

/** The engine's verify entries by subject (`db 0`, `app (sessions, queues)`). */
async function verifyStore(p: EngineParams<RedisOptions>) {
  const r = await redisEngine.verify(p);
  return { ok: r.ok, findings: r.entries.flatMap((e) => (e.findings ?? []).map((f) => `${e.subject}: ${f}`)), bySubject: new Map(r.entries.map((e) => [e.subject, e])) };
}

async function reseedFlashKeys(src: Redis): Promise<void> {
  // Fresh sub-second TTLs right before each copy, so some expire during it.
  const p = src.pipeline();
  for (let i = 0; i < 50; i++) p.set(`flash:${i}`, `v${i}`, 'PX', 100 + i * 15);
  await p.exec();
}

describe('redis engine: every key, every path, verified', { timeout: 600_000 }, () => {
  let source: StartedRedis;
  let src: Redis;
  let seeded: number;
  let work: string;

  beforeAll(async () => {
    source = await startRedis({ password: SOURCE_PW });
    src = new Redis({ host: source.host, port: source.port, password: SOURCE_PW });
    seeded = (await seedVedfolnirRedis(src, { scale: 0.3, big: true })).keys;
    work = await mkdtemp(join(tmpdir(), 'ferry-redis-e2e-'));
  });
  afterAll(async () => {
    src?.disconnect();
    await source?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('seeds sessions, RQ, every type, dbs 0/1/15 and a 200k-field hash', async () => {
    expect(seeded).toBeGreaterThan(2500);
    expect(await src.hlen('big:hash')).toBe(BIG_HASH_FIELDS);
    const ks = await src.info('keyspace');
    expect(ks).toMatch(/db0:/);
    expect(ks).toMatch(/db1:/);
    expect(ks).toMatch(/db15:/);
    const types = new Set<string>();
    for (const k of ['session:*', 'rq:job:*', 'rq:queue:*', 'rq:wip:*', 'tags:*', 'events:*', 'hll:*']) {
      const [, keys] = await src.scan('0', 'MATCH', k, 'COUNT', 10_000);
      expect(keys.length, k).toBeGreaterThan(0);
      types.add(await src.type(keys[0]!));
    }
    expect([...types].sort()).toEqual(['hash', 'list', 'set', 'stream', 'string', 'zset']);
  });

  it('physical (auto): export the RDB over replication, place it in the stopped target, verify', async () => {
    const target = await startTargetWithDataDir();
    try {
      await reseedFlashKeys(src);
      const p = engineParams(join(work, 'physical'), source, target.url, {}, target.service);
      const exp = await redisEngine.export(p);
      // The export holds the source as it is, whole (sha256 as recorded), and is an RDB file.
      expect(await redisEngine.exported!(p)).toBe(true);
      expect((await readFile(exp.manifest)).subarray(0, 9).toString('latin1')).toMatch(/^REDIS\d{4}$/);
      const imp = await redisEngine.import(p);
      expect(imp.data.path).toBe('physical');
      const ver = await verifyStore(p);
      expect(ver.findings).toEqual([]);
      expect(ver.ok).toBe(true);
      const app = ver.bySubject.get('app (sessions, queues)')!.counts!;
      expect(app.sessionsSource).toBeGreaterThan(0);
      expect(app.sessions).toBe(app.sessionsSource);
      // Re-running the import changes nothing and is refused by nothing: its own marker.
      const again = await redisEngine.import(p);
      expect([again.data.path, again.data.alreadyImported]).toEqual(['physical', true]);
      expect((await verifyStore(p)).ok).toBe(true);
      await redisEngine.clearTarget!(p);
      await redisEngine.clearTarget!(p);
      const t = await connectRedis(target.endpoint);
      expect(await t.dbsize()).toBe(0);
      t.disconnect();
    } finally {
      await target.remove();
    }
  });

  for (const path of ['dump', 'rewrite'] as const) {
    it(`${path} (forced): copies every key with absolute TTLs and verifies`, async () => {
      const target = await startRedis();
      try {
        await reseedFlashKeys(src);
        const p = engineParams(join(work, path), source, target.url, { path });
        const imp = await redisEngine.import(p);
        expect(imp.data.path).toBe(path);
        if (path === 'dump') expect(imp.data.big, 'the 200k-field hash goes chunk by chunk').toBeGreaterThanOrEqual(1);
        const ver = await verifyStore(p);
        expect(ver.findings).toEqual([]);
        expect(ver.ok).toBe(true);
        expect([...ver.bySubject.keys()].filter((k) => k.startsWith('db '))).toEqual(['db 0', 'db 1', 'db 15']);
        // The key-by-key verify (the engine's own) compares streams too.
        const keys = await verifyCopy({ source: ep(source), target: ep(target), ttlToleranceMs: 2000 });
        expect(keys.dbs[0]!.types.stream).toBeGreaterThan(0);
        const t = new Redis({ host: target.host, port: target.port });
        expect(await t.hlen('big:hash')).toBe(BIG_HASH_FIELDS);
        // Keys without TTL stay without; keys with one keep their absolute expiry.
        expect(await t.pttl('biglist')).toBe(-1);
        const [, sess] = await src.scan('0', 'MATCH', 'session:*', 'COUNT', 1000);
        const [a, b] = await Promise.all([src.pexpiretime(sess[0]!), t.pexpiretime(sess[0]!)]);
        expect(Math.abs(a - b)).toBeLessThanOrEqual(1);
        // Stream groups and pending entries.
        const pend = async (r: Redis) => JSON.stringify(((await r.xpending('events:1', 'captioners', '-', '+', 100)) as unknown[][]).map((e) => [e[0], e[1], e[3]]));
        expect(await pend(t)).toBe(await pend(src));
        // Nothing resurrected: an expired flash key is absent.
        expect(await t.exists('flash:0')).toBe(0);
        t.disconnect();
      } finally {
        await target.stop();
      }
    });
  }

  it('a damaged target fails verify, naming each key', async () => {
    const target = await startRedis();
    try {
      await copyLogical({ source: ep(source), target: ep(target), mode: 'dump', stateFile: join(work, 'damaged.json') });
      const t = new Redis({ host: target.host, port: target.port });
      const [, sess] = await src.scan('0', 'MATCH', 'session:*', 'COUNT', 1000);
      await t.del('user:1');
      await t.set('cache:2', 'tampered');
      await t.persist(sess[0]!);
      await t.lset('rq:queue:default', 0, 'not-a-job');
      t.disconnect();
      const v = await verifyCopy({ source: ep(source), target: ep(target), ttlToleranceMs: 2000 });
      expect(v.ok).toBe(false);
      const text = v.findings.join('\n');
      expect(text).toMatch(/`user:1`: missing on the target/);
      expect(text).toMatch(/`cache:2`: value differs/);
      expect(text).toContain(`\`${sess[0]}\`: TTL dropped`);
      expect(text).toMatch(/`rq:queue:default`: list items differ/);
      const app = await checkApp({ source: ep(source), target: ep(target), sessionPrefix: 'session:', ttlToleranceMs: 2000 });
      expect(app.ok).toBe(false);
      expect(app.findings.join('\n')).toMatch(/sessions: .*TTL dropped/);
      expect(app.findings.join('\n')).toMatch(/rq queues: .*rq:queue:default/);
      expect(text).not.toContain(SOURCE_PW);
    } finally {
      await target.stop();
    }
  });

  it('a SIGKILL mid-copy resumes to a verified end', async () => {
    const target = await startRedis();
    try {
      const stateFile = join(work, 'killed', 'copy-progress.json');
      const opts = { source: ep(source), target: ep(target), mode: 'dump', stateFile, batch: 200 };
      // Stopped at the first batch written after the progress file recorded db 0's keys (saved at most every
      // second, or when a db is done: dbs 1 and 15 come after it), and killed there: never after the copy ended.
      await killedAtTick({
        module: new URL('../../lib/engines/redis/copy.ts', import.meta.url).href, fn: 'copyLogical', options: opts, hook: { callback: 'onProgress' },
        stopWhen: `(JSON.parse(readFileSync(${JSON.stringify(stateFile)}, 'utf8')).dbs['0']?.keys ?? 0) > 0`,
      });
      const t = new Redis({ host: target.host, port: target.port });
      const partial = await t.dbsize();
      t.disconnect();
      expect(partial).toBeGreaterThan(0);
      const r = await copyLogical({ ...opts, mode: 'dump' });
      expect(r.resumed).toBe(true);
      const v = await verifyCopy({ source: ep(source), target: ep(target), ttlToleranceMs: 2000 });
      expect(v.findings).toEqual([]);
    } finally {
      await target.stop();
    }
  });

  it('refuses a target that already holds keys, unless told to replace', async () => {
    const target = await startRedis();
    try {
      const t = new Redis({ host: target.host, port: target.port });
      await t.set('session:someone-elses', 'x');
      t.disconnect();
      const opts = { source: ep(source), target: ep(target), mode: 'dump' as const, stateFile: join(work, 'busy', 'p.json') };
      await expect(copyLogical(opts)).rejects.toMatchObject({ code: 'E_REDIS_TARGET_NOT_EMPTY', message: expect.stringMatching(/db 0: 1 keys/) });
      const r = await copyLogical({ ...opts, replace: true });
      expect(r.keys).toBeGreaterThan(2500);
    } finally {
      await target.stop();
    }
  });

  it('names a wrong password or ACL user, never the secret', async () => {
    const wrong = 'definitely-wrong-pw';
    for (const bad of [{ ...ep(source), password: wrong }, { ...ep(source), username: 'ghost', password: wrong }]) {
      const e = await connectRedis(bad).then(() => undefined, (x: unknown) => x as { code: string; message: string; hint: string });
      expect(e?.code).toBe('E_REDIS_AUTH');
      expect(e?.message).toContain(`${source.host}:${source.port}`);
      expect(e?.message).not.toContain(wrong);
      expect(e?.hint).toMatch(/password/);
      if (bad.username) expect(e?.message).toContain('ghost');
    }
  });
});
