/**
 * What a follow check answers, and the route half of it: once the server itself could follow, the stack
 * must reach it where `options.followFrom` says (auto needs one), proven by a probe container. Pure apart
 * from the probe the caller hands in.
 */
import type { Engine, EngineFinding, SecretSink } from '../core/engine.ts';
import type { ConfigStore } from '../config/schema.ts';
import { sourceFromTarget, type SourceFromTarget } from '../engines/follow-from.ts';

/** One store's answer: whether it can follow, why, and (when it cannot) the one change that would let it. */
export interface FollowReadiness {
  readonly store: string;
  readonly ready: boolean;
  readonly why: string;
  readonly enable?: string;
  /** The source's size (bytes) when read: tables' data+index, Redis used memory, the database's size. */
  readonly bytes?: number;
  /** The source as the stack reaches it, when a route was proven. */
  readonly from?: SourceFromTarget;
}

/** What the readiness checks need of the stack (its compose configuration): images and networks by service. */
export interface StackView {
  readonly images: Readonly<Record<string, string>>;
  /** External networks a service joins (names as Docker knows them): the probe stands there. */
  readonly networks: Readonly<Record<string, readonly string[]>>;
  /** Each service's command as compose runs it (a stack MySQL started with --gtid-mode=ON says so there). */
  readonly commands?: Readonly<Record<string, string>>;
}

export interface ReadinessOptions {
  readonly store: ConfigStore;
  readonly engine: Engine | undefined;
  readonly mode: 'auto' | 'follow';
  readonly stack: StackView;
  readonly redactor: SecretSink;
  readonly signal?: AbortSignal;
}

export type Probe = { ok: boolean; detail: string; hint?: string };

/** The store's `options.followFrom`: the source as the stack's containers reach it. */
export const followFromOf = (s: ConfigStore): Partial<SourceFromTarget> | undefined => (s.options as { followFrom?: Partial<SourceFromTarget> }).followFrom;

/** The first blocker as a readiness (why, and its hint as the change to make), or undefined when none. */
export function fromBlockers(store: string, findings: readonly EngineFinding[], bytes?: number): FollowReadiness | undefined {
  const b = findings.find((f) => f.severity === 'blocker');
  if (!b) return undefined;
  return { store, ready: false, why: b.message, enable: b.hint, ...(bytes !== undefined ? { bytes } : {}) };
}

/**
 * The route, once the server could follow: auto needs `options.followFrom` (how the stack's containers
 * reach the source); given one (or in `follow` mode the default, host.docker.internal for a loopback
 * source), the probe must find the server answering there.
 */
export async function judgeRoute(o: {
  store: string; mode: 'auto' | 'follow'; followFrom: Partial<SourceFromTarget> | undefined; source: { host: string; port: number };
  bytes?: number; what: string; probe: (from: SourceFromTarget) => Promise<Probe>;
}): Promise<FollowReadiness> {
  const size = o.bytes !== undefined ? { bytes: o.bytes } : {};
  if (o.mode === 'auto' && o.followFrom === undefined) {
    return {
      store: o.store, ready: false, ...size, why: `the source could be followed (${o.what}), but the config does not say how the stack reaches it (auto follows only stores with options.followFrom)`,
      enable: `add options.followFrom { host, port } to store ${o.store}: the source as the stack's containers reach it (host.docker.internal for a server on this machine, listening beyond 127.0.0.1), or set cutover.mode to follow`,
    };
  }
  const from = sourceFromTarget(o.source, o.followFrom);
  const p = await o.probe(from);
  if (!p.ok) return { store: o.store, ready: false, ...size, why: p.detail, enable: p.hint ?? `make ${from.host}:${from.port} reachable from the stack's containers` };
  return { store: o.store, ready: true, ...size, from, why: `${o.what}; ${p.detail}` };
}
