/**
 * The Redis engine behind the engine contract (lib/core/engine.ts): a store is the logical databases
 * of one server, reached by `store.source` (a redis:// URL) and copied to the server at `targetUrl`
 * by the path the two servers allow (physical RDB placement, DUMP/RESTORE, type-aware rewrite). The
 * export is the source's RDB fetched over replication (the rollback backup, and what the physical
 * path places). Each phase is one call into the engine's modules.
 */
import { join } from 'node:path';
import { defineEngine } from '../../core/engine.ts';
import { describeEndpoint, withRedis } from './connect.ts';
import { parseRedisOptions, type RedisOptions, type RedisStore } from './options.ts';
import { gatherRedisFacts, gatherRedisTargetFacts, type RedisFacts } from './facts.ts';
import { assessRedis, DEFAULT_REDIS_TARGET, type RedisTargetFacts } from './assess.ts';
import { redisSourceState } from './source-state.ts';
import { exportStore, exportedNow } from './store-export.ts';
import { clearStore, importStore } from './store-import.ts';
import { verifyCopy } from './verify.ts';
import { checkApp } from './app-checks.ts';
import { verifyEntries } from './verify-entries.ts';
import { freezeRedis, thawRedis, sampleRedis } from './freeze.ts';
import { reverseRedis } from './reverse.ts';
import { abortRedisFollow, catchUpRedis, followRedis, promoteRedis, redisFollowOptionsOf, redisFollowStatus } from './follow.ts';
import { verifyRedisPinned } from './follow-pinned.ts';
import { sourceOf, targetOf } from './store.ts';

export interface RedisEngineFacts {
  readonly source: RedisFacts;
  /** Read from the running target when `targetUrl` is known, else what a fresh Redis 7 service is. */
  readonly target: RedisTargetFacts;
}

export const redisEngine = defineEngine<RedisOptions, RedisEngineFacts>({
  kind: 'redis',
  phases: ['facts', 'assess', 'sourceState', 'export', 'import', 'verify', 'freeze', 'thaw', 'reverse', 'follow', 'catchUp', 'promote'],
  parseOptions: parseRedisOptions,

  async facts(p) {
    const source = await gatherRedisFacts(sourceOf(p), p.signal);
    const target = p.targetUrl ? await gatherRedisTargetFacts(targetOf(p)) : DEFAULT_REDIS_TARGET;
    return { source, target };
  },

  assess(facts, store: RedisStore) {
    return assessRedis(facts.source, facts.target, { path: store.options.path });
  },

  sourceState: (p) => redisSourceState(sourceOf(p)),

  exported: exportedNow,
  export: exportStore,

  import: importStore,
  clearTarget: clearStore,

  async verify(p) {
    const started = performance.now();
    const source = sourceOf(p);
    const target = targetOf(p);
    const o = p.store.options;
    const keys = await verifyCopy({ source, target, databases: source.databases, ttlToleranceMs: o.ttlToleranceMs });
    const app = await checkApp({ source, target, databases: source.databases, sessionPrefix: o.sessionPrefix, ttlToleranceMs: o.ttlToleranceMs });
    return { ok: keys.ok && app.ok, entries: verifyEntries(keys, app, (s) => p.redactor.redact(s)), seconds: (performance.now() - started) / 1000 };
  },

  async freeze(p) {
    const s = sourceOf(p);
    const record = await freezeRedis(s, p.stateDir, p.store.options.pauseMs);
    p.log.info(`${p.store.id}: ${describeEndpoint(s)} writes paused until ${new Date(record.pausedUntil).toISOString()}`);
    return record;
  },

  async thaw(p, record) {
    const s = sourceOf(p);
    if (await thawRedis(s, p.stateDir, record)) p.log.info(`${p.store.id}: ${describeEndpoint(s)} writes unpaused`);
  },

  async quietSample(p) {
    return withRedis(sourceOf(p), sampleRedis);
  },

  async reverse(p) {
    const s = sourceOf(p);
    const r = await reverseRedis({
      from: targetOf(p), to: s, databases: s.databases, path: p.store.options.path, stateFile: join(p.stateDir, 'reverse', 'copy-progress.json'), signal: p.signal,
      onProgress: (d) => p.progress.update({ unit: 'keys', done: d.keys, bytes: d.bytes, label: `db ${d.db}` }),
    });
    p.log.info(`${p.store.id}: ${r.keys} keys of the stack copied back to ${describeEndpoint(s)} (${r.path} path), ${r.pruned} deleted there that the stack no longer has`);
    return { data: { keys: r.keys, bytes: r.bytes, expired: r.expired, path: r.path, pruned: r.pruned } };
  },

  async follow(p) { return followRedis(redisFollowOptionsOf(p)); },
  async catchUp(p, budgetMs) { return catchUpRedis(redisFollowOptionsOf(p), budgetMs); },
  async promote(p) { await promoteRedis(redisFollowOptionsOf(p)); },
  async abortFollow(p) { await abortRedisFollow(redisFollowOptionsOf(p)); },
  async followStatus(p) { return redisFollowStatus(redisFollowOptionsOf(p)); },
  async verifyPinned(p) { return verifyRedisPinned(redisFollowOptionsOf(p)); },
});
