/** The one params object a step's hooks receive, built by the runner for each step. */
import { createLogger } from '../core/logger.ts';
import { createProgress } from '../core/progress.ts';
import type { Step, StepOutputs, StepParams } from '../core/step.ts';
import type { Redactor } from '../util/redact.ts';
import type { RunEvent } from './types.ts';

export interface ParamsScope<Cfg, Ctx> {
  readonly config: Cfg;
  readonly ctx: Ctx;
  readonly stateDir: string;
  readonly redactor: Redactor;
  readonly outputs: ReadonlyMap<string, StepOutputs>;
  readonly emit: (e: RunEvent) => void;
  readonly now: () => number;
}

export function stepParams<Cfg, Ctx>(
  scope: ParamsScope<Cfg, Ctx>,
  step: Step<Cfg, Ctx>,
  previous: StepOutputs | undefined,
  signal: AbortSignal,
): StepParams<Cfg, Ctx> {
  const { emit } = scope;
  const log = createLogger((r) => emit({ type: 'log', level: r.level, message: r.message, ...(r.step ? { step: r.step } : {}) }), scope.redactor, step.id);
  const progress = createProgress(step.id, (tick) => emit({ type: 'progress', ...tick }), scope.now);
  return Object.freeze({
    config: scope.config,
    ctx: scope.ctx,
    signal,
    log,
    progress,
    previous,
    outputs: new Map(scope.outputs),
    stateDir: scope.stateDir,
  });
}

/** Calls `onEvent` without ever letting a listener's exception reach the run. */
export function safeEmitter(onEvent: ((e: RunEvent) => void) | undefined): (e: RunEvent) => void {
  return (e) => {
    if (!onEvent) return;
    try { onEvent(e); } catch { /* a broken listener must not break the run */ }
  };
}

/** Every string inside `value` through the redactor (keys kept: outputs are data later steps read). */
export function redactStrings<T>(value: T, redactor: Redactor): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return redactor.redact(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  return walk(value) as T;
}
