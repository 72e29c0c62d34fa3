/**
 * FerryError: every failure ferry reports. A one-line `message`, a stable `code` from the registry
 * (lib/core/error-codes.ts), a `hint` naming the next thing to do, the `step` it came from (when known),
 * a short `detail` excerpt (≤ 20 lines) and the underlying `cause`. Messages and details must already
 * be redacted: never put a secret in one.
 */
import type { ErrorCode } from './error-codes.ts';

export { ERROR_CODES, describeErrorCode, isErrorCode, type ErrorCode } from './error-codes.ts';

export interface FerryErrorOptions {
  readonly hint: string;
  readonly cause?: unknown;
  readonly step?: string;
  /** Up to ~20 lines of relevant output (stderr, server message), already redacted. */
  readonly detail?: string;
}

export class FerryError extends Error {
  override readonly name = 'FerryError';
  readonly code: ErrorCode;
  readonly hint: string;
  readonly step: string | undefined;
  readonly detail: string | undefined;

  constructor(code: ErrorCode, message: string, options: FerryErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.step = options.step;
    this.detail = options.detail === undefined ? undefined : excerpt(options.detail);
  }

  /** A copy attributed to `step` (errors are raised deep in engines, attributed by the runner). */
  withStep(step: string): FerryError {
    if (this.step === step) return this;
    return new FerryError(this.code, this.message, { hint: this.hint, cause: this.cause, step, detail: this.detail });
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, hint: this.hint, step: this.step, detail: this.detail };
  }
}

export function isFerryError(e: unknown): e is FerryError {
  return e instanceof FerryError;
}

/** The last `max` lines of `text`, so an attached stderr never floods a report. */
export function excerpt(text: string, max = 20): string {
  const lines = text.replace(/\s+$/, '').split('\n');
  // Already cut (an error re-attributed with withStep): keep its count of earlier lines.
  const cut = lines.length === max + 1 && /^… \(\d+ earlier lines\)$/.test(lines[0] ?? '');
  return lines.length <= max || cut ? lines.join('\n') : [`… (${lines.length - max} earlier lines)`, ...lines.slice(-max)].join('\n');
}

/** Wrap anything thrown into a FerryError (keeping a FerryError as it is). */
export function toFerryError(e: unknown, fallbackCode: ErrorCode = 'E_UNEXPECTED', step?: string): FerryError {
  if (e instanceof FerryError) return step ? e.withStep(step) : e;
  const message = e instanceof Error ? e.message : String(e);
  return new FerryError(fallbackCode, message.split('\n')[0] ?? message, {
    hint: 'this is unexpected: re-run with --json and keep the output for a bug report',
    cause: e,
    ...(step ? { step } : {}),
  });
}
