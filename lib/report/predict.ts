/**
 * The predicted downtime of migrate, with its parts: stop the writers, freeze, copy each freeze-copy
 * store (from its size and a throughput), its bounded final check, catch up and promote each following
 * store, start the app. Without a rehearsal the figures are defaults; a rehearsal measures the copy,
 * check and app start of every store in its throwaway stack (`calibrationOf` its timings) and the
 * prediction scales them by the size the source has now. A rehearsal of following stores follows the live
 * source too and measures their catch-up and promote and the start of the app's services alone (what
 * migrate's cutover starts when the data services were handed over before the freeze). The freeze itself
 * and stopping the writers cannot be rehearsed (the rehearsal never freezes): they keep their defaults. Pure.
 */
import type { TimingLine } from './types.ts';

export type PredictedPart = 'stop writers' | 'freeze' | 'copy' | 'stack start' | 'final check' | 'catch-up' | 'promote' | 'app start';
export const PART_ORDER: readonly PredictedPart[] = ['stop writers', 'freeze', 'copy', 'stack start', 'final check', 'catch-up', 'promote', 'app start'];
/** The steps that start the stack's data services (.env, secrets, data-up): before the freeze (lib/steps/order.ts); inside it in an older journal of the copy order. */
export const STACK_START_STEPS: readonly string[] = ['env-transform', 'compose-prepare', 'compose-data-up'];

export interface PredictedPartLine {
  readonly part: PredictedPart;
  readonly ms: number;
  /** Where the figure comes from ("rehearsed 1.2 s for 3.1 MB", "default 10 MB/s"). */
  readonly basis: string;
}

export interface DowntimePrediction {
  readonly ms: number;
  readonly parts: readonly PredictedPartLine[];
  /** `rehearse <ISO time>` when calibrated by a rehearsal, else `defaults`. */
  readonly calibratedBy: string;
}

/** What a rehearsal measured of one store. */
export interface StoreCalibration {
  readonly bytes?: number;
  readonly copyMs: number;
  readonly checkMs: number;
  /** A following store: the engine's catch-up with the live source (files: the final pass). */
  readonly catchUpMs?: number;
  /** A following store: the engine's promote of the rehearsal's follower. */
  readonly promoteMs?: number;
}

/** What a rehearsal measured, per store and for the app's start. */
export interface Calibration {
  readonly at: string;
  readonly stores: Readonly<Record<string, StoreCalibration>>;
  /** compose-cutover with the data services recreated (a copied store's service was still published). */
  readonly appStartMs?: number;
  /** compose-cutover starting only the app's services (every following store's service handed over before). */
  readonly appOnlyStartMs?: number;
  /** env-transform + compose-prepare + compose-data-up. */
  readonly stackStartMs?: number;
}

export interface PredictStore {
  readonly id: string;
  readonly engine: string;
  readonly how: 'follow' | 'freeze-copy';
  /** The source's size now (bytes), when known. */
  readonly bytes?: number;
  /** The engine has a freeze phase (a `freeze:<id>` step). */
  readonly freezes: boolean;
  /** The store's freeze waits this long for quiet (a files store's `options.quietWindowMs`: nothing can stop an app writing files). */
  readonly quietWindowMs?: number;
}

/** A store's own quiet window from its options (files: `quietWindowMs`), for `PredictStore`. */
export function quietWindowOf(options: unknown): { quietWindowMs?: number } {
  const q = (options as { quietWindowMs?: unknown } | undefined)?.quietWindowMs;
  return typeof q === 'number' && q > 0 ? { quietWindowMs: q } : {};
}

export interface PredictInput {
  readonly stores: readonly PredictStore[];
  /** How many commands stop the writers (config.freeze.stopWriters). */
  readonly stopWriters: number;
  /** prove-quiet waits this long when a store is copied (every store following: no wait). */
  readonly quietSeconds: number;
  /** No store follows: the stack's data services are started inside the freeze (the copy order). */
  readonly stackInFreeze?: boolean;
  /**
   * The cutover recreates a data service (a copied store's, still published on its migration port). When
   * none is (every database store follows and was handed over before the freeze), only the app's services
   * start: the rehearsal's cutover, which recreated them all, does not apply.
   */
  readonly cutoverRecreates?: boolean;
  readonly calibration?: Calibration;
}

/** Bytes per second a copy (export + import) moves when nothing was rehearsed: conservative, from `npm run bench` orders of magnitude. */
export const DEFAULT_THROUGHPUT: Readonly<Record<string, number>> = { mysql: 8e6, postgres: 8e6, redis: 16e6, files: 40e6 };
/**
 * Defaults for what nothing measured yet: fixed costs per store dominate small data (the issue's 27–33 s
 * for the tiny demo and acceptance sets in the copy order; e2e rehearse measured 7–22 s of copy, 11–55 s
 * of checks and 11–16 s of stack start for two tiny stores on the shared machine).
 */
export const DEFAULTS = Object.freeze({
  /** Fixed cost of one store's export + import (connections, schema, manifest). */
  copyFixedMs: 3000,
  /** Fixed cost of one store's final check, plus this share of the copy's size-bound time. */
  checkFixedMs: 3000,
  checkShare: 0.5,
  stopWriterMs: 1000,
  stackStartMs: 10_000,
  /** One store's freeze (read_only, CLIENT PAUSE, a quiet window's scans): 9–56 ms measured per store in the demo and e2e cutovers. */
  freezeMs: 60,
  catchUpMs: 500,
  promoteMs: 400,
  appStartMs: 6000,
  /** The app's services alone (health check and settings read): e2e cutover-follow measures 1.6 s. */
  appOnlyStartMs: 2000,
});

const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Scale a rehearsed figure by the source's growth since (never below the fixed cost). */
function scaled(ms: number, then: number | undefined, now: number | undefined): number {
  if (!then || !now || then <= 0) return ms;
  return Math.max(Math.min(ms, DEFAULTS.copyFixedMs), Math.round(ms * (now / then)));
}

export function predictDowntime(i: PredictInput): DowntimePrediction {
  const parts = new Map<PredictedPart, { ms: number; basis: string[] }>();
  const add = (part: PredictedPart, ms: number, basis: string) => {
    const p = parts.get(part) ?? { ms: 0, basis: [] };
    p.ms += Math.round(ms);
    p.basis.push(basis);
    parts.set(part, p);
  };
  if (i.stopWriters > 0) add('stop writers', i.stopWriters * DEFAULTS.stopWriterMs, `default ${s(DEFAULTS.stopWriterMs)} per command${i.calibration ? ' (not rehearsed)' : ''}`);
  const freezing = i.stores.filter((x) => x.freezes);
  const copied = i.stores.filter((x) => x.how === 'freeze-copy');
  if (freezing.length) add('freeze', freezing.length * DEFAULTS.freezeMs, `${freezing.length} store(s) frozen, default ${DEFAULTS.freezeMs} ms each${i.calibration ? ' (not rehearsed: the rehearsal never freezes)' : ''}`);
  // Files stores' quiet windows overlap: each is proven from ctime back from its own scan, so a store frozen
  // after another counts the time that one waited (lib/engines/files/freeze.ts); the longest is what is waited
  // at most (on a filesystem without fine local ctimes they would add up).
  const windows = freezing.filter((y) => y.quietWindowMs);
  if (windows.length === 1) add('freeze', windows[0]!.quietWindowMs!, `${windows[0]!.id}: its quiet window ${s(windows[0]!.quietWindowMs!)} (options.quietWindowMs)`);
  else if (windows.length > 1) {
    const longest = Math.max(...windows.map((x) => x.quietWindowMs!));
    add('freeze', longest, `quiet windows of ${windows.map((x) => `${x.id} ${s(x.quietWindowMs!)}`).join(', ')} (options.quietWindowMs), overlapping: the longest`);
  }
  if (copied.length && i.quietSeconds > 0) add('freeze', i.quietSeconds * 1000, `quiet wait ${i.quietSeconds} s (a store is copied)`);
  for (const x of copied) {
    const cal = i.calibration?.stores[x.id];
    if (cal) {
      add('copy', scaled(cal.copyMs, cal.bytes, x.bytes), `${x.id}: rehearsed ${s(cal.copyMs)}${cal.bytes ? ` for ${mb(cal.bytes)}` : ''}${x.bytes && cal.bytes ? `, now ${mb(x.bytes)}` : ''}`);
      add('final check', scaled(cal.checkMs, cal.bytes, x.bytes), `${x.id}: rehearsed ${s(cal.checkMs)}`);
    } else {
      const rate = DEFAULT_THROUGHPUT[x.engine] ?? 8e6;
      const sized = ((x.bytes ?? 0) / rate) * 1000;
      add('copy', DEFAULTS.copyFixedMs + sized, `${x.id}: ${x.bytes !== undefined ? mb(x.bytes) : 'size unknown'} at default ${mb(rate)}/s`);
      add('final check', DEFAULTS.checkFixedMs + sized * DEFAULTS.checkShare, `${x.id}: default ${s(DEFAULTS.checkFixedMs)} + ${Math.round(DEFAULTS.checkShare * 100)} % of the copy's size-bound time`);
    }
  }
  if (i.stackInFreeze) {
    const st = i.calibration?.stackStartMs;
    add('stack start', st ?? DEFAULTS.stackStartMs, st !== undefined ? `rehearsed ${s(st)}` : `default ${s(DEFAULTS.stackStartMs)} (.env, secrets, data services up)`);
  }
  for (const x of i.stores.filter((y) => y.how === 'follow')) {
    const cal = i.calibration?.stores[x.id];
    if (cal?.catchUpMs !== undefined) add('catch-up', cal.catchUpMs, `${x.id}: rehearsed ${s(cal.catchUpMs)} (the engine's catch-up with the live source${x.engine === 'files' ? ': the final pass' : ''})`);
    else add('catch-up', DEFAULTS.catchUpMs, `${x.id}: default ${s(DEFAULTS.catchUpMs)} (the last changes; not rehearsed)`);
    if (cal?.promoteMs !== undefined) add('promote', cal.promoteMs, `${x.id}: rehearsed ${s(cal.promoteMs)} (the engine's promote of the rehearsal's follower)`);
    else add('promote', DEFAULTS.promoteMs, `${x.id}: default ${s(DEFAULTS.promoteMs)} (not rehearsed)`);
  }
  if (i.cutoverRecreates === false) {
    const only = i.calibration?.appOnlyStartMs;
    add('app start', only ?? DEFAULTS.appOnlyStartMs, only !== undefined
      ? `rehearsed ${s(only)} (only the app's services start: the data services were handed over before the freeze, as in the rehearsal)`
      : `default ${s(DEFAULTS.appOnlyStartMs)} (only the app's services start: the data services were handed over before the freeze)`);
  } else {
    const app = i.calibration?.appStartMs;
    add('app start', app ?? DEFAULTS.appStartMs, app !== undefined ? `rehearsed ${s(app)}` : `default ${s(DEFAULTS.appStartMs)}`);
  }
  const lines = PART_ORDER.filter((p) => parts.has(p)).map((part) => ({ part, ms: parts.get(part)!.ms, basis: parts.get(part)!.basis.join('; ') }));
  return { ms: lines.reduce((a, p) => a + p.ms, 0), parts: lines, calibratedBy: i.calibration ? `rehearse ${i.calibration.at}` : 'defaults' };
}

/** What the rehearsal's steps said of their own figures (lib/steps/rehearse-follow.ts). */
export interface CalibrationNotes {
  /** `catch-up:<id>` / `promote:<id>` steps whose figure is not a measure (a live source never caught up). */
  readonly unmeasured?: readonly string[];
  /** A step's own figure instead of its timing (a promote the live source kept behind, then stopped by force). */
  readonly ms?: Readonly<Record<string, number>>;
  /** compose-cutover recreated no data service (the following stores' services were handed over before). */
  readonly appOnly?: boolean;
}

type MutableStore = { -readonly [K in keyof StoreCalibration]: StoreCalibration[K] };

/**
 * What a rehearsal's timings measured: each store's export+import and verify, a following store's
 * catch-up and promote, and compose-cutover (the app alone when it recreated no data service).
 */
export function calibrationOf(timings: readonly TimingLine[], at: string, bytes: Readonly<Record<string, number | undefined>> = {}, notes: CalibrationNotes = {}): Calibration {
  const stores: Record<string, MutableStore> = {};
  for (const t of timings) {
    const m = /^(export|import|verify|catch-up|promote):(.+)$/.exec(t.step);
    if (!m || notes.unmeasured?.includes(t.step)) continue;
    const id = m[2]!;
    const b = bytes[id];
    const e = stores[id] ?? { ...(b !== undefined ? { bytes: b } : {}), copyMs: 0, checkMs: 0 };
    const ms = notes.ms?.[t.step] ?? t.durationMs;
    if (m[1] === 'verify') e.checkMs += ms;
    else if (m[1] === 'catch-up') e.catchUpMs = ms;
    else if (m[1] === 'promote') e.promoteMs = ms;
    else e.copyMs += ms;
    stores[id] = e;
  }
  const cut = timings.find((t) => t.step === 'compose-cutover');
  const stack = timings.filter((t) => STACK_START_STEPS.includes(t.step));
  return {
    at, stores,
    ...(cut ? (notes.appOnly ? { appOnlyStartMs: cut.durationMs } : { appStartMs: cut.durationMs }) : {}),
    ...(stack.length ? { stackStartMs: stack.reduce((a, t) => a + t.durationMs, 0) } : {}),
  };
}

/** Plan lines: the total, then each part with its basis. */
export function predictionLines(p: DowntimePrediction): string[] {
  return [
    `predicted downtime ${s(p.ms)} (${p.calibratedBy === 'defaults' ? 'defaults: run rehearse to calibrate' : `calibrated by ${p.calibratedBy}`})`,
    ...p.parts.map((x) => `  ${x.part}: ${s(x.ms)} (${x.basis})`),
  ];
}
