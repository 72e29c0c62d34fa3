/**
 * What every per-store step shares: its binding from the run context, the one EngineParams object its
 * engine phase receives (`<artifactsDir>/<id>` for the export, `<stateDir>/stores/<id>` for private
 * state), the step id (`<phase>:<store>`) and the refusal when the store's engine lacks a phase.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.ts';
import type { EngineParams, EnginePhase } from '../core/engine.ts';
import { FerryError } from '../core/errors.ts';
import type { StepParams } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext, StoreBinding } from './context.ts';
import { redactUrlPasswords } from '../util/redact.ts';

export type StoreStepParams = StepParams<Config, FerryContext>;

/** The journal id of a store's phase: `export:shop-db`. */
export const storeStepId = (phase: string, storeId: string): string => `${phase}:${storeId}`;

export function bindingOf(p: StoreStepParams, storeId: string): StoreBinding {
  const b = p.ctx.stores?.get(storeId);
  if (!b) {
    throw new FerryError('E_CONFIG', `store "${storeId}" is not in this run's context`, {
      hint: `declare it in the config's stores (known: ${[...(p.ctx.stores?.keys() ?? [])].join(', ') || 'none'}), or run the playbook that generated this step`,
    });
  }
  return b;
}

export const artifactDirOf = (p: StoreStepParams, storeId: string): string => join(p.ctx.artifactsDir, storeId);
export const storeStateDirOf = (p: StoreStepParams, storeId: string): string => join(p.stateDir, 'stores', storeId);

/**
 * When a store was last thawed by this run's state (`thaw:<id>`, a failure lifting the freeze, an undo):
 * `freeze:<id>` and `prove-quiet` fingerprint it, so a resume after a thaw freezes again.
 */
export async function thawedAt(p: Pick<StoreStepParams, 'stateDir'>, storeId: string): Promise<string> {
  return readFile(join(p.stateDir, 'stores', storeId, 'thawed-at'), 'utf8').catch(() => 'never');
}

export async function markThawed(p: Pick<StoreStepParams, 'stateDir'>, storeId: string): Promise<void> {
  await writeFileAtomic(join(p.stateDir, 'stores', storeId, 'thawed-at'), new Date().toISOString());
}

export function engineParams(p: StoreStepParams, storeId: string): EngineParams {
  const b = bindingOf(p, storeId);
  return {
    store: b.store,
    targetUrl: b.targetUrl(),
    artifactDir: artifactDirOf(p, storeId),
    stateDir: storeStateDirOf(p, storeId),
    ...(b.service ? { service: b.service } : {}),
    signal: p.signal,
    log: p.log,
    progress: p.progress,
    redactor: p.ctx.redactor,
    // A rehearsal's replication objects on the source are named after its own project, never a real run's.
    ...(p.ctx.mode === 'rehearse' ? { followName: `${storeId}@${p.ctx.project}` } : {}),
  };
}

/** True when the store's engine is registered and implements `phase`. */
export function hasPhase(b: Pick<StoreBinding, 'engine'>, phase: EnginePhase): boolean {
  return b.engine !== undefined && (phase === 'facts' || phase === 'assess' || typeof (b.engine as unknown as Record<string, unknown>)[phase] === 'function');
}

/** "follow: not available for files yet". */
export function unavailable(phase: string, kind: string): string {
  return `${phase}: not available for ${kind} yet`;
}

/** The engine of a store, refused (with what to do) when it is not registered yet. */
export function engineOf(p: StoreStepParams, storeId: string, phase: EnginePhase) {
  const b = bindingOf(p, storeId);
  if (!b.engine || !hasPhase(b, phase)) {
    throw new FerryError('E_ENGINE_UNAVAILABLE', `store "${storeId}": ${unavailable(phase, b.store.engine)}`, {
      hint: `the ${b.store.engine} engine does not implement ${phase} in this ferry version: move this store by hand, or remove it from the config's stores for now`,
    });
  }
  return b.engine;
}

/** Where a store comes from, for plans and messages: a URL with its password masked, or a path. */
export function describeSource(p: StoreStepParams, b: StoreBinding): string {
  return p.ctx.redactor.redact(redactUrlPasswords(b.store.source));
}

export function describeTarget(b: StoreBinding): string {
  const t = b.store.target;
  return `service ${t.service}${t.migrationPort ? ` (127.0.0.1:${t.migrationPort})` : ''}${t.hostPath ? ` → ${t.hostPath}` : ''}${t.volume ? ` → volume ${t.volume}` : ''}`;
}
