/**
 * One step of a real run: journal record → skip (fingerprint unchanged, artifacts intact, verify holds)
 * or `check` → `run` → `verify` → record. On failure the step's partial effect is undone and its record
 * dropped, so a re-run starts it over. A decision reads the source once: the `sourceState` read (to
 * compare with the journal's, or to record before `run`) and the recorded artifacts proven are handed to
 * the hooks that follow in the same decision (`check`, `verify` of a reuse, `run`), never to `verify`
 * after `run` (the run may have moved on).
 */
import { FerryError, toFerryError } from '../core/errors.ts';
import type { Step, StepOutputs, VerifyResult } from '../core/step.ts';
import type { Journal, JournalEntry } from '../journal/types.ts';
import { artifactMismatch } from '../util/sha256.ts';
import { redactStrings, stepParams, type ParamsScope } from './step-params.ts';
import type { StepResult } from './types.ts';

export interface StepRunScope<Cfg, Ctx> extends ParamsScope<Cfg, Ctx> {
  readonly journal: Journal;
  readonly signal: AbortSignal;
}

export async function runStep<Cfg, Ctx>(s: StepRunScope<Cfg, Ctx>, step: Step<Cfg, Ctx>, entry: JournalEntry | undefined): Promise<{ result: StepResult; outputs?: StepOutputs }> {
  const t0 = s.now();
  const startedAt = new Date().toISOString();
  const base = { id: step.id, title: step.title };
  const params = stepParams(s, step, entry?.outputs, s.signal);
  const log = params.log;
  s.emit({ type: 'step-start', step: step.id });
  let ran = false;
  try {
    const fingerprint = step.fingerprint ? await step.fingerprint(params) : undefined;
    let state: string | undefined;
    if (entry) {
      state = await assertSourceUnchanged(step, entry, params);
      const again = await whyRunAgain(step, entry, fingerprint, state === undefined ? params : { ...params, sourceState: state }, s.signal);
      if (typeof again !== 'string') {
        const reason = `done at ${entry.finishedAt}; inputs unchanged${step.verify ? ' and verify holds' : ''}`;
        s.emit({ type: 'step-skip', step: step.id, reason });
        return { result: { ...base, status: 'skipped', reason, durationMs: s.now() - t0, outputs: entry.outputs, ...(again ? { verify: again } : {}) }, outputs: entry.outputs };
      }
      log.info(`running again: ${again}`);
    }
    // Read before `check` (which may compare with it) and before `run` reads the source: a resume compares against it.
    const sourceState = state ?? (step.sourceState ? await step.sourceState(params) : undefined);
    const decided = sourceState === undefined ? params : { ...params, sourceState };
    if (!entry && step.check) {
      const c = await step.check(decided);
      if (c.done) {
        const outputs: StepOutputs = redactStrings(c.outputs ?? {}, s.redactor);
        await s.journal.record(entryOf(step, 'skipped', { reason: s.redactor.redact(c.reason), fingerprint, sourceState, startedAt, durationMs: s.now() - t0, outputs }));
        const reason = s.redactor.redact(c.reason);
        s.emit({ type: 'step-skip', step: step.id, reason });
        return { result: { ...base, status: 'skipped', reason, durationMs: s.now() - t0, outputs }, outputs };
      }
    }
    ran = true;
    s.emit({ type: 'step-phase', step: step.id, phase: 'run' });
    const outputs = redactStrings((await step.run(decided)) ?? {}, s.redactor);
    if (step.verify) s.emit({ type: 'step-phase', step: step.id, phase: 'verify' });
    const verify = step.verify ? await step.verify({ ...params, previous: outputs }) : undefined;
    if (verify && !verify.ok) {
      throw new FerryError('E_VERIFY_FAILED', `${step.title}: verify failed: ${s.redactor.redact(verify.findings[0] ?? 'no finding given')}`, {
        hint: 'the step ran but its effect could not be proven; see the findings, fix the cause and re-run',
        detail: s.redactor.redact(verify.findings.join('\n')),
      });
    }
    const durationMs = s.now() - t0;
    await s.journal.record(entryOf(step, 'done', { fingerprint, sourceState, startedAt, durationMs, outputs }));
    s.emit({ type: 'step-done', step: step.id, durationMs });
    return { result: { ...base, status: 'done', durationMs, outputs, ...(verify ? { verify } : {}) }, outputs };
  } catch (e) {
    const error = failure(e, step.id, s.signal);
    const json = s.redactor.redactValue(error.toJSON());
    s.emit({ type: 'step-fail', step: step.id, error: json });
    let reason = ran ? 'failed; no undo defined, its partial effect stays' : 'failed before changing anything';
    if (ran) reason = await undoPartial(s, step, params.previous, reason);
    return { result: { ...base, status: 'failed', reason, durationMs: s.now() - t0, error: json } };
  }
}

/**
 * A step that declares `sourceState` refuses to resume when the source changed since it ran; the state
 * read (equal to the recorded one) is returned for the hooks that follow in this decision.
 */
export async function assertSourceUnchanged<Cfg, Ctx>(step: Step<Cfg, Ctx>, entry: JournalEntry, params: Parameters<Step<Cfg, Ctx>['plan']>[0]): Promise<string | undefined> {
  if (!step.sourceState || entry.sourceState === undefined) return undefined;
  const now = await step.sourceState(params);
  if (now === entry.sourceState) return now;
  throw new FerryError('E_SOURCE_CHANGED', `the source changed since "${step.id}" ran at ${entry.finishedAt}`, {
    hint: `its export no longer matches the source: re-run with --restart-from ${step.id} to export again (later steps run again too)`,
  });
}

/** Undefined or a VerifyResult when the recorded step still holds; otherwise why it must run again. */
async function whyRunAgain<Cfg, Ctx>(step: Step<Cfg, Ctx>, entry: JournalEntry, fingerprint: string | undefined, params: Parameters<NonNullable<Step<Cfg, Ctx>['verify']>>[0], signal: AbortSignal): Promise<string | VerifyResult | undefined> {
  if (entry.fingerprint !== fingerprint) return `its inputs changed since ${entry.finishedAt}`;
  const { why, proven } = await proveArtifacts(entry, signal);
  if (why) return why;
  if (!step.verify) return undefined;
  const v = await step.verify(proven.size ? { ...params, provenArtifacts: proven } : params);
  return v.ok ? v : `verify no longer holds: ${v.findings[0] ?? 'no finding given'}`;
}

async function undoPartial<Cfg, Ctx>(s: StepRunScope<Cfg, Ctx>, step: Step<Cfg, Ctx>, previous: StepOutputs | undefined, reason: string): Promise<string> {
  await s.journal.unrecord(step.id).catch(() => undefined);
  if (!step.undo) return reason;
  s.emit({ type: 'step-undo', step: step.id });
  try {
    // Undo runs to its end even after Ctrl-C: it gets a signal of its own.
    await step.undo(stepParams(s, step, previous, new AbortController().signal));
    s.emit({ type: 'step-undone', step: step.id });
    return 'failed; its partial effect was undone';
  } catch (e) {
    const msg = s.redactor.redact(toFerryError(e, 'E_UNDO_FAILED', step.id).message);
    s.emit({ type: 'log', level: 'error', step: step.id, message: `undo failed: ${msg}` });
    return `failed; undoing its partial effect failed too: ${msg}`;
  }
}

function failure(e: unknown, step: string, signal: AbortSignal): FerryError {
  if (signal.aborted) {
    return new FerryError('E_CANCELLED', `cancelled during "${step}"`, { hint: 're-run the same command to resume where it stopped', cause: e, step });
  }
  return toFerryError(e, 'E_STEP_FAILED', step);
}

function entryOf(step: { id: string; title: string }, status: JournalEntry['status'], f: { reason?: string; fingerprint: string | undefined; sourceState: string | undefined; startedAt: string; durationMs: number; outputs: StepOutputs }): JournalEntry {
  return {
    id: step.id, title: step.title, status,
    ...(f.reason !== undefined ? { reason: f.reason } : {}),
    ...(f.fingerprint !== undefined ? { fingerprint: f.fingerprint } : {}),
    ...(f.sourceState !== undefined ? { sourceState: f.sourceState } : {}),
    startedAt: f.startedAt, finishedAt: new Date().toISOString(), durationMs: f.durationMs, outputs: f.outputs,
  };
}

/**
 * The recorded artifacts checked (artifactMismatch) in order: the first mismatch's reason, else the paths
 * proven, which the decision's `verify` is handed (`provenArtifacts`) so it does not hash them again.
 */
export async function proveArtifacts(entry: JournalEntry, signal: AbortSignal): Promise<{ why?: string; proven: Set<string> }> {
  const proven = new Set<string>();
  for (const a of entry.outputs.artifacts ?? []) {
    const why = await artifactMismatch(a, signal);
    if (why) return { why, proven };
    proven.add(a.path);
  }
  return { proven };
}
