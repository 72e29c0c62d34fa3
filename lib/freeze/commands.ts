/** The operator's writer commands (`brew services stop vedfolnir`), run without a shell; output returned as data. */
import { FerryError } from '../core/errors.ts';
import { exec, parseCommand } from '../util/exec.ts';

export interface CommandResult { readonly command: string; readonly exitCode: number; readonly output: string }

export async function runCommand(command: string, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<CommandResult> {
  const [file, ...args] = parseCommand(command);
  if (!file) throw new TypeError('Expected a non-empty command');
  const r = await exec(file, args, { all: true, timeoutMs: opts.timeoutMs ?? 120_000, ...(opts.signal ? { signal: opts.signal } : {}) });
  const output = (r.all ?? '').replace(/\n$/, '');
  return { command, exitCode: r.exitCode ?? -1, output: r.failure ? [output, r.failure].filter(Boolean).join('\n') : output };
}

/** Run each command in order; the first failure is an error naming it. */
export async function runCommands(commands: readonly string[], what: string, opts: { signal?: AbortSignal } = {}): Promise<CommandResult[]> {
  const out: CommandResult[] = [];
  for (const c of commands) {
    const r = await runCommand(c, opts);
    out.push(r);
    if (r.exitCode !== 0) {
      throw new FerryError('E_FREEZE_COMMAND', `\`${c}\` (${what}) exited ${r.exitCode}`, {
        hint: `run it by hand to see why, fix it or change freeze.${what} in the config, then re-run`, detail: r.output,
      });
    }
  }
  return out;
}
