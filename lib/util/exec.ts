/**
 * The one shell-out of lib/: a child process whose result is data, `{ stdout, stderr, exitCode }`; the
 * caller decides what failure is (redis-cli exits 0 on an `ERR` reply). Secrets travel in `env` or
 * option files, never in argv: a redactor given here refuses any argument that holds a secret it knows.
 * Stdin may be a string or a stream, stdout may be streamed to a writable (tar pipes, exec tunnels).
 */
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { execa, parseCommandString } from 'execa';
import { FerryError } from '../core/errors.ts';
import type { Redactor } from './redact.ts';

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
  /** Undefined when the process could not start or was killed by a signal. */
  readonly exitCode: number | undefined;
  /** Why the process never ran or was stopped (ENOENT, timeout, abort). */
  readonly failure?: string;
  /** stdout and stderr interleaved as they came, when `all` was asked for. */
  readonly all?: string;
}

export interface ExecOptions {
  readonly cwd?: string;
  /** Added to the inherited environment: where secrets go (e.g. MYSQL_PWD, REDISCLI_AUTH). */
  readonly env?: Readonly<Record<string, string>>;
  /** Fed to stdin: a string, or a stream piped as it is read. Stdin is closed when absent. */
  readonly stdin?: string | Readable;
  /** When given, stdout is streamed there (left open) instead of collected. */
  readonly stdout?: Writable;
  /** Also collect stdout and stderr interleaved, in `all`. */
  readonly all?: boolean;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
  /** When given, an argument containing a registered secret is refused before anything runs. */
  readonly redactor?: Redactor;
}

export async function exec(file: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  if (opts.redactor) assertNoSecretInArgv(file, args, opts.redactor);
  const stdin = opts.stdin;
  const input = typeof stdin === 'string' ? stdin : undefined;
  const stream = typeof stdin === 'object' ? stdin : undefined;
  const child = execa(file, args, {
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    env: { ...opts.env },
    extendEnv: true,
    reject: false,
    stripFinalNewline: false,
    ...(input !== undefined ? { input } : { stdin: stream ? 'pipe' as const : 'ignore' as const }),
    buffer: { stdout: !opts.stdout, stderr: true },
    ...(opts.all ? { all: true } : {}),
    ...(opts.signal ? { cancelSignal: opts.signal } : {}),
    ...(opts.timeoutMs !== undefined ? { timeout: opts.timeoutMs } : {}),
  });
  // Streams are piped by hand: execa only takes streams backed by a file descriptor.
  const piping: Promise<unknown>[] = [];
  if (stream && child.stdin) piping.push(pipeline(stream, child.stdin).catch((e: unknown) => e));
  if (opts.stdout && child.stdout) piping.push(pipeline(child.stdout, opts.stdout, { end: false }).catch((e: unknown) => e));
  const r = await child;
  await Promise.all(piping);
  const failure = r.failed && r.exitCode === undefined ? (r.originalMessage || r.shortMessage) : undefined;
  return {
    stdout: typeof r.stdout === 'string' ? r.stdout : '',
    stderr: typeof r.stderr === 'string' ? r.stderr : '',
    exitCode: r.exitCode,
    ...(failure ? { failure: opts.redactor ? opts.redactor.redact(failure) : failure } : {}),
    ...(opts.all ? { all: typeof r.all === 'string' ? r.all : '' } : {}),
  };
}

/** `brew services stop app` → `['brew', 'services', 'stop', 'app']`: a command line split without a shell. */
export function parseCommand(command: string): string[] {
  return parseCommandString(command);
}

/** Throws when an argument would put a known secret in the process table. */
export function assertNoSecretInArgv(file: string, args: readonly string[], redactor: Redactor): void {
  const i = args.findIndex((a) => redactor.redact(a) !== a);
  if (i >= 0) {
    throw new FerryError('E_SECRET_IN_ARGV', `argument ${i + 1} of ${file} holds a secret: ${redactor.redact(args[i] ?? '')}`, {
      hint: 'pass the secret by environment variable or an option file instead (this is a bug in ferry)',
    });
  }
}
