/**
 * Step `redis-import`: copy the source Redis into the target by the path chosen from what the two
 * servers support (or `config.redis.path`): physical (the exported RDB placed in the target's data
 * directory through `ctx.services.redis`), DUMP/RESTORE ABSTTL, or the type-aware rewrite. A target
 * already holding keys is refused unless `config.redis.replace`. Resumes from `<stateDir>/redis/`.
 */
import { readFile, rm } from 'node:fs/promises';
import { defineStep } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import type { FerryContext } from './context.ts';
import { connectRedis, describeEndpoint, importRedis, preflight, removeRdb, serverInfo } from '../engines/redis/index.ts';
import { copyStateFile, endpoints, importDoneFile, rdbArtifact, type RedisStepParams } from './redis-shared.ts';

interface Done { path: string; reason: string; keys: number; expired: number; big: number; replace: boolean }

const readDone = (p: RedisStepParams) => readFile(importDoneFile(p), 'utf8').then((s) => JSON.parse(s) as Done, () => undefined);
const rdbPathOf = (p: RedisStepParams) => (p.outputs.get('redis-export')?.data?.rdbPath as string | undefined) ?? rdbArtifact(p);

export default defineStep<Config, FerryContext>({
  id: 'redis-import',
  title: 'Copy every Redis key with its TTL into the stack',
  async check(p) {
    const done = await readDone(p);
    return { done: done !== undefined, reason: done ? `imported by the ${done.path} path (${done.keys} keys)` : 'not imported yet' };
  },
  async plan(p) {
    const { source, target } = endpoints(p);
    const pf = await preflight(source, target, p.config.redis.path, p.ctx.services.redis !== undefined);
    return {
      reads: [`redis ${describeEndpoint(source)}`, ...(pf.decision.path === 'physical' ? [rdbPathOf(p)] : [])],
      changes: [`redis ${describeEndpoint(target)} databases ${pf.databases.join(', ')}`],
      details: `path: ${pf.decision.path} — ${pf.decision.reason}`,
      pending: (await readDone(p)) === undefined,
    };
  },
  async run(p) {
    const { source, target } = endpoints(p);
    const service = p.ctx.services.redis;
    const r = await importRedis({
      source, target, path: p.config.redis.path, replace: p.config.redis.replace, stateFile: copyStateFile(p),
      ...(service ? { service, rdbPath: rdbPathOf(p) } : {}), signal: p.signal,
      onProgress: (d) => p.progress.update({ unit: 'keys', done: d.keys, bytes: d.bytes, label: `db ${d.db}` }),
    });
    p.log.info(`redis: ${r.decision.path} path (${r.decision.reason}): ${r.keys} keys, ${r.expired} expired during the copy`);
    const done: Done = { path: r.decision.path, reason: r.decision.reason, keys: r.keys, expired: r.expired, big: r.copy?.big ?? 0, replace: p.config.redis.replace };
    await writeFileAtomic(importDoneFile(p), JSON.stringify(done));
    return { data: { ...done } };
  },
  async verify(p) {
    const { source, target } = endpoints(p);
    const [s, t] = await Promise.all([connectRedis(source), connectRedis(target)]);
    try {
      const [si, ti] = await Promise.all([serverInfo(s), serverInfo(t)]);
      // Counts only (redis-verify compares every key): keys with TTLs may expire meanwhile.
      const findings = [...si.keyspace].filter(([db, k]) => (ti.keyspace.get(db)?.keys ?? 0) < k.keys - k.expires)
        .map(([db, k]) => `db ${db}: ${ti.keyspace.get(db)?.keys ?? 0} keys on the target, source has ${k.keys - k.expires} without TTL alone`);
      return { ok: findings.length === 0, findings };
    } finally { s.disconnect(); t.disconnect(); }
  },
  async undo(p) {
    const done = await readDone(p);
    const state = await readFile(copyStateFile(p), 'utf8').catch(() => undefined);
    if (!done && !state) return; // nothing written by ferry (or already undone)
    if (p.config.redis.replace) {
      p.log.warn('redis: the target held keys before the import (redis.replace): left as it is, not flushed');
    } else {
      const { target } = endpoints(p);
      const st = state ? (JSON.parse(state) as { mode?: string; dbs?: Record<string, unknown> }) : undefined;
      const physical = done?.path === 'physical' || st?.mode === 'physical';
      if (physical && p.ctx.services.redis) await removeRdb(p.ctx.services.redis);
      // Only the databases ferry wrote (the physical path replaced the whole dataset).
      const dbs = Object.keys(st?.dbs ?? {}).map(Number);
      const t = await connectRedis(target);
      try {
        if (physical || !st) await t.flushall();
        else for (const db of dbs) { await t.select(db); await t.flushdb(); }
      } finally { t.disconnect(); }
    }
    await rm(copyStateFile(p), { force: true });
    await rm(importDoneFile(p), { force: true });
  },
});
