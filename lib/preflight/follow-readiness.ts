/**
 * Can each store follow its live source? Read-only, per engine: the server's own prerequisites (MySQL:
 * binary log, ROW format, server_id; Redis: an RDB version the stack's Redis reads; PostgreSQL:
 * wal_level=logical, replica identities, slots, privileges), then the route — the stack must reach the
 * source where `options.followFrom` says, proven from a throwaway container on the service's networks.
 * A store that cannot follow keeps the copy inside the freeze; `enable` is the one change that would let
 * it follow (ferry never restarts the host's server). The source's size feeds the downtime prediction.
 */
import type { Engine } from '../core/engine.ts';
import type { ConfigStore } from '../config/schema.ts';
import type { FollowReadiness, Probe, ReadinessOptions } from './follow-route.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { mysqlReadiness, postgresReadiness, redisReadiness } from './follow-servers.ts';

export { fromBlockers, judgeRoute, followFromOf, type FollowReadiness, type StackView, type ReadinessOptions, type Probe } from './follow-route.ts';
export { assumedMysqlTarget } from './follow-servers.ts';

const FOLLOW_PHASES = ['follow', 'catchUp', 'promote'] as const;
const firstLine = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0]!;

/**
 * Every store's readiness; a store whose check fails (source unreachable, refused login) cannot follow,
 * with the reason. `mode: freeze-copy` checks nothing.
 */
export async function assessFollowReadiness(o: Omit<ReadinessOptions, 'store' | 'engine'> & { stores: readonly { store: ConfigStore; engine: Engine | undefined }[] }): Promise<FollowReadiness[]> {
  const out: FollowReadiness[] = [];
  for (const s of o.stores) {
    const one: ReadinessOptions = { ...o, store: s.store, engine: s.engine };
    out.push(await readinessOf(one).catch((e: unknown) => ({
      store: s.store.id, ready: false, why: `its source could not be checked: ${o.redactor.redact(firstLine(e))}`,
      enable: 'make the source reachable with the config\'s URL and account, then run again',
    })));
  }
  return withFilesPasses(out, o.stores, o.mode);
}

/**
 * A files store has no replication: ferry carries it by a bulk copy before the freeze and a final pass
 * of what changed since inside it. That pays when the run has a follow phase anyway (another store
 * follows, or `follow` mode); otherwise its copy stays inside the freeze.
 */
function withFilesPasses(out: FollowReadiness[], stores: readonly { store: ConfigStore; engine: Engine | undefined }[], mode: 'auto' | 'follow'): FollowReadiness[] {
  const passes = (i: number) => stores[i]!.store.engine === 'files' && FOLLOW_PHASES.every((ph) => stores[i]!.engine?.phases.includes(ph));
  const others = out.some((r, i) => !passes(i) && r.ready);
  return out.map((r, i) => {
    if (!passes(i)) return r;
    return mode === 'follow' || others
      ? { store: r.store, ready: true, why: 'the tree is copied before the freeze; inside it the final pass copies only what changed since' }
      : { store: r.store, ready: false, why: 'no other store of the run follows: the tree is copied inside the freeze', enable: 'let a database store follow (options.followFrom), or set cutover.mode to follow' };
  });
}

async function readinessOf(o: ReadinessOptions): Promise<FollowReadiness> {
  const id = o.store.id;
  const follows = !!o.engine && FOLLOW_PHASES.every((ph) => typeof (o.engine as unknown as Record<string, unknown>)[ph] === 'function');
  // Files sit on this host: nothing to replicate, no route; following is the bulk copy first and a final pass in the freeze.
  if (follows && o.store.engine === 'files') return { store: id, ready: true, why: 'files: the bulk copy runs before the freeze, the final pass inside it copies only what changed since' };
  if (!follows) {
    return o.store.engine === 'files'
      ? { store: id, ready: false, why: 'files are copied inside the freeze: the final pass copies only what changed since the bulk copy', enable: 'nothing: a files store has no replication to follow' }
      : { store: id, ready: false, why: `the ${o.store.engine} engine cannot follow a live source yet`, enable: 'nothing in the config: this ferry version copies it inside the freeze' };
  }
  const networks = o.stack.networks[o.store.target.service] ?? [];
  const probeOn = (run: (network?: string) => Promise<Probe>): Promise<Probe> => probeNetworks(networks, run, o.signal ? { signal: o.signal } : {});
  switch (o.store.engine) {
    case 'mysql': return mysqlReadiness(o, probeOn);
    case 'redis': return redisReadiness(o, probeOn);
    case 'postgres': return postgresReadiness(o, probeOn);
    default: return { store: id, ready: false, why: `no follow check for the ${o.store.engine} engine`, enable: 'nothing in the config' };
  }
}

/**
 * The probe stands where the service will: on each external network it joins (the first answer wins), else
 * Docker's default. Nothing answering is tried again, `attempts` rounds `pauseMs` apart: a throwaway
 * container on a busy Docker engine can start late or lose its first connect, and one such miss would turn
 * a store that can follow into a copy inside the freeze. An answer is final; the last miss is the reason.
 */
export async function probeNetworks(networks: readonly string[], run: (network?: string) => Promise<Probe>, o: { attempts?: number; pauseMs?: number; signal?: AbortSignal } = {}): Promise<Probe> {
  const on = networks.length ? networks : [undefined];
  const attempts = o.attempts ?? 3;
  let last: Probe | undefined;
  for (let i = 1; ; i++) {
    for (const n of on) { last = await run(n); if (last.ok) return last; }
    if (i >= attempts || o.signal?.aborted) return last!;
    await sleep(o.pauseMs ?? 2000, undefined, o.signal ? { signal: o.signal } : {}).catch(() => undefined);
  }
}
