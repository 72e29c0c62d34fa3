/**
 * Dry run: for every step, whether it is already done (journal + verify, or `check`) and its `plan`.
 * Nothing is written anywhere: no lock, no journal, not even the state directory.
 */
import { toFerryError } from '../core/errors.ts';
import type { StepOutputs } from '../core/step.ts';
import { assertJournalMatches } from '../journal/invariants.ts';
import type { Journal } from '../journal/types.ts';
import { completedAt, completedRun, isSuperseded } from './completed.ts';
import { createFileJournal } from '../journal/file-journal.ts';
import { assertSourceUnchanged, proveArtifacts } from './run-step.ts';
import { stepParams } from './step-params.ts';
import type { RunEvent, RunOptions, RunResult, StepResult } from './types.ts';

export async function planPlaybook<Cfg, Ctx>(opts: RunOptions<Cfg, Ctx>, journal: Journal, emit: (e: RunEvent) => void, now: () => number, t0: number): Promise<RunResult> {
  const { playbook, redactor } = opts;
  const signal = opts.signal ?? new AbortController().signal;
  let entries = await journal.list();
  assertJournalMatches(playbook, entries, opts.journal ? 'given' : `in ${opts.stateDir}`);
  // A rollback of an earlier migration: the real run starts it over, so the plan does too.
  const superseded = await isSuperseded(playbook, journal, entries, opts.journalOf ?? ((id) => createFileJournal(opts.stateDir, id)));
  if (superseded) entries = [];
  if (opts.restartFrom === undefined && !superseded) {
    const at = await completedAt(playbook, journal, entries);
    if (at !== undefined) return completedRun(playbook, at, { dryRun: true, emit, durationMs: () => now() - t0 });
  }
  const restartAt = opts.restartFrom === undefined ? -1 : playbook.steps.findIndex((s) => s.id === opts.restartFrom);
  const forgotten = new Set(restartAt < 0 ? [] : playbook.steps.slice(restartAt).map((s) => s.id));
  const recorded = new Map(entries.filter((e) => !forgotten.has(e.id)).map((e) => [e.id, e]));
  const outputs = new Map<string, StepOutputs>(opts.inputs ?? []);
  for (const e of recorded.values()) outputs.set(e.id, e.outputs);
  const scope = { config: opts.config, ctx: opts.ctx, stateDir: opts.stateDir, redactor, outputs, emit, now };

  const results: StepResult[] = [];
  for (const step of playbook.steps) {
    const t = now();
    const entry = recorded.get(step.id);
    const params = stepParams(scope, step, entry?.outputs, signal);
    try {
      let done: string | undefined;
      const fingerprint = step.fingerprint ? await step.fingerprint(params) : undefined;
      // Read once (a recorded step's, compared with the journal's) and handed to the hooks after it, as a real
      // run's decision does (run-step.ts). Not read for `check` alone: an export's check answers "no export" from the
      // artifact directory without reading the source, and a dry run must plan with a source it cannot reach
      // (`--demo --dry-run` starts no server; MIGRATION.md runs it). The price: a current export's check and plan read it each.
      const state = entry ? await assertSourceUnchanged(step, entry, params) : undefined;
      const decided = state === undefined ? params : { ...params, sourceState: state };
      if (entry && entry.fingerprint === fingerprint) {
        const proof = await proveArtifacts(entry, signal);
        let why = proof.why;
        const proven = proof.proven;
        if (!why && step.verify) {
          const v = await step.verify(proven.size ? { ...decided, provenArtifacts: proven } : decided);
          if (!v.ok) why = v.findings[0] ?? 'verify no longer holds';
        }
        if (!why) done = `done at ${entry.finishedAt}; inputs unchanged`;
      } else if (!entry && step.check) {
        const c = await step.check(decided);
        if (c.done) done = c.reason;
      }
      const raw = await step.plan(decided);
      const pending = done === undefined && raw.pending !== false;
      const plan = redactor.redactValue({ ...raw, pending });
      emit({ type: 'plan', step: step.id, plan });
      const reason = redactor.redact(done ?? (pending ? 'would run' : 'nothing to do'));
      if (!pending) emit({ type: 'step-skip', step: step.id, reason });
      results.push({ id: step.id, title: step.title, status: pending ? 'not-run' : 'skipped', reason, plan, durationMs: now() - t });
    } catch (e) {
      const error = redactor.redactValue(toFerryError(e, 'E_PLAN_FAILED', step.id).toJSON());
      emit({ type: 'step-fail', step: step.id, error });
      results.push({ id: step.id, title: step.title, status: 'failed', reason: 'planning failed', error, durationMs: now() - t });
    }
  }
  const failed = results.some((r) => r.status === 'failed');
  return {
    playbook: playbook.id,
    status: failed ? 'failed' : 'planned',
    pending: results.some((r) => r.plan?.pending === true),
    steps: results,
    durationMs: now() - t0,
  };
}
