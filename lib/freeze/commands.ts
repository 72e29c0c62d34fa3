/** The operator's writer commands (`brew services stop vedfolnir`), run without a shell; output returned as data. */
import { execa, parseCommandString } from 'execa';
import { FerryError } from '../core/errors.ts';

export interface CommandResult { readonly command: string; readonly exitCode: number; readonly output: string }

export async function runCommand(command: string, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<CommandResult> {
  const [file, ...args] = parseCommandString(command);
  if (!file) throw new TypeError('Expected a non-empty command');
  const r = await execa(file, args, { reject: false, all: true, stdin: 'ignore', timeout: opts.timeoutMs ?? 120_000, ...(opts.signal ? { cancelSignal: opts.signal } : {}) });
  return { command, exitCode: r.exitCode ?? -1, output: String(r.all ?? '') };
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
