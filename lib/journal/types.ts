/**
 * The journal contract: what ran, when, with which inputs, and what it left behind. Three calls, as in
 * umzug's storage: `record` after a step's `verify` passed, `unrecord` after its `undo`, `list`; and a
 * completion mark, so a finished playbook's re-run changes nothing.
 */
import type { StepOutputs } from '../core/step.ts';

/** One completed step as the journal keeps it. */
export interface JournalEntry {
  /** The step's stable id. */
  readonly id: string;
  readonly title: string;
  /** `done`: `run` + `verify` passed; `skipped`: `check` found the effect already in place. */
  readonly status: 'done' | 'skipped';
  /** Why it was skipped (from `check`), when it was. */
  readonly reason?: string;
  /** The step's input fingerprint at the time it completed. */
  readonly fingerprint?: string;
  /** The source's state when the step ran (see `Step.sourceState`). */
  readonly sourceState?: string;
  /** ISO timestamps. */
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationMs: number;
  /** Artifacts (with checksums) and small data, already redacted. */
  readonly outputs: StepOutputs;
}

export interface Journal {
  /** Record (or replace) the entry of `entry.id`, durably, before returning. */
  record(entry: JournalEntry): Promise<void>;
  /** Forget a step (after its `undo`). Forgetting an unknown step does nothing. */
  unrecord(stepId: string): Promise<void>;
  /** Every entry, in the order they were first recorded. */
  list(): Promise<readonly JournalEntry[]>;
  get(stepId: string): Promise<JournalEntry | undefined>;
  /**
   * When the whole playbook last completed (ISO time), or undefined. Any later `record` or `unrecord`
   * clears it: the journal then describes an unfinished run again.
   */
  completedAt(): Promise<string | undefined>;
  /** Mark the playbook completed at `at`, durably, before returning. */
  markCompleted(at: string): Promise<void>;
  /**
   * Forget every entry and the completion mark: the next run starts from the first step (another
   * playbook made this journal stale, e.g. a finished rollback the migrate's). Returns where the old
   * journal was kept, if anywhere; undefined when there was nothing to forget.
   */
  reset(): Promise<string | undefined>;
}
