/**
 * The downtime's parts, from the journal's timings: how long each kind of work inside the write freeze
 * took (a real migrate), or would take (a rehearsal runs the same steps without a freeze). With stores
 * that follow, the freeze holds only their catch-up and promote; copied stores still move inside it.
 */
import type { TimingLine } from './types.ts';
import { STACK_START_STEPS } from './predict.ts';

export type DowntimePart = 'stop writers' | 'freeze' | 'copy' | 'stack start' | 'final check' | 'catch-up' | 'promote' | 'app start';

export interface DowntimePartLine {
  readonly part: DowntimePart;
  readonly ms: number;
  /** The steps it sums. */
  readonly steps: readonly string[];
}

/**
 * The stack-start steps (env-transform, compose-prepare, compose-data-up) that ran before the freeze window
 * opened: migrate and rehearse start the data services first (lib/steps/order.ts); a journal of the
 * order before that has them after the freeze and its first export, inside the window.
 */
export function stackStartsBefore(timings: readonly TimingLine[]): Set<TimingLine> {
  const opens = (t: TimingLine) => t.step === 'stop-writers' || t.step === 'prove-quiet' || t.step === 'freeze' || t.step === 'mysql-export' || /^(freeze|export):/.test(t.step);
  const at = (t: TimingLine, i: number) => (t.startedAt ? Date.parse(t.startedAt) : i);
  const open = Math.min(...timings.map((t, i) => (opens(t) ? at(t, i) : Infinity)));
  return new Set(timings.filter((t, i) => STACK_START_STEPS.includes(t.step) && at(t, i) < open));
}

function partOf(step: string, following: ReadonlySet<string>): DowntimePart | undefined {
  if (step === 'stop-writers') return 'stop writers';
  if (step === 'prove-quiet' || step.startsWith('freeze:') || step === 'freeze') return 'freeze';
  if (step.startsWith('catch-up:')) return 'catch-up';
  if (step.startsWith('promote:')) return 'promote';
  if (step === 'compose-cutover') return 'app start';
  // The stack's data services start before the freeze (with a following store always; a journal of the older copy order has them inside).
  if (STACK_START_STEPS.includes(step)) return following.size ? undefined : 'stack start';
  const m = /^(export|import|verify):(.+)$/.exec(step);
  // A following store's export and import ran before the freeze.
  if (m) return following.has(m[2]!) ? undefined : m[1] === 'verify' ? 'final check' : 'copy';
  return undefined;
}

/**
 * The parts of the freeze window, in the order a cutover meets them (parts with no step left out).
 * `following`: the stores that followed (their `follow:<id>` step is in the timings).
 */
export function downtimeParts(timings: readonly TimingLine[]): DowntimePartLine[] {
  const following = new Set(timings.filter((t) => t.step.startsWith('follow:')).map((t) => t.step.slice('follow:'.length)));
  const order: DowntimePart[] = ['stop writers', 'freeze', 'copy', 'stack start', 'final check', 'catch-up', 'promote', 'app start'];
  const sums = new Map<DowntimePart, { ms: number; steps: string[] }>();
  const before = stackStartsBefore(timings);
  for (const t of timings) {
    const part = before.has(t) ? undefined : partOf(t.step, following);
    if (!part) continue;
    const s = sums.get(part) ?? { ms: 0, steps: [] };
    s.ms += t.durationMs;
    s.steps.push(t.step);
    sums.set(part, s);
  }
  return order.filter((p) => sums.has(p)).map((part) => ({ part, ms: sums.get(part)!.ms, steps: sums.get(part)!.steps }));
}
