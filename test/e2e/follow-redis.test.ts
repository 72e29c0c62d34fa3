/**
 * Redis follow on real servers: source and target (appendonly, like the stack's) on a user-defined network
 * the test creates, the target reaching the source BY NAME; the host reaches both on 127.0.0.1 only.
 * A writer sets, updates, deletes and expires keys during follow; CLIENT PAUSE WRITE with the writer still
 * running, catch-up, promote; verify key by key; the AOF survives a restart. A follow killed with SIGKILL
 * resumes by running it again; abort deletes the ACL user and puts the target's own config back.
 */
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { GenericContainer, Wait, type StartedNetwork, type StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onLoopback } from '../support/containers.ts';
import { testImages } from '../support/images.ts';
import { testLabels, startTestNetwork } from '../support/labels.ts';
import { killLoop as killLoopOf } from '../support/kill-loop.ts';
import { seedVedfolnirRedis } from '../../fixtures/redis/seed.ts';
import { verifyCopy } from '../../lib/engines/redis/verify.ts';
import type { RedisEndpoint } from '../../lib/engines/redis/endpoint.ts';
import { abortRedisFollow, catchUpRedis, followRedis, probeRedisSourceFromStack, promoteRedis, redisFollowStatus, type RedisFollowOptions } from '../../lib/engines/redis/follow.ts';
import { Redactor } from '../../lib/util/redact.ts';
import { isFerryError } from '../../lib/core/errors.ts';
import type { EngineParams } from '../../lib/core/engine.ts';
import { silentLogger } from '../../lib/core/logger.ts';
import { noProgress } from '../../lib/core/progress.ts';
import { redisEngine } from '../../lib/engines/redis/engine.ts';
import type { RedisOptions } from '../../lib/engines/redis/options.ts';

const SRC_PW = 'src-pw-for-follow';
const DST_PW = 'dst-pw-for-follow';

/** Data size: 1 in the suite; FERRY_FOLLOW_SCALE=100 measures the cutover on a big store (it should not grow). */
const SCALE = Number(process.env.FERRY_FOLLOW_SCALE ?? 1);

interface Server { readonly container: StartedTestContainer; readonly ep: RedisEndpoint }

async function startOn(network: StartedNetwork, alias: string, password: string, flags: readonly string[] = []): Promise<Server> {
  const container = await onLoopback(new GenericContainer(testImages().redis)
    .withLabels(testLabels())
    .withNetwork(network).withNetworkAliases(alias)
    .withExposedPorts(6379)
    .withCommand(['redis-server', '--requirepass', password, ...flags])
    .withWaitStrategy(Wait.forHealthCheck())
    .withStartupTimeout(120_000)).start();
  return { container, ep: { host: '127.0.0.1', port: container.getMappedPort(6379), password, databases: [] } };
}

const client = (ep: RedisEndpoint) => new Redis({ host: ep.host, port: ep.port, password: ep.password, maxRetriesPerRequest: 0, retryStrategy: () => null });

/** The app: sets, updates, deletes and expires keys until `stop` (≤ maxMs); a write blocked by CLIENT PAUSE just waits. */
async function writer(c: Redis, stop: { now: boolean }, maxMs: number): Promise<number> {
  const started = performance.now();
  let writes = 0;
  for (let i = 1; !stop.now && performance.now() - started < maxMs; i++) {
    const p = c.multi();
    p.set(`w:${i}`, `value ${i} ✓`, 'EX', 3600);
    p.incr('w:counter');
    p.hset(`w:hash:${i % 40}`, `f${i}`, Buffer.from([i % 256, 0, 255]));
    p.lpush('w:list', `item ${i}`); p.ltrim('w:list', 0, 199);
    p.zadd('w:zset', i, `m${i % 300}`);
    if (i % 3 === 0) p.del(`w:${i - 2}`);
    if (i % 5 === 0) p.set(`w:short:${i}`, 'gone soon', 'PX', 300);
    if (i % 7 === 0) p.pexpire(`w:${i - 1}`, 150);
    await p.exec();
    writes++;
  }
  return writes;
}

const FOLLOW_MODULE = fileURLToPath(new URL('../../lib/engines/redis/follow.ts', import.meta.url));
const killLoop = (fn: string, o: RedisFollowOptions): Promise<number[]> => killLoopOf(FOLLOW_MODULE, fn, o);

const info = async (r: Redis, section: string): Promise<Record<string, string>> =>
  Object.fromEntries((await r.info(section)).split(/\r?\n/).filter((l) => l.includes(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]));

describe('redis follow: REPLICAOF, catch up, promote', { timeout: 600_000 }, () => {
  let network: StartedNetwork;
  let src: Server; let dst: Server; let spare: Server;
  let work: string;
  const redactor = new Redactor();
  let opts: RedisFollowOptions;
  /** The same store through the engine contract: catch-up and promote run as the playbook will call them. */
  let params: EngineParams<RedisOptions>;

  beforeAll(async () => {
    network = await startTestNetwork();
    [src, dst, spare] = await Promise.all([
      startOn(network, 'ferry-src-redis', SRC_PW),
      startOn(network, 'ferry-dst-redis', DST_PW, ['--appendonly', 'yes', '--appendfsync', 'everysec']),
      startOn(network, 'ferry-spare-redis', DST_PW, ['--appendonly', 'yes']),
    ]);
    work = await mkdtemp(join(tmpdir(), 'ferry-follow-redis-'));
    const c = client(src.ep);
    await seedVedfolnirRedis(c, { scale: SCALE });
    c.disconnect();
    opts = { storeId: 'redis', source: src.ep, target: dst.ep, from: { host: 'ferry-src-redis', port: 6379 }, stateDir: join(work, 'store', 'follow'), redactor, syncTimeoutMs: 60_000 + SCALE * 6_000 };
    const url = (ep: RedisEndpoint, pw: string) => `redis://:${pw}@${ep.host}:${ep.port}`;
    params = {
      store: { id: 'redis', engine: 'redis', source: url(src.ep, SRC_PW), target: { service: 'redis' }, options: redisEngine.parseOptions({ followFrom: { host: 'ferry-src-redis', port: 6379 } }, 'redis') },
      targetUrl: url(dst.ep, DST_PW), artifactDir: join(work, 'artifact'), stateDir: join(work, 'store'),
      signal: new AbortController().signal, log: silentLogger, progress: noProgress, redactor,
    };
  }, 900_000);
  afterAll(async () => {
    await Promise.all([src, dst, spare].map((s) => s?.container.stop({ remove: true, removeVolumes: true })));
    await network?.stop();
  });

  it('a follow killed with SIGKILL resumes by running it again; the link uses a PSYNC-only ACL user', async () => {
    const kills = await killLoop('followRedis', opts);
    console.log(`follow killed ${kills.length} times (at ${kills.join(', ')} ms), then ran to the end`);
    expect(kills.length).toBeGreaterThan(0);
    const st = await followRedis(opts);
    expect(st.following).toBe(true);
    expect((await followRedis(opts)).following).toBe(true);
    const secret = join(opts.stateDir, 'replication.secret');
    expect((await stat(secret)).mode & 0o777).toBe(0o600);
    const pw = (await readFile(secret, 'utf8')).trim();
    expect(await readFile(join(opts.stateDir, 'follow.json'), 'utf8')).not.toContain(pw);
    const s = client(src.ep);
    try {
      const users = (await s.call('ACL', 'LIST')) as string[];
      const mine = users.find((u) => u.startsWith('user ferry-repl-'));
      expect(mine).toMatch(/-@all/);
      expect(mine).toMatch(/\+psync/);
      expect(mine).not.toContain(pw);
    } finally { s.disconnect(); }
  });

  it('follows a live writer; pause → catch-up → promote takes seconds; every key is on the target and in its AOF', async () => {
    const w = client(src.ep);
    const admin = client(src.ep);
    const stop = { now: false };
    const running = writer(w, stop, 600_000); // ends at the pause below (stop), not at a time a busy machine could reach first
    await new Promise((r) => setTimeout(r, 8_000));
    const mid = await redisFollowStatus(opts);
    console.log(`while writing: ${mid.detail}`);
    expect(mid.following).toBe(true);

    const t0 = performance.now();
    await admin.call('CLIENT', 'PAUSE', '120000', 'WRITE'); // the freeze, as the engine does it
    const frozenAt = performance.now();
    stop.now = true; // its write in flight stays blocked by the pause
    const caught = await redisEngine.catchUp!(params, 30_000);
    const caughtAt = performance.now();
    await redisEngine.promote!(params);
    const t1 = performance.now();
    console.log(`cutover: pause ${Math.round(frozenAt - t0)} ms, catch-up ${Math.round(caughtAt - frozenAt)} ms, promote ${Math.round(t1 - caughtAt)} ms, pause→promoted ${Math.round(t1 - t0)} ms`);
    console.log(`caught up: ${caught.detail}`);
    expect(caught.lag).toBe(0);
    expect(caught.detail).toMatch(/keys per db equal \(db0 \d+\/\d+/);
    // Seconds, not the copy: a generous bound on a shared machine (the figure is measured by the cutover bench, never by a
    // timed test): catch-up's own budget (30 s) and the promote.
    expect(t1 - t0).toBeLessThan(60_000);

    const v = await verifyCopy({ source: src.ep, target: dst.ep, ttlToleranceMs: 2000 });
    expect(v.findings).toEqual([]);
    expect(v.ok).toBe(true);
    const d = client(dst.ep);
    try {
      expect(await d.get('w:counter')).toBe(await admin.get('w:counter'));
      console.log(`writer: ${await d.get('w:counter')} transactions on the target`);
      expect(Number(await d.get('w:counter'))).toBeGreaterThan(100);
      const repl = await info(d, 'replication');
      expect(repl.role).toBe('master');
      expect(await d.config('GET', 'masterauth')).toEqual(['masterauth', '']);
      expect(await d.config('GET', 'masteruser')).toEqual(['masteruser', '']);
      const p = await info(d, 'persistence');
      expect([p.aof_enabled, p.aof_last_bgrewrite_status, p.aof_last_write_status]).toEqual(['1', 'ok', 'ok']);
    } finally { d.disconnect(); }
    expect(((await admin.call('ACL', 'LIST')) as string[]).some((u) => u.includes('ferry-repl-'))).toBe(false);
    await expect(stat(join(opts.stateDir, 'replication.secret'))).rejects.toThrow();

    // The AOF holds it all: restart the target and compare again.
    await dst.container.restart();
    const after = { ...dst.ep, port: dst.container.getMappedPort(6379) };
    for (let i = 0; i < 600; i++) { // up to 2 minutes: a busy machine's restart and AOF load
      const r = client(after); r.on('error', () => undefined);
      const ok = await r.ping().then(() => true, () => false);
      const loading = ok && (await info(r, 'persistence')).loading === '1';
      r.disconnect();
      if (ok && !loading) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    const v2 = await verifyCopy({ source: src.ep, target: after, ttlToleranceMs: 2000 });
    expect(v2.findings).toEqual([]);
    await promoteRedis({ ...opts, target: after }); // again: nothing more
    w.disconnect(); // its blocked write dies with it, never applied anywhere
    await running.catch(() => undefined);
    await admin.call('CLIENT', 'UNPAUSE');
    admin.disconnect();
  });

  it('an unreachable source is named with the fix; abort during follow deletes the ACL user and restores the target', async () => {
    const seen = await probeRedisSourceFromStack({ image: testImages().redis, from: { host: 'ferry-src-redis', port: 6379 }, network: network.getName() });
    expect(seen).toEqual({ ok: true, detail: "Redis answers at ferry-src-redis:6379 from the stack's side" });
    const unseen = await probeRedisSourceFromStack({ image: testImages().redis, from: { host: 'ferry-nowhere', port: 6379 }, network: network.getName() });
    expect(unseen.ok).toBe(false);
    expect(unseen.hint).toMatch(/ferry-nowhere:6379/);
    const lost: RedisFollowOptions = { ...opts, storeId: 'lost', target: spare.ep, from: { host: 'ferry-nowhere', port: 6379 }, stateDir: join(work, 'lost'), syncTimeoutMs: 4_000 };
    const err = await followRedis(lost).catch((e: unknown) => e);
    expect(isFerryError(err) && err.code).toBe('E_REDIS_FOLLOW_UNREACHABLE');
    expect((err as Error).message).toContain('ferry-nowhere:6379');
    expect(JSON.stringify(err)).not.toContain(SRC_PW);
    await abortRedisFollow(lost);

    const sp = client(spare.ep);
    await sp.config('SET', 'masteruser', 'keep-me'); // the target's own setting, to be put back
    const live: RedisFollowOptions = { ...opts, storeId: 'spare', target: spare.ep, stateDir: join(work, 'spare') };
    expect((await followRedis(live)).following).toBe(true);
    const w = client(src.ep);
    const stop = { now: false };
    const running = writer(w, stop, 120_000);
    await new Promise((r) => setTimeout(r, 1_000));
    await abortRedisFollow(live); // while the app writes (stopped below, not by a time)
    stop.now = true;
    await running;
    w.disconnect();
    await abortRedisFollow(live);
    const s = client(src.ep);
    try {
      expect(((await s.call('ACL', 'LIST')) as string[]).some((u) => u.includes('ferry-repl-'))).toBe(false);
      expect((await info(sp, 'replication')).role).toBe('master');
      expect(await sp.config('GET', 'masteruser')).toEqual(['masteruser', 'keep-me']);
      expect(await sp.config('GET', 'masterauth')).toEqual(['masterauth', '']);
      expect((await info(s, 'server')).redis_version).toBeTruthy();
    } finally { s.disconnect(); sp.disconnect(); }
  });

  it('a cutover killed during promote resumes by running promote again, to a verified end', async () => {
    const o: RedisFollowOptions = { ...opts, storeId: 'spare2', target: spare.ep, stateDir: join(work, 'spare2') };
    expect((await followRedis(o)).following).toBe(true);
    const w = client(src.ep);
    const admin = client(src.ep);
    const stop = { now: false };
    const running = writer(w, stop, 120_000);
    await new Promise((r) => setTimeout(r, 2_000));
    await admin.call('CLIENT', 'PAUSE', '120000', 'WRITE');
    stop.now = true;
    expect((await catchUpRedis(o, 30_000)).lag).toBe(0);
    const kills = await killLoop('promoteRedis', o);
    console.log(`promote killed ${kills.length} times (at ${kills.join(', ')} ms), then ran to the end`);
    expect(kills.length).toBeGreaterThan(0);
    await promoteRedis(o);
    expect(JSON.parse(await readFile(join(o.stateDir, 'follow.json'), 'utf8')).state).toBe('promoted');
    const v = await verifyCopy({ source: src.ep, target: spare.ep, ttlToleranceMs: 2000 });
    expect(v.findings).toEqual([]);
    const sp = client(spare.ep);
    try {
      expect((await info(sp, 'replication')).role).toBe('master');
      expect(await sp.config('GET', 'masteruser')).toEqual(['masteruser', 'keep-me']);
    } finally { sp.disconnect(); }
    expect(((await admin.call('ACL', 'LIST')) as string[]).some((u) => u.includes('ferry-repl-'))).toBe(false);
    w.disconnect();
    await running.catch(() => undefined);
    await admin.call('CLIENT', 'UNPAUSE');
    admin.disconnect();
  });
});
