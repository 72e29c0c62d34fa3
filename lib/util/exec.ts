/**
 * Shell-outs that return data: `{ stdout, stderr, exitCode }`; the caller decides what failure is
 * (redis-cli exits 0 on an `ERR` reply). Secrets travel in `env` or option files, never in argv: a
 * redactor given here refuses any argument that holds a secret it knows.
 */
import { execa } from 'execa';
import { FerryError } from '../core/errors.ts';
import type { Redactor } from './redact.ts';

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
  /** Undefined when the process could not start or was killed by a signal. */
  readonly exitCode: number | undefined;
  /** Why the process never ran or was stopped (ENOENT, timeout, abort). */
  readonly failure?: string;
}

export interface ExecOptions {
  readonly cwd?: string;
  /** Added to the inherited environment: where secrets go (e.g. MYSQL_PWD, REDISCLI_AUTH). */
  readonly env?: Readonly<Record<string, string>>;
  readonly input?: string;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
  /** When given, an argument containing a registered secret is refused before anything runs. */
  readonly redactor?: Redactor;
}

export async function exec(file: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  if (opts.redactor) assertNoSecretInArgv(file, args, opts.redactor);
  const r = await execa(file, args, {
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    env: { ...opts.env },
    extendEnv: true,
    reject: false,
    stripFinalNewline: false,
    ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' as const }),
    ...(opts.signal ? { cancelSignal: opts.signal } : {}),
    ...(opts.timeoutMs !== undefined ? { timeout: opts.timeoutMs } : {}),
  });
  const failure = r.failed && r.exitCode === undefined ? (r.originalMessage || r.shortMessage) : undefined;
  return {
    stdout: typeof r.stdout === 'string' ? r.stdout : '',
    stderr: typeof r.stderr === 'string' ? r.stderr : '',
    exitCode: r.exitCode,
    ...(failure ? { failure: opts.redactor ? opts.redactor.redact(failure) : failure } : {}),
  };
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
