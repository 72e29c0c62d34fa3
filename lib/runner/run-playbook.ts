/**
 * runPlaybook: lock → invariants → per step check / run / verify / record → on failure undo the failed
 * step's partial effect (and, with `undoOnFailure`, the completed steps in reverse). Never throws: it
 * returns one result per step.
 */
import { FerryError, toFerryError } from '../core/errors.ts';
import type { Step, StepOutputs } from '../core/step.ts';
import { createFileJournal } from '../journal/file-journal.ts';
import { assertJournalMatches } from '../journal/invariants.ts';
import { acquireRunLock } from '../journal/run-lock.ts';
import type { Journal, JournalEntry } from '../journal/types.ts';
import { completedAt, completedRun, isSuperseded, markIfCompleted, resetReversed } from './completed.ts';
import { planPlaybook } from './plan-playbook.ts';
import { undoCompleted } from './undo-completed.ts';
import { runStep } from './run-step.ts';
import { safeEmitter } from './step-params.ts';
import type { RunEvent, RunOptions, RunResult, StepResult } from './types.ts';

export async function runPlaybook<Cfg, Ctx>(opts: RunOptions<Cfg, Ctx>): Promise<RunResult> {
  const now = opts.now ?? (() => performance.now());
  const t0 = now();
  const emit = safeEmitter(opts.onEvent);
  const { playbook } = opts;
  emit({ type: 'run-start', playbook: playbook.id, dryRun: opts.dryRun === true, steps: playbook.steps.map((s) => ({ id: s.id, title: s.title })) });
  let result: RunResult;
  try {
    const journal = opts.journal ?? createFileJournal(opts.stateDir, playbook.id);
    if (opts.dryRun) {
      result = await planPlaybook(opts, journal, emit, now, t0);
    } else {
      const lock = await acquireRunLock(opts.stateDir, {
        playbook: playbook.id,
        breakStale: opts.breakStaleLock === true,
        onBreak: (l, why) => emit({
          type: 'log', level: 'warn',
          message: why === 'dead'
            ? `took over the run lock left by pid ${l.pid} on ${l.host} (${l.time}), which no longer runs: resuming from the journal`
            : `broke the run lock of pid ${l.pid} on ${l.host} (${l.time}) as --break-stale-lock asked`,
        }),
      });
      try {
        result = await execute(opts, journal, emit, now, t0);
      } finally {
        await lock.release().catch(() => undefined);
      }
    }
  } catch (e) {
    const error = opts.redactor.redactValue(toFerryError(e).toJSON());
    result = {
      playbook: playbook.id, status: 'failed', pending: false, durationMs: now() - t0, error,
      steps: playbook.steps.map((s) => ({ id: s.id, title: s.title, status: 'not-run', reason: `the run stopped before any step: ${String(error.message)}` })),
    };
  }
  emit({ type: 'run-end', result });
  return result;
}

async function execute<Cfg, Ctx>(opts: RunOptions<Cfg, Ctx>, journal: Journal, emit: (e: RunEvent) => void, now: () => number, t0: number): Promise<RunResult> {
  const { playbook } = opts;
  const signal = opts.signal ?? new AbortController().signal;
  const journalOf = opts.journalOf ?? ((id: string) => createFileJournal(opts.stateDir, id));
  let entries = await journal.list();
  assertJournalMatches(playbook, entries, describe(opts));
  if (await isSuperseded(playbook, journal, entries, journalOf)) {
    const kept = await journal.reset();
    emit({ type: 'log', level: 'info', message: `${playbook.reverses} ran again since this ${playbook.id}: starting it over (the old journal kept as ${kept ?? 'nothing'})` });
    entries = [];
  }
  if (opts.restartFrom !== undefined) entries = await restart(playbook.steps, opts.restartFrom, journal, entries);
  else {
    const at = await completedAt(playbook, journal, entries);
    if (at !== undefined) {
      // Killed between its completion and the reset: the re-run finishes the reset.
      await resetReversed(playbook, journalOf, emit);
      return completedRun(playbook, at, { dryRun: false, emit, durationMs: () => now() - t0 });
    }
  }
  const recorded = new Map(entries.map((e) => [e.id, e]));
  const outputs = new Map<string, StepOutputs>(opts.inputs ?? []);
  for (const e of entries) outputs.set(e.id, e.outputs);
  const scope = { config: opts.config, ctx: opts.ctx, stateDir: opts.stateDir, redactor: opts.redactor, outputs, emit, now, journal, signal };

  const results: StepResult[] = [];
  const completed: Step<Cfg, Ctx>[] = [];
  let stopped: string | undefined;
  for (const step of playbook.steps) {
    if (stopped === undefined && signal.aborted) stopped = 'cancelled before it started';
    if (stopped !== undefined) {
      results.push({ id: step.id, title: step.title, status: 'not-run', reason: stopped });
      continue;
    }
    const r = await runStep(scope, step, recorded.get(step.id));
    results.push(r.result);
    if (r.result.status === 'failed') stopped = signal.aborted ? 'cancelled' : `"${step.id}" failed`;
    else {
      completed.push(step);
      if (r.outputs) outputs.set(step.id, r.outputs);
    }
  }
  if (stopped !== undefined && opts.undoOnFailure) await undoCompleted(scope, completed, results);
  const failed = results.some((r) => r.status === 'failed');
  const status = signal.aborted && failed ? 'cancelled' : failed ? 'failed' : signal.aborted && stopped ? 'cancelled' : 'ok';
  if (status === 'ok' && (await markIfCompleted(playbook, journal, results))) await resetReversed(playbook, journalOf, emit);
  return {
    playbook: playbook.id,
    status,
    pending: false,
    steps: results,
    durationMs: now() - t0,
  };
}

/** Forget `from` and every later step, so they run again. */
async function restart(steps: readonly { readonly id: string }[], from: string, journal: Journal, entries: readonly JournalEntry[]): Promise<JournalEntry[]> {
  const i = steps.findIndex((s) => s.id === from);
  if (i < 0) {
    throw new FerryError('E_RESTART_UNKNOWN', `--restart-from names step "${from}", which this playbook does not have`, {
      hint: `use one of: ${steps.map((s) => s.id).join(', ')}`,
    });
  }
  const forget = new Set(steps.slice(i).map((s) => s.id));
  for (const e of entries) if (forget.has(e.id)) await journal.unrecord(e.id);
  return entries.filter((e) => !forget.has(e.id));
}

function describe(opts: { readonly journal?: Journal; readonly stateDir: string }): string {
  return opts.journal ? 'given' : `in ${opts.stateDir}`;
}
