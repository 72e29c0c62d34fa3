/**
 * Plain output for CI logs (stdout not a TTY): one line when a step starts and when it ends, one line
 * when each table/db (a progress `label`) starts and ends, and for the work in flight at most one
 * progress line per step every `progressEveryMs` (5 s). Nothing is ever reprinted. The clock is
 * injectable so tests can drive time.
 */
import type { ProgressTick } from '../../lib/core/progress.ts';
import type { RunEvent, RunResult } from '../../lib/runner/index.ts';
import { formatBytes, formatDuration, formatProgress } from './format.ts';
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

interface Label { units: number; bytes: number; unit: string; open: boolean }

interface StepState {
  /** The step's cumulative `done` at its previous tick: each tick's increase belongs to its label. */
  lastDone: number;
  lastBytes: number;
  lastLineAt: number;
  last: ProgressTick | undefined;
  readonly labels: Map<string, Label>;
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
    if (!s) steps.set(id, s = { lastDone: 0, lastBytes: 0, lastLineAt: now(), last: undefined, labels: new Map() });
    return s;
  };
  const labelEnd = (name: string, l: Label) => {
    l.open = false;
    line(`› ${name}: done (${l.unit === 'bytes' ? formatBytes(l.units) : `${l.units.toLocaleString('en-US')} ${l.unit}`}${l.bytes > 0 && l.unit !== 'bytes' ? ` · ${formatBytes(l.bytes)}` : ''})`);
  };
  /** A step ended: close its labels still open, once. */
  const close = (id: string) => {
    const s = steps.get(id);
    if (s) for (const [name, l] of s.labels) if (l.open) labelEnd(name, l);
    steps.delete(id);
    ended.add(id);
  };

  const progress = (t: ProgressTick) => {
    const s = state(t.step);
    const at = now();
    const grew = Math.max(0, t.done - s.lastDone);
    const grewBytes = Math.max(0, (t.bytes ?? 0) - s.lastBytes);
    s.lastDone = t.done;
    s.lastBytes = t.bytes ?? 0;
    s.last = t;
    if (t.label === undefined) {
      // The step's own counter: its end is printed whole; in-flight lines are throttled below.
      if (t.total !== undefined && t.done >= t.total) { line(`› ${formatProgress(t)}`); s.lastLineAt = at; return; }
    } else {
      let l = s.labels.get(t.label);
      if (!l) {
        l = { units: 0, bytes: 0, unit: t.unit, open: true };
        s.labels.set(t.label, l);
        line(`› ${t.label}: started`);
      }
      l.units += grew;
      l.bytes += grewBytes;
      if (t.finished && l.open) { labelEnd(t.label, l); return; }
    }
    if (at - s.lastLineAt < every) return;
    s.lastLineAt = at;
    const inFlight = [...s.labels].filter(([, l]) => l.open).map(([n]) => n);
    const named = inFlight.length > MAX_NAMED ? [...inFlight.slice(0, MAX_NAMED), `+${inFlight.length - MAX_NAMED} more`] : inFlight;
    line(`› ${formatProgress({ ...t, label: undefined })}${named.length ? ` (in flight: ${named.join(', ')})` : ''}`);
  };

  return {
    onEvent(e: RunEvent) {
      switch (e.type) {
        case 'run-start': for (const s of e.steps) titles.set(s.id, s.title); break;
        case 'step-phase':
          if (e.phase === 'run') { state(e.step); line(`❯ ${title(e.step)}`); } else line(`› ${title(e.step)}: verifying`);
          break;
        case 'step-skip': close(e.step); line(`↓ ${title(e.step)} [SKIPPED: ${e.reason}]`); break;
        case 'step-done': close(e.step); line(`✔ ${title(e.step)} (${formatDuration(e.durationMs)})`); break;
        case 'step-fail': close(e.step); line(`✖ ${title(e.step)} [FAILED: ${String(e.error.message)}]`); break;
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
