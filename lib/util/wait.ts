/**
 * Waiting and retrying as small objects: a predicate, a timeout budget, an AbortSignal and a clock
 * tests can fake. The error states the budget ("… not ready after 60000ms").
 */
import { FerryError } from '../core/errors.ts';

export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) => new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => { clearTimeout(t); reject(signal?.reason); };
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  }),
};

export interface WaitOptions {
  /** What is awaited, for the error ("mysql on 127.0.0.1:33306 accepting connections"). */
  readonly what: string;
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  readonly signal?: AbortSignal;
  readonly clock?: Clock;
  readonly hint?: string;
  /** A probe error for which waiting stops at once (rethrown): the thing will not become ready. */
  readonly fatal?: (e: unknown) => boolean;
  /** The error to throw when the budget is spent (default: E_WAIT_TIMEOUT naming `what` and the budget). */
  readonly onTimeout?: (lastError: unknown) => Error | Promise<Error>;
}

/**
 * Poll `probe` until it returns a value other than undefined/false. A probe that throws is polled again
 * (unless `fatal` says otherwise); its last error goes in the timeout's detail.
 */
export async function waitFor<T>(probe: () => Promise<T | undefined | false>, opts: WaitOptions): Promise<T> {
  const clock = opts.clock ?? systemClock;
  const start = clock.now();
  let last: unknown;
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      if (opts.fatal?.(e) || opts.signal?.aborted) throw e;
      last = e;
    }
    const waited = clock.now() - start;
    if (waited >= opts.timeoutMs) {
      if (opts.onTimeout) throw await opts.onTimeout(last);
      throw new FerryError('E_WAIT_TIMEOUT', `${opts.what}: not ready after ${opts.timeoutMs}ms`, {
        hint: opts.hint ?? 'check that it is running and reachable, then re-run',
        ...(last !== undefined ? { cause: last, detail: String((last as Error)?.message ?? last) } : {}),
      });
    }
    await clock.sleep(Math.min(opts.intervalMs ?? 250, Math.max(0, opts.timeoutMs - waited)), opts.signal);
  }
}

export interface RetryOptions {
  readonly attempts: number;
  /** First delay; doubled each attempt up to `maxDelayMs`. */
  readonly delayMs?: number;
  readonly maxDelayMs?: number;
  readonly signal?: AbortSignal;
  readonly clock?: Clock;
  /** Whether an error is worth another attempt; a TypeError (a caller's mistake) never is. */
  readonly retryable?: (e: unknown) => boolean;
  readonly onRetry?: (e: unknown, attempt: number) => void;
}

export async function retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const clock = opts.clock ?? systemClock;
  let delay = opts.delayMs ?? 200;
  for (let attempt = 1; ; attempt++) {
    opts.signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (e) {
      const worth = !(e instanceof TypeError) && (opts.retryable?.(e) ?? true);
      if (!worth || attempt >= opts.attempts || opts.signal?.aborted) throw e;
      opts.onRetry?.(e, attempt);
      await clock.sleep(delay, opts.signal);
      delay = Math.min(delay * 2, opts.maxDelayMs ?? 5000);
    }
  }
}
