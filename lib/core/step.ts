/**
 * The step contract. Everything ferry does is a step: `check` (already done?), `plan` (what `run` would
 * read and change), `run`, `verify` (prove the effect), `undo` (reverse it). Every hook gets one params
 * object; steps import no singletons. `id` is explicit and stable: it keys the journal.
 */
import type { Logger } from './logger.ts';
import type { Progress } from './progress.ts';

/** One artifact a step produced, recorded in the journal with its checksum. */
export interface Artifact {
  readonly path: string;
  readonly sha256: string;
  readonly bytes: number;
}

/** What a step leaves behind for the journal and later steps: artifacts and small JSON data. */
export interface StepOutputs {
  readonly artifacts?: readonly Artifact[];
  readonly data?: Readonly<Record<string, unknown>>;
}

export interface CheckResult {
  /** True when the effect is already in place and `run` can be skipped. */
  readonly done: boolean;
  /** Why, in words an operator reads ("target already holds 12 tables matching the export"). */
  readonly reason: string;
  /**
   * When done: the outputs the effect in place amounts to (e.g. the artifact already written), recorded
   * as `run` would have recorded them, so later steps can read them after a crash between run and record.
   */
  readonly outputs?: StepOutputs;
}

export interface VerifyResult {
  readonly ok: boolean;
  /** One line per finding; empty when ok. Already redacted. */
  readonly findings: readonly string[];
  /** Structured detail for the report (per table/key entries, counts…). */
  readonly report?: Readonly<Record<string, unknown>>;
}

/** What `run` would do, for dry runs: nothing may be changed while computing it. */
export interface PlanEntry {
  readonly reads: readonly string[];
  readonly changes: readonly string[];
  /** Extra detail shown under the step (e.g. the redacted .env diff, compose services). */
  readonly details?: string;
  /** The same detail as data, for `--json` (e.g. preflight's per-store cutover decisions and predicted downtime). */
  readonly data?: Readonly<Record<string, unknown>>;
  /** False when the step has nothing to do (its effect is already there). */
  readonly pending?: boolean;
}

/** The one params object every hook receives. */
export interface StepParams<Config = unknown, Ctx = unknown> {
  /** The frozen, validated configuration. */
  readonly config: Config;
  /** The typed run context shared by the steps of a playbook. */
  readonly ctx: Ctx;
  /** Aborted on Ctrl-C / SIGTERM: long work must stop promptly and leave resumable state. */
  readonly signal: AbortSignal;
  /** A logger that redacts secrets. */
  readonly log: Logger;
  /** Progress reporter (rows, bytes, rate, ETA). */
  readonly progress: Progress;
  /** Outputs this step recorded in an earlier run (for resume, verify and undo); undefined if none. */
  readonly previous: StepOutputs | undefined;
  /** Outputs of steps that completed earlier, by step id. */
  readonly outputs: ReadonlyMap<string, StepOutputs>;
  /** Directory where this step may keep its artifacts (created on demand by the step). */
  readonly stateDir: string;
  /**
   * The step's `sourceState` as the runner read it a moment ago in this same decision (compared with
   * the journal's on a resume, recorded before `run`), so a hook need not read the source again;
   * undefined when not read (no `sourceState`, or after `run`, which may have moved on).
   */
  readonly sourceState?: string;
  /** Paths of recorded artifacts the runner proved (sha256 as recorded) in this decision, just before this hook. */
  readonly provenArtifacts?: ReadonlySet<string>;
}

export interface Step<Config = unknown, Ctx = unknown> {
  /**
   * Stable id: kebab-case, optionally `<phase>:<store>` for steps generated per store (`export:mysql`,
   * `import:veogen-db`); keys the journal. Never derive it from the file name.
   */
  readonly id: string;
  readonly title: string;
  /**
   * A fingerprint of the step's inputs. A re-run skips the step when the recorded fingerprint is
   * unchanged and `verify` still holds; a changed fingerprint makes it run again.
   */
  fingerprint?(p: StepParams<Config, Ctx>): Promise<string> | string;
  /** Already done? Called before `run` when the journal has no record of this step. */
  check?(p: StepParams<Config, Ctx>): Promise<CheckResult>;
  /** What `run` would read and change. Must not change anything. */
  plan(p: StepParams<Config, Ctx>): Promise<PlanEntry>;
  run(p: StepParams<Config, Ctx>): Promise<StepOutputs | void>;
  verify?(p: StepParams<Config, Ctx>): Promise<VerifyResult>;
  /** Reverse the effect (also a partial one, after a failed `run`). Must be safe to call twice. */
  undo?(p: StepParams<Config, Ctx>): Promise<void>;
  /**
   * When set, the runner refuses to resume this step (and those after it) if the source changed since
   * the step's recorded export: it calls this and compares with the recorded value.
   */
  sourceState?(p: StepParams<Config, Ctx>): Promise<string>;
}

/** A step id: `kebab` or, for steps generated per store, `kebab:kebab`. */
export const STEP_ID = /^[a-z0-9]+(-[a-z0-9]+)*(:[a-z0-9]+(-[a-z0-9]+)*)?$/;

/** Identity helper that checks the step's shape and freezes it. */
export function defineStep<Config = unknown, Ctx = unknown>(step: Step<Config, Ctx>): Readonly<Step<Config, Ctx>> {
  if (!STEP_ID.test(step.id)) {
    throw new TypeError(`Expected the step \`id\` to be kebab-case, optionally \`<phase>:<store>\` (like \`mysql-export\` or \`export:veogen-db\`), got \`${step.id}\``);
  }
  return Object.freeze({ ...step });
}
