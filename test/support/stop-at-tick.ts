/**
 * A library call run in a child process that stops itself (SIGSTOP) at a chosen progress tick, then is
 * SIGKILLed there: a kill at a known point (after a chunk or batch is written and recorded), not a race
 * between a poll of the test and the run's own pace (on a busy machine the run could end before the poll
 * saw its mark, or the kill land chunks later than the mark).
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { expect } from 'vitest';

export interface StopAtTick {
  /** The module's URL (`new URL('../../lib/…', import.meta.url).href`). */
  readonly module: string;
  /** The export called with the options (one params object). */
  readonly fn: string;
  /** Its options (JSON: passwords travel by env, never argv); the progress hook is added. */
  readonly options: object;
  /** The option carrying the hook: `progress` ({ update(u) }, the default) or a callback like `onProgress`. */
  readonly hook?: 'progress' | { readonly callback: string };
  /**
   * A JavaScript expression over `ticks` (this tick's number, from 1) and `u` (the tick's argument), and
   * `readFileSync`: the child stops at the first tick where it holds.
   */
  readonly stopWhen: string;
}

/** Run the call until `stopWhen` holds at a tick, SIGKILL it there; fails if it ended or failed before. */
export async function killedAtTick(o: StopAtTick): Promise<void> {
  const hook = o.hook ?? 'progress';
  await killedChildAtTick((tick, done) => [
    `const { writeFileSync, readFileSync } = await import('node:fs');`,
    `const lib = await import(${JSON.stringify(o.module)});`,
    `const o = JSON.parse(process.env.FERRY_TEST_OPTIONS);`,
    `let ticks = 0;`,
    `const stop = (u) => { ++ticks; if (!(${o.stopWhen})) return; writeFileSync(${JSON.stringify(tick)}, String(ticks)); process.kill(process.pid, 'SIGSTOP'); };`,
    hook === 'progress'
      ? `await lib[${JSON.stringify(o.fn)}]({ ...o, progress: { update: stop } });`
      : `await lib[${JSON.stringify(o.fn)}]({ ...o, ${JSON.stringify(hook.callback)}: stop });`,
    `writeFileSync(${JSON.stringify(done)}, '1');`,
  ].join('\n'), { FERRY_TEST_OPTIONS: JSON.stringify(o.options) });
}

/**
 * The child behind killedAtTick, for a caller writing its own module code: `code(tick, done)` must write
 * `tick` then SIGSTOP itself at its stop, and write `done` if it ever ends. Passwords travel in `env`, never argv.
 */
export async function killedChildAtTick(code: (tick: string, done: string) => string, env: Record<string, string>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-stop-at-tick-'));
  const tick = join(dir, 'tick'), done = join(dir, 'done');
  const node = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
  const child = execa(node, ['--input-type=module', '-e', code(tick, done)], { env, reject: false });
  let exited: { exitCode?: number | undefined; stderr: unknown } | undefined;
  void child.then((r) => { exited = r; });
  try {
    // A generous deadline (a busy machine): 3 minutes for the child to load ferry and reach its tick.
    for (let i = 0; i < 3600 && !(await stat(tick).catch(() => null)) && !exited; i++) await new Promise((res) => setTimeout(res, 50));
    expect(await stat(tick).catch(() => null), `the child reached its stop (${exited ? `exited ${String(exited.exitCode)}: ${String(exited.stderr).slice(-2000)}` : 'still running'})`).not.toBeNull();
    child.kill('SIGKILL');
    const res = await child;
    expect(res.signal).toBe('SIGKILL');
    expect(await stat(done).catch(() => null)).toBeNull();
  } finally {
    child.kill('SIGKILL');
    await child.catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}
