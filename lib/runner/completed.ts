/**
 * A finished playbook stays finished: once every step is recorded and the run ended ok, the journal is
 * marked completed, and the next run changes nothing (no hook is called, not even `verify`: the app
 * has moved on since the cutover) and says when it completed. `restartFrom` is the way to redo.
 * A playbook that reverses another (rollback → migrate) resets that one's journal once it completed, and
 * its own when that one ran again since.
 */
import type { Journal, JournalEntry } from '../journal/types.ts';
import type { RunEvent, RunResult, StepResult } from './types.ts';

/** What of a playbook this needs: its id, its steps' ids and titles, and whether it only reads. */
interface PlaybookShape {
  readonly id: string;
  readonly steps: readonly { readonly id: string; readonly title: string }[];
  readonly readOnly?: boolean;
  readonly reverses?: string;
}

/** The completion time when `playbook` completed and nothing was recorded or forgotten since. */
export async function completedAt(playbook: PlaybookShape, journal: Journal, entries: readonly JournalEntry[]): Promise<string | undefined> {
  if (playbook.readOnly) return undefined;
  const at = await journal.completedAt();
  if (at === undefined) return undefined;
  const recorded = new Set(entries.map((e) => e.id));
  // A step added since (a new store in the config) makes the playbook unfinished again.
  return playbook.steps.every((s) => recorded.has(s.id)) ? at : undefined;
}

/** Mark the journal completed when every step of an ok run is done or skipped; true when it did. */
export async function markIfCompleted(playbook: PlaybookShape, journal: Journal, results: readonly StepResult[]): Promise<boolean> {
  if (playbook.readOnly) return false;
  if (results.length === playbook.steps.length && results.every((r) => r.status === 'done' || r.status === 'skipped')) {
    await journal.markCompleted(new Date().toISOString());
    return true;
  }
  return false;
}

/** The result of a completed playbook's re-run (or dry run): every step skipped, nothing called. */
export function completedRun(playbook: PlaybookShape, at: string, o: { dryRun: boolean; emit: (e: RunEvent) => void; durationMs: () => number }): RunResult {
  const first = playbook.steps[0]?.id ?? '<step>';
  o.emit({
    type: 'log', level: 'info',
    message: `${playbook.id} completed at ${at}: nothing to do. To run a step and those after it again: --restart-from <step> (everything: --restart-from ${first})`,
  });
  const reason = `completed at ${at}`;
  const steps: StepResult[] = playbook.steps.map((s) => {
    const plan = { reads: [], changes: [], pending: false };
    if (o.dryRun) o.emit({ type: 'plan', step: s.id, plan });
    o.emit({ type: 'step-skip', step: s.id, reason });
    return { id: s.id, title: s.title, status: 'skipped', reason, durationMs: 0, ...(o.dryRun ? { plan } : {}) };
  });
  return { playbook: playbook.id, status: o.dryRun ? 'planned' : 'ok', pending: false, steps, durationMs: o.durationMs(), completedAt: at };
}

/** The latest thing a journal says happened (ISO): its last entry's end or its completion. */
async function lastActivity(journal: Journal, entries?: readonly JournalEntry[]): Promise<string | undefined> {
  const times = [...(entries ?? (await journal.list())).map((e) => e.finishedAt), await journal.completedAt()].filter((t): t is string => t !== undefined);
  return times.sort().at(-1);
}

/**
 * True when the playbook `playbook` reverses recorded something after `playbook`'s journal last did:
 * a new migration since this rollback, whose journal therefore describes nothing that still holds.
 */
export async function isSuperseded(playbook: PlaybookShape, journal: Journal, entries: readonly JournalEntry[], journalOf: (id: string) => Journal): Promise<boolean> {
  if (playbook.reverses === undefined) return false;
  const mine = await lastActivity(journal, entries);
  if (mine === undefined) return false;
  const theirs = await lastActivity(journalOf(playbook.reverses));
  return theirs !== undefined && theirs > mine;
}

/** Reset the journal of the playbook `playbook` reverses (once it completed): that one runs from its first step again. */
export async function resetReversed(playbook: PlaybookShape, journalOf: (id: string) => Journal, emit: (e: RunEvent) => void): Promise<void> {
  if (playbook.reverses === undefined) return;
  const kept = await journalOf(playbook.reverses).reset();
  if (kept === undefined) return;
  emit({
    type: 'log', level: 'info',
    message: `${playbook.id} completed: the ${playbook.reverses} journal is reset (kept as ${kept}); the next ${playbook.reverses} starts from its first step, from the source as it is then`,
  });
}
