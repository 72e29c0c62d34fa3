/**
 * A library call run in a child process killed with SIGKILL at growing delays after it has loaded ferry,
 * until a run ends on its own: proves that the call resumes by being run again, whatever instant it died at.
 */
import { execa } from 'execa';
import { expect } from 'vitest';

const child = (module: string) => `
  const lib = await import(${JSON.stringify(module)});
  process.stdout.write('ready\\n');
  const s = await lib[process.env.FERRY_KILL_FN](JSON.parse(process.env.FERRY_KILL_OPTIONS));
  process.stdout.write(JSON.stringify(s ?? null));
`;

/** How the delays grow: the first, the next from the last, and the delay at which the loop gives up. */
export interface KillSchedule {
  readonly firstMs: number;
  readonly next: (ms: number) => number;
  readonly maxMs: number;
}

const DEFAULT_SCHEDULE: KillSchedule = { firstMs: 5, next: (d) => Math.round(d * 1.5) + 5, maxMs: 20_000 };

/**
 * Run a node ESM `script` (it prints a line once ferry is loaded) with `env`, killed that long after its
 * first line, until a run exits 0; returns the delays it was killed at.
 */
export async function killLoopScript(script: string, env: Readonly<Record<string, string>>, schedule: KillSchedule = DEFAULT_SCHEDULE): Promise<number[]> {
  const kills: number[] = [];
  for (let delay = schedule.firstMs; delay < schedule.maxMs; delay = schedule.next(delay)) {
    const run = execa(process.execPath, ['--input-type=module', '-e', script], { env, reject: false });
    let timer: NodeJS.Timeout | undefined;
    run.stdout.once('data', () => { timer = setTimeout(() => run.kill('SIGKILL'), delay); });
    const r = await run;
    clearTimeout(timer);
    if (r.exitCode === 0) break;
    expect(r.signal, String(r.stderr)).toBe('SIGKILL');
    kills.push(delay);
  }
  return kills;
}

/** Run `module`'s export `fn` with `options` (JSON; a redactor is dropped) until it ends; returns the delays it was killed at. */
export function killLoop(module: string, fn: string, options: object): Promise<number[]> {
  return killLoopScript(child(module), { FERRY_KILL_FN: fn, FERRY_KILL_OPTIONS: JSON.stringify({ ...options, redactor: undefined }) });
}
