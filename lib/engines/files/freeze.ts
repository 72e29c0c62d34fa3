/**
 * Freeze for files: ferry cannot stop an app writing into a directory, so it waits for quiet: the tree
 * is quiet when a stat-only scan shows no change across the whole quiet window. Nothing is changed on
 * the source, so there is nothing to thaw.
 */
import { FerryError } from '../../core/errors.ts';
import { systemClock, waitFor, type Clock } from '../../util/wait.ts';
import { treeFingerprint } from './export.ts';

export interface QuietOptions {
  readonly root: string;
  readonly windowMs: number;
  readonly budgetMs: number;
  readonly signal?: AbortSignal;
  /** Injectable for tests (default: the system clock). */
  readonly clock?: Clock;
}

export interface QuietResult { readonly fingerprint: string; readonly quietAt: string; readonly scans: number }

export async function waitQuiet(o: QuietOptions): Promise<QuietResult> {
  let before: string | undefined;
  let scans = 0;
  return waitFor(async () => {
    const after = (await treeFingerprint(o.root)).fingerprint;
    scans++;
    const quiet = after === before;
    before = after;
    return quiet ? { fingerprint: after, quietAt: new Date().toISOString(), scans } : undefined;
  }, {
    what: o.root, timeoutMs: o.budgetMs, intervalMs: o.windowMs, clock: o.clock ?? systemClock,
    ...(o.signal ? { signal: o.signal } : {}),
    fatal: () => true, // a scan that fails is an error, not a tree still moving
    onTimeout: () => new FerryError('E_FILES_NOT_QUIET', `${o.root} kept changing: no quiet window of ${o.windowMs} ms within ${o.budgetMs} ms (${scans} scans)`, {
      hint: 'stop the app writing into the directory (maintenance mode, stop its workers), or raise quietBudgetMs, then run again',
    }),
  });
}
