/**
 * The Redis app checks on real servers, at the edges the migrate-kill flake showed: keys expiring while
 * the check runs (RQ's finished jobs share one result TTL, so many expire at once) are never a finding;
 * a key only the target holds, or a session missing from it, still is. Both servers on 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startRedis, type StartedRedis } from '../support/containers.ts';
import { checkApp } from '../../lib/engines/redis/app-checks.ts';
import type { RedisEndpoint } from '../../lib/engines/redis/endpoint.ts';

describe('redis app checks with keys expiring during the check', { timeout: 300_000 }, () => {
  let a: StartedRedis;
  let b: StartedRedis;
  let src: Redis;
  let tgt: Redis;
  const ep = (r: StartedRedis): RedisEndpoint => ({ host: r.host, port: r.port, databases: [] });
  // A wide tolerance, so the about-to-expire keys are still there when counted on a loaded machine.
  const check = () => checkApp({ source: ep(a), target: ep(b), sessionPrefix: 'session:', ttlToleranceMs: 60_000, databases: [0] });

  beforeAll(async () => {
    [a, b] = await Promise.all([startRedis(), startRedis()]);
    src = new Redis({ host: a.host, port: a.port });
    tgt = new Redis({ host: b.host, port: b.port });
  });
  afterAll(async () => {
    src?.disconnect(); tgt?.disconnect();
    await Promise.all([a?.stop(), b?.stop()]);
  });

  const both = async (fn: (r: Redis) => Promise<unknown>) => { await fn(src); await fn(tgt); };

  it('equal data with 2,000 jobs expiring within the tolerance on one side only: ok; a lasting extra key: a finding', async () => {
    await both(async (r) => {
      await r.flushall();
      const p = r.pipeline();
      for (let i = 0; i < 500; i++) p.set(`session:${i}`, `s${i}`, 'PX', 3_600_000);
      for (let i = 0; i < 200; i++) p.hset(`rq:job:${i}`, 'status', 'queued', 'origin', 'default');
      await p.exec();
    });
    // Jobs the source already expired and the target is about to (the order two servers expire in).
    const t = tgt.pipeline();
    for (let i = 0; i < 2000; i++) t.hset(`rq:job:done-${i}`, 'status', 'finished').pexpire(`rq:job:done-${i}`, 30_000);
    await t.exec();
    const r = await check();
    expect(r.findings).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.categories['rq jobs']).toMatchObject({ source: 200, target: 2200, differing: 0 });

    await tgt.hset('rq:job:orphan', 'status', 'queued');
    const bad = await check();
    expect(bad.ok).toBe(false);
    expect(bad.findings).toEqual(['rq jobs: db 0: the target holds keys the source does not (e.g. `rq:job:orphan`)']);
  });

  it('a session missing on the target is named; one expiring on the source meanwhile is not', async () => {
    await both((r) => r.flushall());
    await both((r) => r.set('session:kept', 'x', 'PX', 3_600_000));
    await src.set('session:lost', 'y', 'PX', 3_600_000);
    await src.set('session:expiring', 'z', 'PX', 1500);
    const r = await check();
    expect(r.findings).toEqual(['sessions: db 0 key `session:lost`: missing on the target']);
    expect(r.categories.sessions).toMatchObject({ source: 2, target: 1, differing: 1 });
  });
});
