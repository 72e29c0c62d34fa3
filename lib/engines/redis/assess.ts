/** Judging the source Redis against the target image (pure: facts in, findings out). */
import type { EngineFinding } from '../../core/engine.ts';
import { compareVersions, parseVersion, rdbVersionOf } from './versions.ts';
import type { RedisFacts } from './facts.ts';

type Finding = EngineFinding;
const finding = (severity: Finding['severity'], check: string, subject: string, message: string, hint: string): Finding =>
  Object.freeze({ severity, check, subject, message, hint });

export interface RedisTargetFacts {
  readonly version: string;
  readonly modules: readonly string[];
}

export const DEFAULT_REDIS_TARGET: RedisTargetFacts = { version: '7.0.0', modules: [] };

export function assessRedis(f: RedisFacts, target: RedisTargetFacts, opts: { path: 'auto' | 'physical' | 'dump' | 'rewrite' }): Finding[] {
  const out: Finding[] = [];
  const src = `redis ${f.endpoint}`;
  const sv = parseVersion(f.version) ?? { major: 0, minor: 0, patch: 0 };
  const tv = parseVersion(target.version) ?? { major: 0, minor: 0, patch: 0 };
  const srcRdb = rdbVersionOf(sv), tgtRdb = rdbVersionOf(tv);
  const dbs = Object.entries(f.keyspace).map(([db, k]) => `db${db}=${k.keys}`).join(' ');
  out.push(finding('info', 'redis-version', src, `source ${f.version} (RDB ${srcRdb}) → target ${target.version} (RDB ${tgtRdb}); keys: ${dbs || 'none'}`, 'nothing to do'));
  if (srcRdb > tgtRdb) {
    if (opts.path === 'physical' || opts.path === 'dump') {
      out.push(finding('blocker', 'redis-rdb-format', src, `the target reads RDB ≤ ${tgtRdb}, the source writes RDB ${srcRdb}: path ${opts.path} cannot work`, 'set the store\'s path option (redis.path in the preset) to auto or rewrite, or use a target image ≥ the source version'));
    } else {
      out.push(finding('rewrite', 'redis-rdb-format', src, `the target reads RDB ≤ ${tgtRdb}, the source writes RDB ${srcRdb}`, 'keys are rewritten command by command instead of copied as RDB payloads (slower); use a newer target image to avoid it'));
    }
  } else if (compareVersions(sv, tv) > 0) {
    out.push(finding('warning', 'redis-downgrade', src, `the target (${target.version}) is older than the source (${f.version})`, 'commands added after the target\'s version will fail in the app: pin a target image ≥ the source'));
  }
  const missingModules = f.modules.filter((m) => !target.modules.includes(m));
  if (missingModules.length) out.push(finding('blocker', 'redis-modules', src, `modules in use that the target lacks: ${missingModules.join(', ')}`, 'use a target image with these modules (e.g. redis-stack) or remove their keys first'));
  if (f.streams) {
    out.push(finding(opts.path === 'rewrite' && f.pendingEntries ? 'warning' : 'info', 'redis-streams', src,
      `${f.streams} stream(s), ${f.consumerGroups} consumer group(s), ${f.pendingEntries} pending entr${f.pendingEntries === 1 ? 'y' : 'ies'}`,
      opts.path === 'rewrite' ? 'the rewrite path recreates groups and last-delivered ids; pending entries are re-delivered after the move' : 'copied with their groups and pending entries; nothing to do'));
  }
  if (f.hashFieldTtlKeys) {
    const tgtHfe = compareVersions(tv, { major: 7, minor: 4, patch: 0 }) >= 0;
    out.push(finding(tgtHfe ? 'info' : 'blocker', 'redis-hash-field-ttl', src, `${f.hashFieldTtlKeys} hash(es) with per-field TTLs`,
      tgtHfe ? 'copied with their field TTLs; nothing to do' : 'the target cannot hold field TTLs: use a target image ≥ 7.4'));
  }
  return out;
}
