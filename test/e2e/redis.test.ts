/**
 * The Redis engine against real servers: a source seeded from fixtures/redis (sessions, RQ, every
 * type, dbs 0/1/15, a 200k-field hash, sub-second TTLs) copied by each path and verified; a damaged
 * target named key by key; a SIGKILL mid-copy resumed to a verified end; bad input refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { Redis } from 'ioredis';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRedis, startRedisWithDataDir, type StartedRedis } from '../support/containers.ts';
import { seedVedfolnirRedis, BIG_HASH_FIELDS } from '../../fixtures/redis/seed.ts';
import { Redactor } from '../../lib/util/redact.ts';
import { silentLogger } from '../../lib/core/logger.ts';
import { noProgress } from '../../lib/core/progress.ts';
import type { StepOutputs, StepParams } from '../../lib/core/step.ts';
import { configSchema, type Config } from '../../lib/config/schema.ts';
import type { FerryContext, RedisEndpoint, ServiceControl } from '../../lib/steps/context.ts';
import redisExport from '../../lib/steps/redis-export.ts';
import redisImport from '../../lib/steps/redis-import.ts';
import redisVerify from '../../lib/steps/redis-verify.ts';
import { checkApp, connectRedis, copyLogical, verifyCopy } from '../../lib/engines/redis/index.ts';

const SOURCE_PW = 'src-redis-secret-pw';
const ep = (r: { host: string; port: number; password?: string | undefined }, databases: number[] = []): RedisEndpoint =>
  ({ host: r.host, port: r.port, ...(r.password ? { password: r.password } : {}), databases });


/** A target Redis whose /data is a host directory (test/support), as the steps below address it. */
async function startTargetWithDataDir(): Promise<{ endpoint: RedisEndpoint; service: ServiceControl; remove(): Promise<void> }> {
  const t = await startRedisWithDataDir();
  return { endpoint: { host: t.host, port: t.port, databases: [] }, service: t.service, remove: t.remove };
}

function stepParams(stateDir: string, ctx: Partial<FerryContext>, redis: Record<string, unknown>, outputs = new Map<string, StepOutputs>()): StepParams<Config, FerryContext> {
  const config = Object.freeze({
    ...configSchema.parse({ source: {}, app: { envFile: '.env' }, target: { composeDir: '.', project: 'ferry-test' }, redis }),
    stateDir,
  }) as Config;
  const redactor = new Redactor().add(SOURCE_PW);
  const full: FerryContext = {
    mode: 'migrate', redactor, source: {}, target: {}, services: {}, artifactsDir: join(stateDir, 'artifacts'),
    project: 'ferry-test', composeDir: '.', appDir: stateDir, ...ctx,
  };
  return { config, ctx: full, signal: new AbortController().signal, log: silentLogger, progress: noProgress, previous: undefined, outputs, stateDir };
}

/** Run a step as the runner would: check → run → verify. */
async function runStep(step: typeof redisImport, p: StepParams<Config, FerryContext>) {
  const out = (await step.run(p)) ?? {};
  const v = step.verify ? await step.verify(p) : { ok: true, findings: [] };
  return { out, v };
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
      const stateDir = join(work, 'physical');
      await reseedFlashKeys(src);
      const ctx = { source: { redis: ep(source) }, target: { redis: target.endpoint }, services: { redis: target.service } };
      const px = stepParams(stateDir, ctx, {});
      const exp = await runStep(redisExport, px);
      expect(exp.v.ok, exp.v.findings.join('\n')).toBe(true);
      expect((await redisExport.check!(px)).done).toBe(true);
      const pi = stepParams(stateDir, ctx, {}, new Map([['redis-export', exp.out]]));
      const imp = await runStep(redisImport, pi);
      expect(imp.out.data?.path).toBe('physical');
      expect(imp.v.ok, imp.v.findings.join('\n')).toBe(true);
      const ver = await redisVerify.verify!(pi);
      expect(ver.findings).toEqual([]);
      expect(ver.ok).toBe(true);
      const sessions = (ver.report?.app as Record<string, { source: number; target: number }>).sessions!;
      expect(sessions.source).toBeGreaterThan(0);
      expect(sessions.target).toBe(sessions.source);
      // Re-running the import changes nothing and is refused by nothing: its own marker.
      const again = await redisImport.run(pi);
      expect((again as StepOutputs).data?.path).toBe('physical');
      expect((await redisVerify.verify!(pi)).ok).toBe(true);
      await redisImport.undo!(pi);
      await redisImport.undo!(pi);
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
        const p = stepParams(join(work, path), { source: { redis: ep(source) }, target: { redis: ep(target) } }, { path });
        const imp = await runStep(redisImport, p);
        expect(imp.out.data?.path).toBe(path);
        if (path === 'dump') expect(imp.out.data?.big, 'the 200k-field hash goes chunk by chunk').toBeGreaterThanOrEqual(1);
        expect(imp.v.ok, imp.v.findings.join('\n')).toBe(true);
        const ver = await redisVerify.verify!(p);
        expect(ver.findings).toEqual([]);
        const dbs = ver.report?.dbs as Record<string, { compared: number; types: Record<string, number> }>;
        expect(Object.keys(dbs)).toEqual(['0', '1', '15']);
        expect(dbs['0']!.types.stream).toBeGreaterThan(0);
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
      const copyModule = new URL('../../lib/engines/redis/copy.ts', import.meta.url).href;
      const code = `const m = await import(${JSON.stringify(copyModule)}); await m.copyLogical(JSON.parse(process.env.FERRY_COPY_OPTS));`;
      const node = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
      const child = execa(node, ['--input-type=module', '-e', code], { env: { FERRY_COPY_OPTS: JSON.stringify(opts) }, reject: false });
      // Kill once the progress file shows written batches.
      for (let i = 0; i < 600; i++) {
        const st = await readFile(stateFile, 'utf8').then((s) => JSON.parse(s) as { dbs: Record<string, { keys: number }> }, () => undefined);
        if ((st?.dbs['0']?.keys ?? 0) > 0) break;
        await new Promise((res) => setTimeout(res, 25));
      }
      child.kill('SIGKILL');
      const res = await child;
      expect(res.signal).toBe('SIGKILL');
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
