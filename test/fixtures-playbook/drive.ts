/** Drives test/fixtures-playbook/playbook.ts as a child process, the way an operator runs a playbook. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { RunResult } from '../../lib/runner/index.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
export const NODE = join(ROOT, 'node_modules/.bin/node');
export const PLAYBOOK = join(ROOT, 'test/fixtures-playbook/playbook.ts');
export const CONFIG = join(ROOT, 'test/fixtures-playbook/ferry.config.json');

export interface Finished { readonly code: number | null; readonly signal: NodeJS.Signals | null; readonly stdout: string; readonly stderr: string }

export interface Running { readonly child: ChildProcess; readonly done: Promise<Finished>; readonly stdout: () => string }

/** A scratch directory with `out/` (the steps' files) and `state/` (journal, lock). */
export function scratch(): { out: string; state: string; args: string[] } {
  const d = mkdtempSync(join(tmpdir(), 'ferry-fixture-'));
  const out = join(d, 'out');
  const state = join(d, 'state');
  return { out, state, args: ['--config', CONFIG, '--out', out, '--state-dir', state] };
}

export function start(args: string[], bin: string[] = [NODE, PLAYBOOK]): Running {
  const [cmd, ...pre] = bin;
  const child = spawn(cmd!, [...pre, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => { stdout += d.toString('utf8'); });
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString('utf8'); });
  const done = new Promise<Finished>((res) => child.on('close', (code, signal) => res({ code, signal, stdout, stderr })));
  return { child, done, stdout: () => stdout };
}

export const run = (args: string[], bin?: string[]) => start(args, bin).done;

/** Every file under `dir` with its content, sorted: an end state to compare. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) out[name] = readFileSync(join(dir, name), 'utf8');
  return out;
}

/** Parses stdout as JSON lines; throws on any line that is not JSON. */
export function jsonLines(stdout: string): JsonLine[] {
  return stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as JsonLine);
}

/** A parsed line: a RunEvent (or the `error` line of a failure before the run), loosely typed for assertions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JsonLine = { type: string; step?: string } & Record<string, any>;

/** The RunResult of the run-end line (throws if there is none). */
export function resultOf(lines: readonly JsonLine[]): RunResult {
  const end = lines.find((l) => l.type === 'run-end');
  if (!end) throw new Error('no run-end line');
  return end.result as RunResult;
}
