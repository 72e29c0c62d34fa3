/**
 * Which stores follow the live source during migrate and which are copied inside the freeze, decided
 * once from the config and the engines (the order is generated from it), with the reason and the one
 * change that would let a copied store follow. The engines' own prerequisites (binary log, ROW format,
 * the RDB version, wal_level, reachability from the stack) are checked by `follow:<store>` itself, which
 * refuses with the change to make.
 */
import type { Config } from '../config/schema.ts';
import type { StoreBinding } from './context.ts';
import { hasPhase } from './store-params.ts';

export type CutoverMode = 'auto' | 'follow' | 'freeze-copy';

export interface CutoverOptions {
  readonly mode: CutoverMode;
  readonly budgetSeconds: number;
}

export const DEFAULT_CUTOVER: CutoverOptions = Object.freeze({ mode: 'freeze-copy', budgetSeconds: 30 });

export interface CutoverDecision {
  readonly store: string;
  readonly how: 'follow' | 'freeze-copy';
  readonly why: string;
  /** For a copied store: the one change that would let it follow. */
  readonly enable?: string;
}

type Spec = Pick<StoreBinding, 'store' | 'engine'>;

const followPhases = ['follow', 'catchUp', 'promote'] as const;

export function decideCutover(s: Spec, o: CutoverOptions = DEFAULT_CUTOVER): CutoverDecision {
  const id = s.store.id;
  if (!followPhases.every((ph) => hasPhase(s, ph))) {
    return { store: id, how: 'freeze-copy', why: `the ${s.store.engine} engine cannot follow a live source yet` };
  }
  if (o.mode === 'freeze-copy') {
    return { store: id, how: 'freeze-copy', why: 'cutover.mode is freeze-copy', enable: 'set cutover.mode to auto (with options.followFrom) or follow' };
  }
  const from = (s.store.options as { followFrom?: unknown }).followFrom;
  if (o.mode === 'auto' && from === undefined) {
    return {
      store: id, how: 'freeze-copy', why: 'auto follows only stores that say how the stack reaches their source',
      enable: `add options.followFrom { host, port } to store ${id} (the source as the stack's containers reach it), or set cutover.mode to follow (host.docker.internal)`,
    };
  }
  return { store: id, how: 'follow', why: o.mode === 'follow' ? 'cutover.mode is follow' : 'the engine can follow and options.followFrom says how the stack reaches the source' };
}

export const cutoverOptionsOf = (config: Pick<Config, 'cutover'> | undefined): CutoverOptions => config?.cutover ?? DEFAULT_CUTOVER;

/** One plan line per store: what it does at cutover and why. */
export function cutoverLines(stores: readonly Spec[], o: CutoverOptions = DEFAULT_CUTOVER): string[] {
  return stores.map((s) => {
    const d = decideCutover(s, o);
    return d.how === 'follow'
      ? `${d.store}: follows the live source; inside the freeze only the catch-up (budget ${o.budgetSeconds} s) and promote (${d.why})`
      : `${d.store}: copied inside the freeze (${d.why})${d.enable ? `; to follow: ${d.enable}` : ''}`;
  });
}
