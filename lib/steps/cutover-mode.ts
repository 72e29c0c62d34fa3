/**
 * Which stores follow the live source during migrate and which are copied inside the freeze, with the
 * reason and the one change that would let a copied store follow. `planCutover` checks each store's
 * follow prerequisites once, when the plan is made (lib/preflight/follow-readiness.ts: binary log and ROW
 * format, RDB version, wal_level and replica identities, the route from the stack proven by a throwaway
 * container), and puts the answers in the config's `cutover.readiness`; the order is generated from
 * them, the preflight step records them, and a resumed run reuses the recorded ones (the order must not
 * change under a journal). In `auto` a store that cannot follow is copied inside the freeze; in `follow`
 * preflight refuses it (E_FOLLOW_REFUSED).
 */
import type { Config } from '../config/schema.ts';
import type { Engine } from '../core/engine.ts';
import type { SecretSink } from '../core/engine.ts';
import type { StoreBinding } from './context.ts';
import { hasPhase } from './store-params.ts';
import { readJournalOutputs } from '../journal/index.ts';
import { createComposeClient } from '../compose/client.ts';
import { assessFollowReadiness, type FollowReadiness, type StackView } from '../preflight/follow-readiness.ts';
import { parseStackView } from '../preflight/stack-view.ts';

export type CutoverMode = 'auto' | 'follow' | 'freeze-copy';

export interface CutoverOptions {
  readonly mode: CutoverMode;
  readonly budgetSeconds: number;
  /** Each store's follow readiness, by store id, as `planCutover` found (or a resumed run recorded) it. */
  readonly readiness?: Readonly<Record<string, FollowReadiness>>;
}

export const DEFAULT_CUTOVER: CutoverOptions = Object.freeze({ mode: 'freeze-copy', budgetSeconds: 30 });

export interface CutoverDecision {
  readonly store: string;
  readonly how: 'follow' | 'freeze-copy';
  readonly why: string;
  /** For a copied store: the one change that would let it follow. */
  readonly enable?: string;
  /** `follow` mode only: the store cannot follow (preflight refuses the run with this reason). */
  readonly refused?: boolean;
}

type Spec = Pick<StoreBinding, 'store' | 'engine'>;

const followPhases = ['follow', 'catchUp', 'promote'] as const;

export function decideCutover(s: Spec, o: CutoverOptions = DEFAULT_CUTOVER): CutoverDecision {
  const id = s.store.id;
  const r = o.readiness?.[id];
  if (!followPhases.every((ph) => hasPhase(s, ph))) {
    return { store: id, how: 'freeze-copy', why: r?.why ?? `the ${s.store.engine} engine cannot follow a live source yet`, ...(r?.enable ? { enable: r.enable } : {}) };
  }
  if (o.mode === 'freeze-copy') {
    return { store: id, how: 'freeze-copy', why: 'cutover.mode is freeze-copy', enable: 'set cutover.mode to auto (with options.followFrom) or follow' };
  }
  if (r) {
    if (r.ready) return { store: id, how: 'follow', why: r.why };
    if (o.mode === 'follow') return { store: id, how: 'follow', why: r.why, ...(r.enable ? { enable: r.enable } : {}), refused: true };
    return { store: id, how: 'freeze-copy', why: r.why, ...(r.enable ? { enable: r.enable } : {}) };
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

export const cutoverOptionsOf = (config: Pick<Config, 'cutover'> | undefined): CutoverOptions => (config?.cutover as CutoverOptions | undefined) ?? DEFAULT_CUTOVER;

/** One plan line per store: follow | freeze-copy, why, and the one change that would let a copied store follow. */
export function cutoverLines(stores: readonly Spec[], o: CutoverOptions = DEFAULT_CUTOVER): string[] {
  return stores.map((s) => {
    const d = decideCutover(s, o);
    if (d.refused) return `${d.store}: REFUSED to follow (cutover.mode is follow): ${d.why}; to follow: ${d.enable ?? 'see the reason'}`;
    return d.how === 'follow'
      ? `${d.store}: follows the live source; inside the freeze only the catch-up (budget ${o.budgetSeconds} s) and promote (${d.why})`
      : `${d.store}: copied inside the freeze (${d.why})${d.enable ? `; to follow: ${d.enable}` : ''}`;
  });
}

export interface PlanCutoverOptions {
  readonly engines: Readonly<Record<string, Engine | undefined>>;
  readonly redactor: SecretSink;
  /** The journal whose recorded preflight readiness a resumed run reuses (`migrate`); none: always check. */
  readonly journal?: string;
  /** Only what the journal recorded, never a new check (rollback: the decisions the migration ran with). */
  readonly recordedOnly?: boolean;
  readonly signal?: AbortSignal;
}

/** The readiness a recorded preflight step kept, when the journal has one. */
async function recordedReadiness(stateDir: string, playbook: string): Promise<Record<string, FollowReadiness> | undefined> {
  const outputs = await readJournalOutputs(stateDir, playbook).catch(() => undefined);
  const rec = (outputs?.get('preflight')?.data as { cutover?: { readiness?: Record<string, FollowReadiness> } } | undefined)?.cutover?.readiness;
  return rec && typeof rec === 'object' ? rec : undefined;
}

async function stackView(config: Config): Promise<StackView> {
  try {
    const client = await createComposeClient({ composeDir: config.target.composeDir, project: config.target.project, files: config.target.files });
    return parseStackView(await client.config());
  } catch {
    return { images: {}, networks: {} };
  }
}

/**
 * The config with each store's follow readiness in `cutover.readiness`: recorded by this journal's
 * preflight (a resumed run), else checked now. `freeze-copy` checks nothing.
 */
export async function planCutover(config: Config, o: PlanCutoverOptions): Promise<Config> {
  const base = cutoverOptionsOf(config);
  if (base.mode === 'freeze-copy' || base.readiness) return config;
  let readiness = o.journal ? await recordedReadiness(config.stateDir, o.journal) : undefined;
  if (o.recordedOnly && !readiness) return config;
  if (!readiness || (!o.recordedOnly && config.stores.some((s) => !readiness![s.id]))) {
    const found = await assessFollowReadiness({
      stores: config.stores.map((s) => ({ store: s, engine: o.engines[s.engine] })), mode: base.mode, stack: await stackView(config), redactor: o.redactor,
      ...(o.signal ? { signal: o.signal } : {}),
    });
    readiness = Object.fromEntries(found.map((r) => [r.store, r]));
  }
  const cutover: CutoverOptions = { ...base, readiness };
  return Object.freeze({ ...config, cutover }) as Config;
}
