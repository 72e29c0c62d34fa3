/**
 * Plain output for CI logs (stdout not a TTY): one line when a step starts and when it ends, one line
 * when each table/db (a progress `label`) starts and ends, and for the work in flight at most one
 * progress line per step every `progressEveryMs` (5 s). Nothing is ever reprinted. The clock is
 * injectable so tests can drive time.
 */
import type { ProgressTick, RunEvent, RunResult } from '../../lib/index.ts';
import { formatDuration, formatProgress } from './format.ts';
import type { View } from './listr-view.ts';

export interface PlainViewOptions {
  readonly verbose?: boolean;
  /** Minimum ms between two in-flight progress lines of one step (default 5000). */
  readonly progressEveryMs?: number;
  /** Clock in ms (default performance.now). */
  readonly now?: () => number;
}

const DEFAULT_EVERY_MS = 5000;
/** In-flight labels named on a progress line; more are counted. */
const MAX_NAMED = 4;

interface StepState {
  lastLineAt: number;
  /** Labels seen in this phase → still open. (Counts are not per label: engines report step totals.) */
  readonly labels: Map<string, boolean>;
}

export function createPlainView(write: (text: string) => void, opts: PlainViewOptions = {}): View {
  const now = opts.now ?? (() => performance.now());
  const every = opts.progressEveryMs ?? DEFAULT_EVERY_MS;
  const titles = new Map<string, string>();
  const steps = new Map<string, StepState>();
  const ended = new Set<string>();
  const line = (s: string) => write(`${s}\n`);
  const title = (id: string) => titles.get(id) ?? id;
  const state = (id: string): StepState => {
    let s = steps.get(id);
    if (!s) steps.set(id, s = { lastLineAt: now(), labels: new Map() });
    return s;
  };
  /** A phase or the step ended: close its labels still open, once, and forget them. */
  const close = (id: string, stepEnded: boolean) => {
    const s = steps.get(id);
    if (s) for (const [name, open] of s.labels) if (open) line(`› ${name}: done`);
    steps.delete(id);
    if (stepEnded) ended.add(id);
  };

  const progress = (t: ProgressTick) => {
    const s = state(t.step);
    const at = now();
    if (t.label === undefined) {
      // The step's own counter: its end is printed whole; in-flight lines are throttled below.
      if (t.total !== undefined && t.done >= t.total) { line(`› ${formatProgress(t)}`); s.lastLineAt = at; return; }
    } else {
      if (!s.labels.has(t.label)) { s.labels.set(t.label, true); line(`› ${t.label}: started`); }
      if (t.finished && s.labels.get(t.label)) { s.labels.set(t.label, false); line(`› ${t.label}: done`); return; }
    }
    if (at - s.lastLineAt < every) return;
    s.lastLineAt = at;
    const inFlight = [...s.labels].filter(([, open]) => open).map(([n]) => n);
    const named = inFlight.length > MAX_NAMED ? [...inFlight.slice(0, MAX_NAMED), `+${inFlight.length - MAX_NAMED} more`] : inFlight;
    line(`› ${formatProgress({ ...t, label: undefined })}${named.length ? ` (in flight: ${named.join(', ')})` : ''}`);
  };

  return {
    onEvent(e: RunEvent) {
      switch (e.type) {
        case 'run-start': for (const s of e.steps) titles.set(s.id, s.title); break;
        case 'step-phase':
          if (e.phase === 'run') { state(e.step); line(`❯ ${title(e.step)}`); } else { close(e.step, false); line(`› ${title(e.step)}: verifying`); }
          break;
        case 'step-skip': close(e.step, true); line(`↓ ${title(e.step)} [SKIPPED: ${e.reason}]`); break;
        case 'step-done': close(e.step, true); line(`✔ ${title(e.step)} (${formatDuration(e.durationMs)})`); break;
        case 'step-fail': close(e.step, true); line(`✖ ${title(e.step)} [FAILED: ${String(e.error.message)}]`); break;
        case 'step-undo': line(`↺ ${title(e.step)}: rolling back…`); break;
        case 'step-undone': line(`↺ ${title(e.step)} (undone)`); break;
        case 'progress': if (!ended.has(e.step)) progress(e); break;
        case 'log':
          if (e.step && (opts.verbose || e.level !== 'debug')) line(`${e.level === 'info' || e.level === 'debug' ? '›' : `⚠ ${e.level}:`} ${e.message}`);
          break;
        default: break;
      }
    },
    async finish(result: RunResult) {
      for (const s of result.steps) {
        if (s.status === 'not-run' && !ended.has(s.id)) line(`◌ ${title(s.id)} [not run: ${s.reason ?? 'not reached'}]`);
      }
    },
  };
}
