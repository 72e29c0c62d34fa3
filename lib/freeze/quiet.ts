/**
 * Prove the source quiet: take samples until they stay identical for `seconds`, or give up after
 * `timeoutMs` naming what kept changing. The clock is injectable for tests.
 */
import { FerryError } from '../core/errors.ts';
import { systemClock, waitFor, type Clock } from '../util/wait.ts';

export interface QuietOptions {
  /** Returns one sample per source, by name (`mysql`, `redis`). */
  readonly sample: () => Promise<Readonly<Record<string, string>>>;
  readonly seconds: number;
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  readonly signal?: AbortSignal;
  readonly clock?: Clock;
}

export async function proveQuiet(o: QuietOptions): Promise<Readonly<Record<string, string>>> {
  const timeoutMs = o.timeoutMs ?? Math.max(60_000, o.seconds * 10_000);
  const clock = o.clock ?? systemClock;
  let last: Readonly<Record<string, string>> | undefined;
  let since = 0;
  const changed = new Set<string>();
  return waitFor(async () => {
    const next = await o.sample();
    const diff = last === undefined ? undefined : Object.keys(next).filter((k) => next[k] !== last![k]);
    if (diff === undefined || diff.length) since = clock.now();
    for (const d of diff ?? []) changed.add(d);
    last = next;
    return clock.now() - since >= o.seconds * 1000 ? next : undefined;
  }, {
    what: 'the source', timeoutMs, intervalMs: o.intervalMs ?? 500,
    ...(o.signal ? { signal: o.signal } : {}), clock,
    fatal: () => true, // a sample that fails is an error, not a source still moving
    onTimeout: () => new FerryError('E_SOURCE_NOT_QUIET', `the source kept changing for ${Math.round(timeoutMs / 1000)}s after the freeze: ${[...changed].join(', ')}`, {
      hint: 'a writer is still running: add its stop command to freeze.stopWriters (or stop it by hand), then re-run',
    }),
  });
}
