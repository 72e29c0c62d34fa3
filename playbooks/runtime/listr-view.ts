/**
 * The runner's events rendered by listr2 on a TTY (DefaultRenderer): a task per step whose subtasks
 * are its `run` and `verify`, with live progress as output. The runner drives the work; each task only
 * waits for its step's events, so listr2 renders and never decides. Without a TTY, plain-view.ts.
 */
import { Listr, type ListrTaskWrapper } from 'listr2';
import type { RunEvent, RunResult, StepPhase } from '../../lib/index.ts';
import { formatDuration, formatProgress } from './format.ts';

const MAX_PROGRESS_LINES = 5;

type End = { kind: 'ok' } | { kind: 'skip'; reason: string } | { kind: 'fail'; message: string };

// listr2's wrapper type carries renderer generics we do not use.
type AnyTask = ListrTaskWrapper<unknown, any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface View {
  onEvent(e: RunEvent): void;
  /** Resolves once everything is drawn. */
  finish(result: RunResult): Promise<void>;
}

export interface ListrViewOptions {
  readonly verbose: boolean;
  /** Minimum ms between two progress renders of one label (default 100). */
  readonly progressEveryMs?: number;
}

/** A promise settled once, from outside. */
function latch<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  let settled = false;
  return { promise, settle(v: T) { if (!settled) { settled = true; resolve(v); } }, get settled() { return settled; } };
}

export function createListrView(steps: readonly { id: string; title: string }[], opts: ListrViewOptions): View {
  // Per step: `decided` settles when the step is skipped, failed before running, or enters `run`;
  // then `run` and `verify` settle as their phases end.
  const gates = new Map(steps.map((s) => [s.id, { decided: latch<End | 'running'>(), run: latch<End>(), verify: latch<End>(), phase: undefined as StepPhase | undefined }]));
  const tasks = new Map<string, AnyTask>();
  const lastOutput = new Map<string, string>();
  const lastProgressAt = new Map<string, number>();
  const progressLines = new Map<string, Map<string, string>>();
  const titles = new Map(steps.map((s) => [s.id, s.title]));
  const every = opts.progressEveryMs ?? 100;

  const taskOf = (id: string) => tasks.get(`${id}:${gates.get(id)?.phase ?? ''}`) ?? tasks.get(id);
  const output = (id: string, text: string) => {
    lastOutput.set(id, text);
    const t = taskOf(id);
    if (t) t.output = text;
  };
  /** The step ended: settle whatever is still open. */
  const end = (id: string, e: End) => {
    const g = gates.get(id);
    if (!g) return;
    g.decided.settle(e);
    if (e.kind === 'fail') {
      (g.phase === 'verify' ? g.verify : g.run).settle(e);
      g.verify.settle({ kind: 'skip', reason: 'not reached' });
    } else {
      g.run.settle({ kind: 'ok' });
      g.verify.settle(g.phase === 'verify' ? { kind: 'ok' } : { kind: 'skip', reason: 'no verify' });
    }
  };
  const subtask = (id: string, phase: StepPhase, title: string) => ({
    title,
    task: async (_ctx: unknown, st: AnyTask) => {
      tasks.set(`${id}:${phase}`, st);
      const pending = lastOutput.get(id);
      if (gates.get(id)?.phase === phase && pending) st.output = pending;
      const e = await gates.get(id)![phase].promise;
      if (e.kind === 'skip') st.skip(e.reason);
      else if (e.kind === 'fail') throw new Error(e.message);
    },
  });

  const listr = new Listr(steps.map((s) => ({
    title: s.title,
    task: async (_ctx: unknown, task: AnyTask) => {
      tasks.set(s.id, task);
      const first = await gates.get(s.id)!.decided.promise;
      if (first === 'running') {
        // A failed subtask fails the step (DefaultRenderer draws a failed parent as a red ❯).
        return task.newListr([subtask(s.id, 'run', 'Run'), subtask(s.id, 'verify', 'Verify')], { concurrent: false, exitOnError: true });
      }
      if (first.kind === 'skip') task.skip(first.reason);
      else if (first.kind === 'fail') throw new Error(first.message);
      return undefined;
    },
  })), {
    concurrent: false,
    exitOnError: false,
    registerSignalListeners: false,
    renderer: 'default',
    rendererOptions: { collapseSkips: false, collapseErrors: false, collapseSubtasks: false, showErrorMessage: true } as never,
  });
  const drawn = listr.run().then(() => undefined, () => undefined);

  return {
    onEvent(e) {
      switch (e.type) {
        case 'step-phase': {
          const g = gates.get(e.step);
          if (!g) break;
          g.phase = e.phase;
          lastOutput.delete(e.step);
          progressLines.delete(e.step);
          if (e.phase === 'run') g.decided.settle('running');
          else g.run.settle({ kind: 'ok' });
          break;
        }
        case 'step-skip': end(e.step, { kind: 'skip', reason: e.reason }); break;
        case 'step-done': {
          end(e.step, { kind: 'ok' });
          const t = tasks.get(e.step);
          if (t) t.title = `${titles.get(e.step) ?? e.step} (${formatDuration(e.durationMs)})`;
          break;
        }
        case 'step-fail': end(e.step, { kind: 'fail', message: String(e.error.message) }); break;
        case 'step-undo': output(e.step, 'rolling back…'); break;
        case 'step-undone': {
          const t = tasks.get(e.step);
          if (t) t.title = `${titles.get(e.step) ?? e.step} (undone)`;
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
          for (const s of e.result.steps) end(s.id, { kind: 'skip', reason: `not run: ${s.reason ?? 'not reached'}` });
          break;
        default: break;
      }
    },
    async finish(result) {
      for (const s of result.steps) end(s.id, { kind: 'skip', reason: `not run: ${s.reason ?? 'not reached'}` });
      await drawn;
    },
  };
}
