/**
 * Run a playbook as the operator does — a child process on Node 24 — and collect its `--json`
 * events. Used by the e2e tests, the runbook test and the kill test (which needs the child's pid).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
/** Node 24 from node_modules (the machine's own `node` may be older). */
export const NODE = join(REPO, 'node_modules', '.bin', 'node');

export interface PlaybookEvent { readonly type: string; readonly step?: string; readonly [k: string]: unknown }

export interface PlaybookRun {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly events: readonly PlaybookEvent[];
}

export interface StartedPlaybook {
  readonly child: ChildProcess;
  /** Resolves on each JSON event; `onEvent` sees them as they come. */
  readonly done: Promise<PlaybookRun>;
}

export interface StartOptions {
  /**
   * The child stops itself (SIGSTOP) right after writing this event (stop-at-event.ts) — with `file`, the first
   * such event once that file's text matches `matches` (a multiline pattern): a test killing it on that event
   * kills it there, not after the next steps (or chunks) ran while the line crossed the pipe.
   */
  readonly stopAt?: { readonly type: string; readonly step: string; readonly file?: string; readonly matches?: string };
}

export function startPlaybook(name: string, args: readonly string[], env: Readonly<Record<string, string>>, onEvent?: (e: PlaybookEvent) => void, opts: StartOptions = {}): StartedPlaybook {
  const preload = opts.stopAt ? ['--import', new URL('./stop-at-event.ts', import.meta.url).href] : [];
  const stopEnv = opts.stopAt ? { FERRY_TEST_STOP_AT: JSON.stringify(opts.stopAt) } : {};
  const child = spawn(NODE, [...preload, join(REPO, 'playbooks', `${name}.ts`), ...args], {
    cwd: REPO, env: { ...process.env, ...env, ...stopEnv }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '', stderr = '', partial = '';
  const events: PlaybookEvent[] = [];
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    partial += d;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      if (!l.startsWith('{')) continue;
      try { const e = JSON.parse(l) as PlaybookEvent; events.push(e); onEvent?.(e); } catch { /* not an event line */ }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  if (opts.stopAt) {
    // A child stopped at its event waits for the test's kill; should the test never send it (it failed, or the worker
    // exits), it is killed all the same rather than left stopped (holding its lock and sessions) for the next test.
    const kill = () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); };
    const stopped = () => { try { return readFileSync(`/proc/${child.pid}/stat`, 'utf8').replace(/^.*\) /s, '').startsWith('T'); } catch { return false; } };
    const guard = setInterval(() => { if (stopped()) kill(); }, 60_000);
    guard.unref();
    process.once('exit', kill);
    child.once('close', () => { clearInterval(guard); process.off('exit', kill); });
  }
  const done = new Promise<PlaybookRun>((resolve) => {
    child.on('close', (exitCode, signal) => resolve({ exitCode, signal, stdout, stderr, events }));
  });
  return { child, done };
}

export function runPlaybookProcess(name: string, args: readonly string[], env: Readonly<Record<string, string>>): Promise<PlaybookRun> {
  return startPlaybook(name, args, env).done;
}

/**
 * What a run that should have passed said of its failure: its failed steps' errors, warnings and errors
 * logged, and the end of its stderr. An assertion's message (`expect(r.exitCode, whyFailed(r)).toBe(0)`):
 * a failure in CI is named in its log, not only "expected 1 to be 0".
 */
export function whyFailed(r: PlaybookRun): string {
  const said = r.events.flatMap((e) => {
    if (e.type === 'step-fail') return [`${e.step} failed: ${JSON.stringify(e.error)}`];
    if (e.type === 'log' && (e.level === 'error' || e.level === 'warn')) return [`${String(e.level)}${e.step ? ` (${e.step})` : ''}: ${String(e.message)}`];
    return [];
  });
  return [`exit ${r.exitCode ?? r.signal}`, ...said.slice(-20), `stderr: ${r.stderr.slice(-3000)}`].join('\n');
}
