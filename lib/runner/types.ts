/** The runner's public types: a playbook, the options of a run, its events and its result set. */
import type { FerryError } from '../core/errors.ts';
import type { LogLevel } from '../core/logger.ts';
import type { ProgressTick } from '../core/progress.ts';
import type { PlanEntry, Step, StepOutputs, VerifyResult } from '../core/step.ts';
import type { Journal } from '../journal/types.ts';
import type { Redactor } from '../util/redact.ts';

/** An ordered list of steps with a stable id (it names the journal). */
export interface Playbook<Cfg = unknown, Ctx = unknown> {
  readonly id: string;
  readonly title: string;
  readonly steps: readonly Step<Cfg, Ctx>[];
  /**
   * The playbook only reads (verify): every run performs its checks again. Any other playbook, once
   * completed, is a no-op on a re-run ("completed at …") until `restartFrom` names a step to redo.
   */
  readonly readOnly?: boolean;
  /**
   * The playbook this one takes back (rollback: `migrate`). Once this one completes, that one's journal
   * is reset, so it runs from its first step again (against the source as it is then); and when that
   * one records anything after this one last did, this one's journal is reset before it runs (a new
   * migration since: the old rollback no longer describes anything).
   */
  readonly reverses?: string;
}

export type StepPhase = 'run' | 'verify';

export type StepStatus = 'done' | 'skipped' | 'failed' | 'undone' | 'not-run';

export type FerryErrorJson = ReturnType<FerryError['toJSON']>;

export interface StepResult {
  readonly id: string;
  readonly title: string;
  readonly status: StepStatus;
  /** Why it was skipped, not run, run again or undone. */
  readonly reason?: string;
  readonly durationMs?: number;
  /** Redacted. */
  readonly error?: FerryErrorJson;
  /** Dry runs: what `run` would read and change. */
  readonly plan?: PlanEntry;
  readonly verify?: VerifyResult;
  readonly outputs?: StepOutputs;
}

export interface RunResult {
  readonly playbook: string;
  readonly status: 'ok' | 'failed' | 'cancelled' | 'planned';
  /** dry run: true when some step has changes pending */
  readonly pending: boolean;
  readonly steps: readonly StepResult[];
  readonly durationMs: number;
  /** A failure before any step ran (lock, journal invariants), redacted. */
  readonly error?: FerryErrorJson;
  /**
   * Set when this run did nothing because the playbook had already completed: that completion's
   * time (ISO). Every step is `skipped` with the reason `completed at …`.
   */
  readonly completedAt?: string;
}

export type RunEvent =
  | { type: 'run-start'; playbook: string; dryRun: boolean; steps: { id: string; title: string }[] }
  | { type: 'step-start'; step: string }
  /** A step enters `run` or its post-run `verify` (rendered as subtasks). */
  | { type: 'step-phase'; step: string; phase: StepPhase }
  | { type: 'step-skip'; step: string; reason: string }
  | { type: 'step-done'; step: string; durationMs: number }
  | { type: 'step-fail'; step: string; error: FerryErrorJson }
  | { type: 'step-undo'; step: string }
  | { type: 'step-undone'; step: string }
  | ({ type: 'progress' } & ProgressTick)
  | { type: 'log'; level: LogLevel; message: string; step?: string }
  | { type: 'plan'; step: string; plan: PlanEntry }
  | { type: 'run-end'; result: RunResult };

export interface RunOptions<Cfg, Ctx> {
  readonly playbook: Playbook<Cfg, Ctx>;
  readonly config: Cfg;
  readonly ctx: Ctx;
  readonly stateDir: string;
  readonly redactor: Redactor;
  /** Default: the file journal of this playbook in `stateDir`. */
  readonly journal?: Journal;
  /** Plan every step; change nothing anywhere (not even `stateDir`). */
  readonly dryRun?: boolean;
  /** On failure, also undo the completed steps in reverse (rehearsals). */
  readonly undoOnFailure?: boolean;
  /**
   * Also take over a run lock held by a live pid on this host or by another host. (A lock whose pid is
   * dead on this host is always taken over, and logged: a killed run resumes by running it again.)
   */
  readonly breakStaleLock?: boolean;
  /**
   * Forget the journal from this step on (it and every later step run again). The way out of
   * E_SOURCE_CHANGED: re-export from the step whose source changed.
   */
  readonly restartFrom?: string;
  /** Another playbook's journal (`Playbook.reverses`). Default: its file journal in `stateDir`. */
  readonly journalOf?: (playbookId: string) => Journal;
  /** Outputs of other playbooks' steps (e.g. rollback reading migrate's backup), by step id. */
  readonly inputs?: ReadonlyMap<string, StepOutputs>;
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: RunEvent) => void;
  /** Injectable clock (ms). */
  readonly now?: () => number;
}
