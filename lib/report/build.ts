/** Assemble the report from the steps' outputs and the journal's timings (pure). */
import type { StepOutputs } from '../core/step.ts';
import type { Finding } from '../preflight/finding.ts';
import type { Redactor } from '../util/redact.ts';
import { appCheckLines, findingsOf, okOf, redisDbLines, tableLines } from './collect.ts';
import type { FerryReport, StoreReport, TimingLine } from './types.ts';
import { storeReports } from './stores.ts';
import { downtimeParts, stackStartsBefore } from './downtime.ts';
import { calibrationOf, predictDowntime, type CalibrationNotes, type DowntimePrediction, type PredictInput } from './predict.ts';

/**
 * Steps inside the write freeze in a real migration (besides every store's freeze:, export:, import:, verify:): their sum is the downtime.
 * The stack-start steps only where they ran after the window opened (a journal of the older order: stackStartsBefore).
 */
export const FREEZE_WINDOW_STEPS = [
  'freeze', 'mysql-export', 'redis-export', 'env-transform', 'compose-prepare', 'compose-data-up',
  'mysql-import', 'redis-import', 'mysql-verify', 'redis-verify', 'compose-cutover', 'stop-writers', 'prove-quiet',
] as const;

const inFreezeWindow = (step: string) => (FREEZE_WINDOW_STEPS as readonly string[]).includes(step) || /^(freeze|export|import|verify|catch-up|promote):/.test(step);

export interface BuildReportOptions {
  readonly playbook: string;
  readonly mode: string;
  readonly project: string;
  readonly outputs: ReadonlyMap<string, StepOutputs>;
  /** The preset's MySQL and Redis verify results, built by the report step from the stores' verdicts. */
  readonly mysqlData?: unknown;
  readonly redisData?: unknown;
  /** The stores the MySQL and Redis sections show (their details are not repeated under Stores). */
  readonly mysqlStore?: string;
  readonly redisStore?: string;
  readonly timings: readonly TimingLine[];
  /** Per store verdicts (lib/report/stores.ts); default: from the outputs' `verify:<store>` steps. */
  readonly stores?: readonly StoreReport[];
  readonly ttlToleranceMs: number;
  readonly quietSeconds: number;
  readonly redactor: Redactor;
  readonly now?: Date;
}

export function buildReport(o: BuildReportOptions): FerryReport {
  const mysqlData = o.mysqlData ?? o.outputs.get('mysql-verify')?.data;
  const redisData = o.redisData ?? o.outputs.get('redis-verify')?.data;
  const pre = o.outputs.get('preflight')?.data?.findings as Finding[] | undefined;
  const tables = tableLines(mysqlData);
  const mysql = mysqlData === undefined ? undefined : {
    ...(o.mysqlStore ? { store: o.mysqlStore } : {}),
    ok: okOf(mysqlData) ?? tables.every((t) => t.ok), tables, findings: findingsOf(mysqlData),
  };
  const redis = redisData === undefined ? undefined : {
    ...(o.redisStore ? { store: o.redisStore } : {}),
    ok: okOf(redisData) ?? findingsOf(redisData).length === 0,
    databases: redisDbLines(redisData), appChecks: appCheckLines(redisData), ttlToleranceMs: o.ttlToleranceMs, findings: findingsOf(redisData),
  };
  const stores = o.stores ?? storeReports(o.outputs);
  const totalMs = o.timings.reduce((s, t) => s + t.durationMs, 0);
  const report: FerryReport = {
    generatedAt: (o.now ?? new Date()).toISOString(),
    playbook: o.playbook, mode: o.mode, project: o.project,
    ok: (mysql?.ok ?? true) && (redis?.ok ?? true) && stores.every((s) => s.ok),
    ...(stores.length ? { stores } : {}),
    ...(mysql ? { mysql } : {}),
    ...(redis ? { redis } : {}),
    ...(pre ? { preflight: {
      blockers: pre.filter((f) => f.severity === 'blocker').length,
      rewrites: pre.filter((f) => f.severity === 'rewrite').length,
      warnings: pre.filter((f) => f.severity === 'warning').length,
      lines: pre.filter((f) => f.severity !== 'info').map((f) => `${f.severity} ${f.check} (${f.subject}): ${f.message}`),
    } } : {}),
    timings: o.timings, totalMs,
    ...downtime(o),
  };
  return o.redactor.redactValue({ ...report, ...predicted(o, report) });
}

/**
 * The predicted downtime: a rehearsal calibrates preflight's prediction with what it measured (its
 * `calibration` is what migrate's preflight reads from the state dir); migrate's report sets the
 * prediction its preflight made against the measured downtime, part by part, with the ratio.
 */
interface PreflightPlan {
  readonly prediction?: DowntimePrediction;
  readonly predictInput?: PredictInput;
  readonly cutover?: { readonly bytes?: Record<string, number | undefined>; readonly decisions?: FerryReport['cutover'] };
}

function predicted(o: BuildReportOptions, r: FerryReport): Pick<FerryReport, 'cutover' | 'prediction' | 'calibration' | 'predictedVsMeasured'> {
  const pre = o.outputs.get('preflight')?.data as PreflightPlan | undefined;
  const prediction = pre?.prediction;
  if (!pre || !prediction) return {};
  const cutover = pre.cutover?.decisions?.length ? { cutover: pre.cutover.decisions.map(({ store, how, why, enable }) => ({ store, how, why, ...(enable ? { enable } : {}) })) } : {};
  if (o.mode === 'rehearse') {
    const calibration = calibrationOf(o.timings, r.generatedAt, pre.cutover?.bytes ?? {}, calibrationNotes(o));
    return { ...cutover, calibration, prediction: pre.predictInput ? predictDowntime({ ...pre.predictInput, calibration }) : prediction };
  }
  if (o.mode !== 'migrate' || r.downtimeKind !== 'measured' || r.downtimeMs === undefined) return { ...cutover, prediction };
  const measured = new Map((r.downtimeParts ?? []).map((p) => [p.part, p.ms]));
  const parts = [...new Set([...prediction.parts.map((p) => p.part as string), ...measured.keys()])]
    .map((part) => ({ part, predictedMs: prediction.parts.find((p) => p.part === part)?.ms ?? 0, measuredMs: Math.round(measured.get(part) ?? 0) }));
  const ratio = r.downtimeMs > 0 ? Math.round((prediction.ms / r.downtimeMs) * 100) / 100 : 0;
  return { ...cutover, prediction, predictedVsMeasured: { predictedMs: prediction.ms, measuredMs: Math.round(r.downtimeMs), ratio, parts } };
}

/** What a following rehearsal's steps said of their figures (lib/steps/rehearse-follow.ts), and whether its cutover started the app alone. */
function calibrationNotes(o: BuildReportOptions): CalibrationNotes {
  const unmeasured: string[] = [];
  const ms: Record<string, number> = {};
  for (const [id, out] of o.outputs) {
    if (!/^(catch-up|promote):/.test(id)) continue;
    if (out.data?.measured === false) unmeasured.push(id);
    // A catch-up measured twice, a promote stopped by force: the step's own figure, not its timing.
    else if ((id.startsWith('catch-up:') || out.data?.forced === true) && typeof out.data?.ms === 'number') ms[id] = out.data.ms;
  }
  const followed = o.timings.some((t) => t.step.startsWith('follow:'));
  const recreated = o.outputs.get('compose-cutover')?.data?.recreated;
  return { unmeasured, ms, appOnly: followed && Array.isArray(recreated) && recreated.length === 0 };
}

function downtime(o: BuildReportOptions): Pick<FerryReport, 'downtimeMs' | 'downtimeKind' | 'downtimeParts'> {
  const d = downtimeTotal(o);
  const parts = d.downtimeMs === undefined ? [] : downtimeParts(o.timings);
  return parts.length ? { ...d, downtimeParts: parts } : d;
}

function downtimeTotal(o: BuildReportOptions): Pick<FerryReport, 'downtimeMs' | 'downtimeKind'> {
  const by = new Map(o.timings.map((t) => [t.step, t]));
  const freeze = by.get('freeze') ?? by.get('stop-writers');
  const cutover = by.get('compose-cutover');
  if (o.mode === 'migrate' && freeze?.startedAt && cutover?.finishedAt && freeze.status === 'done') {
    return { downtimeMs: Date.parse(cutover.finishedAt) - Date.parse(freeze.startedAt), downtimeKind: 'measured' };
  }
  // With following stores only the parts are inside the freeze (their export and import ran before it).
  const following = o.timings.some((t) => t.step.startsWith('follow:'));
  const before = stackStartsBefore(o.timings);
  const window = following ? downtimeParts(o.timings).reduce((a, p) => a + p.ms, 0)
    : o.timings.filter((t) => inFreezeWindow(t.step) && !before.has(t)).reduce((a, t) => a + t.durationMs, 0);
  if (!window) return {};
  // A rehearsal does not freeze: add the quiet time the real run waits for (none when every store follows).
  const froze = by.has('freeze') || by.has('prove-quiet');
  const quiet = !following || o.timings.some((t) => /^export:/.test(t.step) && !by.has(`follow:${t.step.slice('export:'.length)}`));
  return { downtimeMs: window + (froze || !quiet ? 0 : o.quietSeconds * 1000), downtimeKind: 'expected' };
}
