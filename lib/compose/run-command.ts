/**
 * The one shell-out lib/compose makes: a child process whose result is data. Secrets travel only in
 * `env` (or files), never in `args`. Until lib/util/exec.ts lands, this small wrapper stands in.
 */
import { execa } from 'execa';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
  /** Undefined when the process could not start or was killed by a signal. */
  readonly exitCode: number | undefined;
  /** Why the process never ran or was stopped (ENOENT, timeout, abort). */
  readonly failure?: string;
}

export interface RunCommandOptions {
  readonly cwd?: string;
  /** Added to the inherited environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Fed to stdin: a string, or a stream piped as it is read. */
  readonly stdin?: string | Readable;
  /** When given, stdout is streamed there instead of collected. */
  readonly stdout?: Writable;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

export async function runCommand(file: string, args: readonly string[], options: RunCommandOptions = {}): Promise<CommandResult> {
  const input = typeof options.stdin === 'string' ? options.stdin : undefined;
  const stream = typeof options.stdin === 'object' ? options.stdin : undefined;
  const child = execa(file, args, {
    cwd: options.cwd,
    env: { ...options.env },
    extendEnv: true,
    reject: false,
    stripFinalNewline: false,
    input,
    stdin: options.stdin === undefined ? 'ignore' : 'pipe',
    buffer: { stdout: !options.stdout, stderr: true },
    cancelSignal: options.signal,
    timeout: options.timeoutMs,
  });
  // Streams are piped by hand: execa only takes streams backed by a file descriptor.
  const piping: Promise<unknown>[] = [];
  if (stream && child.stdin) piping.push(pipeline(stream, child.stdin).catch((e: unknown) => e));
  if (options.stdout && child.stdout) piping.push(pipeline(child.stdout, options.stdout, { end: false }).catch((e: unknown) => e));
  const r = await child;
  await Promise.all(piping);
  const failure = r.failed && r.exitCode === undefined ? (r.originalMessage || r.shortMessage) : undefined;
  return {
    stdout: typeof r.stdout === 'string' ? r.stdout : '',
    stderr: typeof r.stderr === 'string' ? r.stderr : '',
    exitCode: r.exitCode,
    ...(failure ? { failure } : {}),
  };
}
