/**
 * Freeze for files: ferry cannot stop an app writing into a directory, so it waits for quiet: the tree
 * is quiet when a stat-only scan shows no change across the whole quiet window. Nothing is changed on
 * the source, so there is nothing to thaw.
 */
import { FerryError } from '../../core/errors.ts';
import { treeFingerprint } from './export.ts';

export interface QuietOptions {
  readonly root: string;
  readonly windowMs: number;
  readonly budgetMs: number;
  readonly signal?: AbortSignal;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface QuietResult { readonly fingerprint: string; readonly quietAt: string; readonly scans: number }

export async function waitQuiet(o: QuietOptions): Promise<QuietResult> {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((res) => setTimeout(res, ms)));
  const end = now() + o.budgetMs;
  let before = (await treeFingerprint(o.root)).fingerprint;
  let scans = 1;
  for (;;) {
    o.signal?.throwIfAborted();
    await sleep(o.windowMs);
    const after = (await treeFingerprint(o.root)).fingerprint;
    scans++;
    if (after === before) return { fingerprint: after, quietAt: new Date().toISOString(), scans };
    before = after;
    if (now() >= end) {
      throw new FerryError('E_FILES_NOT_QUIET', `${o.root} kept changing: no quiet window of ${o.windowMs} ms within ${o.budgetMs} ms (${scans} scans)`, {
        hint: 'stop the app writing into the directory (maintenance mode, stop its workers), or raise quietBudgetMs, then run again',
      });
    }
  }
}
