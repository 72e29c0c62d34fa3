/**
 * Prove the source quiet: take samples until they stay identical for `seconds`, or give up after
 * `timeoutMs` naming what kept changing. The clock and the pause are injectable for tests.
 */
import { FerryError } from '../core/errors.ts';

export interface QuietOptions {
  /** Returns one sample per source, by name (`mysql`, `redis`). */
  readonly sample: () => Promise<Readonly<Record<string, string>>>;
  readonly seconds: number;
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  readonly signal?: AbortSignal;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export async function proveQuiet(o: QuietOptions): Promise<Readonly<Record<string, string>>> {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((res) => setTimeout(res, ms)));
  const timeoutMs = o.timeoutMs ?? Math.max(60_000, o.seconds * 10_000);
  const start = now();
  let last = await o.sample();
  let since = now();
  const changed = new Set<string>();
  for (;;) {
    if (now() - since >= o.seconds * 1000) return last;
    if (now() - start > timeoutMs) {
      throw new FerryError('E_SOURCE_NOT_QUIET', `the source kept changing for ${Math.round(timeoutMs / 1000)}s after the freeze: ${[...changed].join(', ')}`, {
        hint: 'a writer is still running: add its stop command to freeze.stopWriters (or stop it by hand), then re-run',
      });
    }
    o.signal?.throwIfAborted();
    await sleep(o.intervalMs ?? 500);
    const next = await o.sample();
    const diff = Object.keys(next).filter((k) => next[k] !== last[k]);
    if (diff.length) { since = now(); for (const d of diff) changed.add(d); }
    last = next;
  }
}
