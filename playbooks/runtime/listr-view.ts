/**
 * The runner's events rendered by listr2: a task per step (DefaultRenderer on a TTY, SimpleRenderer's
 * plain lines otherwise) with live progress as task output. The runner drives the work; each task waits
 * for its step's outcome, so listr2 only renders and never decides.
 */
import { Listr, type ListrTaskWrapper } from 'listr2';
import type { RunEvent, RunResult } from '../../lib/runner/index.ts';
import { formatDuration, formatProgress } from './format.ts';

const MAX_PROGRESS_LINES = 5;

type Outcome = { kind: 'done'; durationMs: number } | { kind: 'skip'; reason: string } | { kind: 'fail'; message: string } | { kind: 'not-run'; reason: string };

// listr2's wrapper type carries renderer generics we do not use.
type AnyTask = ListrTaskWrapper<unknown, any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface View {
  onEvent(e: RunEvent): void;
  /** Resolves once everything is drawn. */
  finish(result: RunResult): Promise<void>;
}

export interface ListrViewOptions {
  readonly tty: boolean;
  readonly verbose: boolean;
  /** Minimum ms between two progress renders of one step (plain output is throttled harder). */
  readonly progressEveryMs?: number;
}

export function createListrView(steps: readonly { id: string; title: string }[], opts: ListrViewOptions): View {
  const outcomes = new Map<string, { promise: Promise<Outcome>; resolve: (o: Outcome) => void; settled: boolean }>();
  for (const s of steps) {
    let resolve!: (o: Outcome) => void;
    const promise = new Promise<Outcome>((r) => { resolve = r; });
    outcomes.set(s.id, { promise, resolve, settled: false });
  }
  const tasks = new Map<string, AnyTask>();
  const lastOutput = new Map<string, string>();
  const lastProgressAt = new Map<string, number>();
  const progressLines = new Map<string, Map<string, string>>();
  const every = opts.progressEveryMs ?? (opts.tty ? 100 : 5000);
  const settle = (id: string, o: Outcome) => {
    const w = outcomes.get(id);
    if (w && !w.settled) { w.settled = true; w.resolve(o); }
  };
  const output = (id: string, text: string) => {
    lastOutput.set(id, text);
    const t = tasks.get(id);
    if (t) t.output = text;
  };
  const titles = new Map(steps.map((s) => [s.id, s.title]));

  const listr = new Listr(steps.map((s) => ({
    title: s.title,
    task: async (_ctx: unknown, task: AnyTask) => {
      tasks.set(s.id, task);
      const pending = lastOutput.get(s.id);
      if (pending) task.output = pending;
      const o = await outcomes.get(s.id)!.promise;
      if (o.kind === 'skip') task.skip(o.reason);
      else if (o.kind === 'not-run') task.skip(`not run: ${o.reason}`);
      else if (o.kind === 'fail') throw new Error(o.message);
      else task.title = `${s.title} (${formatDuration(o.durationMs)})`;
    },
  })), {
    concurrent: false,
    exitOnError: false,
    registerSignalListeners: false,
    renderer: opts.tty ? 'default' : 'simple',
    rendererOptions: { collapseSkips: false, collapseErrors: false, showErrorMessage: true } as never,
  });
  const drawn = listr.run().then(() => undefined, () => undefined);

  return {
    onEvent(e) {
      switch (e.type) {
        case 'step-start': output(e.step, 'checking…'); break;
        case 'step-skip': settle(e.step, { kind: 'skip', reason: e.reason }); break;
        case 'step-done': settle(e.step, { kind: 'done', durationMs: e.durationMs }); break;
        case 'step-fail': settle(e.step, { kind: 'fail', message: String(e.error.message) }); break;
        case 'step-undo': output(e.step, 'rolling back…'); break;
        case 'step-undone': {
          const t = tasks.get(e.step);
          if (t && outcomes.get(e.step)?.settled) t.title = `${titles.get(e.step) ?? e.step} (undone)`;
          else output(e.step, 'rolled back');
          break;
        }
        case 'progress': {
          const now = performance.now();
          const finished = e.total !== undefined && e.done >= e.total;
          const key = `${e.step}\u0000${e.label ?? ''}`;
          if (!finished && now - (lastProgressAt.get(key) ?? -Infinity) < every) break;
          lastProgressAt.set(key, now);
          // One line per label (table, db…), the most recent few, so parallel work shows side by side.
          const lines = progressLines.get(e.step) ?? new Map<string, string>();
          lines.delete(e.label ?? '');
          lines.set(e.label ?? '', formatProgress(e));
          while (lines.size > MAX_PROGRESS_LINES) lines.delete(lines.keys().next().value!);
          progressLines.set(e.step, lines);
          output(e.step, [...lines.values()].join('\n'));
          break;
        }
        case 'log':
          if (e.step && (opts.verbose || e.level !== 'debug')) output(e.step, `${e.level === 'info' ? '' : `${e.level}: `}${e.message}`);
          break;
        case 'run-end':
          for (const s of e.result.steps) settle(s.id, { kind: 'not-run', reason: s.reason ?? 'not reached' });
          break;
        default: break;
      }
    },
    async finish(result) {
      for (const s of result.steps) settle(s.id, { kind: 'not-run', reason: s.reason ?? 'not reached' });
      await drawn;
    },
  };
}
