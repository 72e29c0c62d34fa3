/**
 * Redis's pinned verify on real servers (source and follower on a network the test creates, the follower
 * reaching the source by name): with a writer running, the source is pinned (CLIENT PAUSE WRITE), the
 * follower reaches its offset exactly, counts and sampled DUMPs agree, and the writer only waited (no
 * write failed); a key written on the follower behind replication's back is found (the count at the pin);
 * afterwards the source takes writes again at once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { GenericContainer, Wait, type StartedNetwork, type StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onLoopback } from '../support/containers.ts';
import { testImages } from '../support/images.ts';
import { testLabels, startTestNetwork } from '../support/labels.ts';
import { seedVedfolnirRedis } from '../../fixtures/redis/seed.ts';
import type { RedisEndpoint } from '../../lib/engines/redis/endpoint.ts';
import { abortRedisFollow, followRedis, type RedisFollowOptions } from '../../lib/engines/redis/follow.ts';
import { verifyRedisPinned } from '../../lib/engines/redis/follow-pinned.ts';
import { Redactor } from '../../lib/util/redact.ts';

const SRC_PW = 'src-pw-pinned';
const DST_PW = 'dst-pw-pinned';

async function startOn(network: StartedNetwork, alias: string, password: string): Promise<{ container: StartedTestContainer; ep: RedisEndpoint }> {
  const container = await onLoopback(new GenericContainer(testImages().redis).withLabels(testLabels())
    .withNetwork(network).withNetworkAliases(alias).withExposedPorts(6379)
    .withCommand(['redis-server', '--requirepass', password])
    .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/)).withStartupTimeout(120_000)).start();
  return { container, ep: { host: '127.0.0.1', port: container.getMappedPort(6379), password, databases: [] } };
}

const client = (ep: RedisEndpoint) => new Redis({ host: ep.host, port: ep.port, password: ep.password, maxRetriesPerRequest: 0, retryStrategy: () => null });

describe('redis verify at a pinned replication offset', { timeout: 300_000 }, () => {
  let network: StartedNetwork;
  let src: Awaited<ReturnType<typeof startOn>>;
  let dst: Awaited<ReturnType<typeof startOn>>;
  let work = '';
  let opts: RedisFollowOptions;

  beforeAll(async () => {
    network = await startTestNetwork();
    [src, dst] = await Promise.all([startOn(network, 'ferry-src-pinned', SRC_PW), startOn(network, 'ferry-dst-pinned', DST_PW)]);
    const c = client(src.ep);
    try { await seedVedfolnirRedis(c, { scale: 0.2 }); } finally { c.disconnect(); }
    work = await mkdtemp(join(tmpdir(), 'ferry-pinned-'));
    opts = { storeId: 'cache', source: src.ep, target: dst.ep, from: { host: 'ferry-src-pinned', port: 6379 }, stateDir: join(work, 'follow'), redactor: new Redactor(), syncTimeoutMs: 60_000 };
    expect((await followRedis(opts)).following).toBe(true);
  });
  afterAll(async () => {
    if (opts) await abortRedisFollow(opts).catch(() => undefined);
    await Promise.all([src?.container.stop({ remove: true, removeVolumes: true }), dst?.container.stop({ remove: true, removeVolumes: true })]);
    await network?.stop().catch(() => undefined);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('agrees at the pin while the app writes (its writes wait, none fails), then finds a key the follower holds behind replication\'s back', async () => {
    const w = client(src.ep);
    let stop = false, writes = 0;
    const writing = (async () => {
      for (let i = 0; !stop && i < 20_000; i++) { await w.set(`pin:live:${i}`, `v${i}`); writes++; }
    })();
    try {
      // The app is writing (its first write answered) before the pin, however slow the machine.
      for (let i = 0; i < 600 && writes === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(writes).toBeGreaterThan(0);
      // A pin that would outlast the test's bound below by far: a write answering within it means ferry lifted it.
      const r = await verifyRedisPinned(opts, { sample: 100, pauseMs: 120_000 });
      expect(r.ok, JSON.stringify(r.entries)).toBe(true);
      const db0 = r.entries.find((e) => e.subject === 'db 0')!;
      expect(db0.counts!.sourceKeys).toBe(db0.counts!.targetKeys);
      expect(db0.counts!.sampled).toBeGreaterThan(10);
      expect(db0.counts!.offset).toBeGreaterThan(0);
    } finally { stop = true; await writing; }
    expect(writes).toBeGreaterThan(0);
    // The pin is lifted: a write answers (were it not, it would wait out the 120 s pause).
    const t0 = performance.now();
    await w.set('pin:after', '1');
    expect(performance.now() - t0).toBeLessThan(30_000);
    w.disconnect();

    // Behind replication's back: the follower made writable and a key added there.
    const d = client(dst.ep);
    try {
      await d.config('SET', 'replica-read-only', 'no');
      await d.set('only:on:target', 'x');
    } finally { d.disconnect(); }
    const bad = await verifyRedisPinned(opts, { sample: 50 });
    expect(bad.ok).toBe(false);
    const f = bad.entries.find((e) => e.subject === 'db 0')!;
    expect(f.counts!.targetKeys).toBe(f.counts!.sourceKeys! + 1);
    expect(f.findings!.join('\n')).toMatch(/keys on the source, \d+ on the target at offset/);
  });
});
