/**
 * Preflight: gather facts about the machine, the source and the target images, then judge them. Reads
 * only; the result lists what will break (blockers) and what will be rewritten, before a byte moves.
 */
import type { Config } from '../config/schema.ts';
import type { MysqlEndpoint } from '../engines/mysql/endpoint.ts';
import type { RedisEndpoint } from '../engines/redis/endpoint.ts';
import type { Redactor } from '../util/redact.ts';
import { gatherHostFacts } from './host-facts.ts';
import { assessHost } from './host-assess.ts';
import { gatherMysqlFacts, type MysqlFacts } from './mysql-facts.ts';
import { assessMysql } from './mysql-assess.ts';
import { gatherRedisFacts, type RedisFacts } from './redis-facts.ts';
import { assessRedis } from './redis-assess.ts';
import { probeTargetImages } from './target-facts.ts';
import { blockers, type Finding } from './finding.ts';

export * from './finding.ts';
export { assessHost, requiredDiskBytes, MIN_CPUS, MIN_MEMORY_BYTES } from './host-assess.ts';
export { assessMysql, hasCycle, grantedPrivileges, DEFAULT_MYSQL_TARGET, type MysqlTargetFacts } from './mysql-assess.ts';
export { assessRedis, DEFAULT_REDIS_TARGET, type RedisTargetFacts } from './redis-assess.ts';
export { gatherMysqlFacts, type MysqlFacts } from './mysql-facts.ts';
export { gatherRedisFacts, parseInfo, type RedisFacts } from './redis-facts.ts';
export { gatherHostFacts, isPortFree, type HostFacts } from './host-facts.ts';
export { probeTargetImages } from './target-facts.ts';

export interface PreflightOptions {
  readonly config: Config;
  /** What preflight reads of the run context. */
  readonly ctx: { readonly source: { readonly mysql?: MysqlEndpoint; readonly redis?: RedisEndpoint }; readonly redactor: Redactor };
  /** Target images to probe for their versions (from the compose file / env); defaults assumed otherwise. */
  readonly targetImages?: { mysql?: string; redis?: string };
  /** Ports the target project already holds (a resumed run): not reported as taken. */
  readonly ownPorts?: readonly number[];
  readonly signal?: AbortSignal;
}

export interface PreflightResult {
  readonly ok: boolean;
  readonly findings: readonly Finding[];
  /** Bytes the exports are expected to take (MySQL data+index, Redis used memory). */
  readonly estimatedArtifactBytes: number;
  readonly mysql?: MysqlFacts;
  readonly redis?: RedisFacts;
}

export async function runPreflight(o: PreflightOptions): Promise<PreflightResult> {
  const { config, ctx } = o;
  const findings: Finding[] = [];
  const target = await probeTargetImages(o.targetImages ?? {});
  for (const p of target.probed) findings.push({ severity: 'info', check: 'target-images', subject: 'target', message: `probed ${p}`, hint: 'nothing to do' });
  let mysql: MysqlFacts | undefined;
  let redis: RedisFacts | undefined;
  if (ctx.source.mysql) {
    mysql = await gatherMysqlFacts(ctx.source.mysql);
    findings.push(...assessMysql(mysql, target.mysql, { definer: config.mysql.definer, definerAccount: config.mysql.definerAccount }));
  }
  if (ctx.source.redis) {
    redis = await gatherRedisFacts(ctx.source.redis, o.signal);
    findings.push(...assessRedis(redis, target.redis, { path: config.redis.path }));
  }
  const estimatedArtifactBytes = (mysql?.tables.reduce((s, t) => s + t.bytes, 0) ?? 0) + (redis?.usedMemory ?? 0);
  const host = await gatherHostFacts({ stateDir: config.stateDir, ports: [config.target.migrationPorts.mysql, config.target.migrationPorts.redis] });
  findings.push(...assessHost(host, { estimatedArtifactBytes, stateDir: config.stateDir, ...(o.ownPorts ? { ownPorts: o.ownPorts } : {}) }));
  const redacted = ctx.redactor.redactValue(findings);
  return { ok: blockers(redacted).length === 0, findings: redacted, estimatedArtifactBytes, ...(mysql ? { mysql } : {}), ...(redis ? { redis } : {}) };
}
