/** The migration report: one JSON document (and its Markdown rendering), redacted before it is written. */
import type { ReportEntry } from '../core/engine.ts';
import type { Calibration, DowntimePrediction } from './predict.ts';

export interface TableLine {
  readonly table: string;
  readonly sourceRows?: number;
  readonly targetRows?: number;
  readonly sourceChecksum?: string;
  readonly targetChecksum?: string;
  readonly ok: boolean;
}

export interface RedisDbLine {
  readonly db: number;
  readonly sourceKeys?: number;
  readonly targetKeys?: number;
  /** Source keys by type. */
  readonly types: Readonly<Record<string, number>>;
  readonly expiredDuringWindow?: number;
}

export interface AppCheckLine { readonly category: string; readonly source: number; readonly target: number; readonly differing: number }

/** One store's verdict: the engine's entries (per table, db, directory…) and what differs. */
export interface StoreReport {
  readonly id: string;
  readonly engine: string;
  readonly ok: boolean;
  readonly entries: readonly ReportEntry[];
  readonly findings: readonly string[];
  /**
   * How this run checked the store: `full` (its `verify:<store>` step), `pinned` (a following store compared at
   * a pinned point while it followed), `caught up` (a following store with no pinned verify: the check is its
   * catch-up to the frozen source's final position, not a comparison of the data — `verify` compares it).
   */
  readonly how?: 'full' | 'pinned' | 'caught up';
}

export interface TimingLine {
  readonly step: string;
  readonly title: string;
  readonly status: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly durationMs: number;
}

export interface FerryReport {
  readonly generatedAt: string;
  readonly playbook: string;
  readonly mode: string;
  readonly project: string;
  /** True when every verification that ran passed. */
  readonly ok: boolean;
  /** Every store verified in this run, with its engine's report entries. */
  readonly stores?: readonly StoreReport[];
  /** The MySQL store's tables (the preset's `mysql`, or the first MySQL store). */
  readonly mysql?: { readonly store?: string; readonly ok: boolean; readonly tables: readonly TableLine[]; readonly findings: readonly string[] };
  /** The Redis store's databases and app checks (the preset's `redis`, or the first Redis store). */
  readonly redis?: {
    readonly store?: string;
    readonly ok: boolean;
    readonly databases: readonly RedisDbLine[];
    readonly appChecks: readonly AppCheckLine[];
    readonly ttlToleranceMs: number;
    readonly findings: readonly string[];
  };
  readonly preflight?: { readonly blockers: number; readonly rewrites: number; readonly warnings: number; readonly lines: readonly string[] };
  readonly timings: readonly TimingLine[];
  readonly totalMs: number;
  /**
   * The write downtime: from the freeze to the end of the cutover (a real run), or the expected one
   * (a rehearsal: the freeze window's steps plus the quiet time).
   */
  readonly downtimeMs?: number;
  readonly downtimeKind?: 'measured' | 'expected';
  /** What the freeze window was spent on (freeze, copy, catch-up, promote, app start), from the timings. */
  readonly downtimeParts?: readonly { readonly part: string; readonly ms: number; readonly steps: readonly string[] }[];
  /** Per store, as preflight decided: followed the live source or copied inside the freeze, why, and the change that would let it follow. */
  readonly cutover?: readonly { readonly store: string; readonly how: string; readonly why: string; readonly enable?: string }[];
  /** The downtime predicted before the run (preflight), with its parts; a rehearsal's is calibrated by what it measured. */
  readonly prediction?: DowntimePrediction;
  /** A rehearsal's measurements (per store copy and check, app start): migrate's preflight predicts from them. */
  readonly calibration?: Calibration;
  /** migrate: the prediction against the measured downtime, part by part; ratio = predicted / measured. */
  readonly predictedVsMeasured?: {
    readonly predictedMs: number;
    readonly measuredMs: number;
    readonly ratio: number;
    readonly parts: readonly { readonly part: string; readonly predictedMs: number; readonly measuredMs: number }[];
  };
}
