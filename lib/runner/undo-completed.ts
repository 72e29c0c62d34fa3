/** With `undoOnFailure` (rehearsals): undo the steps whose effect is in place, last first, and forget them. */
import { toFerryError } from '../core/errors.ts';
import type { Step } from '../core/step.ts';
import type { StepRunScope } from './run-step.ts';
import { stepParams } from './step-params.ts';
import type { StepResult } from './types.ts';

export async function undoCompleted<Cfg, Ctx>(s: StepRunScope<Cfg, Ctx>, completed: readonly Step<Cfg, Ctx>[], results: StepResult[]): Promise<void> {
  // Undo runs to its end even after Ctrl-C.
  const signal = new AbortController().signal;
  for (const step of [...completed].reverse()) {
    const i = results.findIndex((r) => r.id === step.id);
    const prior = results[i];
    if (!prior) continue;
    const t0 = s.now();
    s.emit({ type: 'step-undo', step: step.id });
    try {
      await step.undo?.(stepParams(s, step, s.outputs.get(step.id), signal));
      await s.journal.unrecord(step.id);
      s.emit({ type: 'step-undone', step: step.id });
      results[i] = { ...prior, status: 'undone', reason: step.undo ? 'undone after a later failure' : 'forgotten after a later failure (it has no undo)', durationMs: s.now() - t0 };
    } catch (e) {
      const error = s.redactor.redactValue(toFerryError(e, 'E_UNDO_FAILED', step.id).toJSON());
      s.emit({ type: 'step-fail', step: step.id, error });
      results[i] = { ...prior, status: 'failed', reason: `undo failed: ${String(error.message)}`, error };
    }
  }
}
