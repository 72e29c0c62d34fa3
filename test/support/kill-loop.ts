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

/** Run `module`'s export `fn` with `options` (JSON; a redactor is dropped) until it ends; returns the delays it was killed at. */
export async function killLoop(module: string, fn: string, options: object): Promise<number[]> {
  const kills: number[] = [];
  for (let delay = 5; delay < 20_000; delay = Math.round(delay * 1.5) + 5) {
    const run = execa(process.execPath, ['--input-type=module', '-e', child(module)], {
      env: { FERRY_KILL_FN: fn, FERRY_KILL_OPTIONS: JSON.stringify({ ...options, redactor: undefined }) }, reject: false,
    });
    let timer: NodeJS.Timeout | undefined;
    run.stdout.once('data', () => { timer = setTimeout(() => run.kill('SIGKILL'), delay); });
    const r = await run;
    clearTimeout(timer);
    if (r.exitCode === 0) break;
    expect(r.signal, r.stderr).toBe('SIGKILL');
    kills.push(delay);
  }
  return kills;
}
