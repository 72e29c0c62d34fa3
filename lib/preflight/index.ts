/**
 * Preflight: gather facts about the machine and every store (its engine's `facts`, judged by its
 * `assess`), then the machine's (engine, compose, disk for the exports, the stores' migration ports).
 * Reads only; the result lists what will break (blockers) and what will be rewritten, before a byte moves.
 */
import type { Config } from '../config/schema.ts';
import type { ConfigStore } from '../config/schema.ts';
import type { Engine, EngineParams } from '../core/engine.ts';
import type { Redactor } from '../util/redact.ts';
import { gatherHostFacts } from './host-facts.ts';
import { assessHost } from './host-assess.ts';
import { probeTargetImages } from './target-facts.ts';
import { blockers, finding, type Finding } from './finding.ts';

export * from './finding.ts';
export { assessHost, requiredDiskBytes, MIN_CPUS, MIN_MEMORY_BYTES } from './host-assess.ts';
export { assessMysql, hasCycle, grantedPrivileges, DEFAULT_MYSQL_TARGET, type MysqlTargetFacts } from './mysql-assess.ts';
export { assessRedis, DEFAULT_REDIS_TARGET, type RedisTargetFacts } from './redis-assess.ts';
export { gatherMysqlFacts, type MysqlFacts } from './mysql-facts.ts';
export { gatherRedisFacts, parseInfo, type RedisFacts } from './redis-facts.ts';
export { gatherHostFacts, isPortFree, type HostFacts } from './host-facts.ts';
export { probeTargetImages } from './target-facts.ts';

/** One store as preflight sees it: the store, its engine (undefined: not registered) and the engine's params. */
export interface PreflightStore {
  readonly store: ConfigStore;
  readonly engine: Engine | undefined;
  readonly params: EngineParams;
}

export interface PreflightOptions {
  readonly config: Config;
  readonly stores: readonly PreflightStore[];
  readonly redactor: Redactor;
  /** Target images by compose service (from the compose file): probed for their versions before the stack runs. */
  readonly targetImages?: Readonly<Record<string, string>>;
  /** Ports the target project already holds (a resumed run): not reported as taken. */
  readonly ownPorts?: readonly number[];
  readonly signal?: AbortSignal;
}

export interface PreflightResult {
  readonly ok: boolean;
  /** Every finding; a store's subjects are prefixed with its id (`shop-db: table shop.orders`). */
  readonly findings: readonly Finding[];
  /** Bytes the exports are expected to take (MySQL data+index, Redis used memory…). */
  readonly estimatedArtifactBytes: number;
  /** Each store's facts, by store id. */
  readonly facts: Readonly<Record<string, unknown>>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null;

/** What an engine's facts say the export will weigh: tables' bytes, used memory, files' bytes (0 when they say nothing). */
export function artifactBytesOf(facts: unknown): number {
  const src = isObj(facts) && isObj(facts.source) ? facts.source : facts;
  if (!isObj(src)) return 0;
  if (typeof src.estimatedBytes === 'number') return src.estimatedBytes;
  if (Array.isArray(src.tables)) return src.tables.reduce((n: number, t: unknown) => n + (isObj(t) && typeof t.bytes === 'number' ? t.bytes : 0), 0);
  if (typeof src.usedMemory === 'number') return src.usedMemory;
  if (typeof src.bytes === 'number') return src.bytes;
  return 0;
}

/**
 * Before the stack runs, an engine's target facts are a fresh server's; the compose file's image says
 * which version that server will be: its probed version replaces the assumed one.
 */
function withProbedTarget(facts: unknown, version: string | undefined): unknown {
  if (!version || !isObj(facts) || !isObj(facts.target) || typeof facts.target.version !== 'string') return facts;
  return { ...facts, target: { ...facts.target, version } };
}

export async function runPreflight(o: PreflightOptions): Promise<PreflightResult> {
  const { config } = o;
  const findings: Finding[] = [];
  const images = o.targetImages ?? {};
  const imageOf = (kind: string) => o.stores.map((s) => (s.store.engine === kind ? images[s.store.target.service] : undefined)).find(Boolean);
  const wanted = { mysql: imageOf('mysql'), redis: imageOf('redis') };
  const target = await probeTargetImages({ ...(wanted.mysql ? { mysql: wanted.mysql } : {}), ...(wanted.redis ? { redis: wanted.redis } : {}) });
  for (const p of target.probed) findings.push(finding('info', 'target-images', 'target', `probed ${p}`, 'nothing to do'));
  const probed = (kind: 'mysql' | 'redis') => (target.probed.some((p) => p.startsWith(`${wanted[kind]}: `)) ? target[kind].version : undefined);
  const facts: Record<string, unknown> = {};
  let estimatedArtifactBytes = 0;
  for (const s of o.stores) {
    const id = s.store.id;
    if (!s.engine) {
      findings.push(finding('blocker', 'store-engine-unavailable', `store ${id}`, `the ${s.store.engine} engine is not available in this ferry version`, `move store ${id} by hand, or remove it from the config's stores for now`));
      continue;
    }
    // The stack may not run yet (or run stopped): targets are judged by their image, never connected to.
    const raw = await s.engine.facts({ ...s.params, targetUrl: undefined });
    const f = withProbedTarget(raw, s.store.engine === 'mysql' || s.store.engine === 'redis' ? probed(s.store.engine) : undefined);
    facts[id] = f;
    estimatedArtifactBytes += artifactBytesOf(f);
    const many = o.stores.length > 1 || !s.store.preset;
    for (const x of s.engine.assess(f, s.store)) findings.push(many ? { ...x, subject: `${id}: ${x.subject}` } : x);
  }
  const ports = o.stores.map((s) => s.store.target.migrationPort).filter((p): p is number => p !== undefined);
  const host = await gatherHostFacts({ stateDir: config.stateDir, ports });
  findings.push(...assessHost(host, { estimatedArtifactBytes, stateDir: config.stateDir, ...(o.ownPorts ? { ownPorts: o.ownPorts } : {}) }));
  const redacted = o.redactor.redactValue(findings);
  return { ok: blockers(redacted).length === 0, findings: redacted, estimatedArtifactBytes, facts: o.redactor.redactValue(facts) };
}
