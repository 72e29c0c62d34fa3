/**
 * The ctime scan's second half (see ctime-scan.ts for why it misses nothing): the directories the
 * printed paths name, and the parents of printed entries, listed again (their direct children), and
 * below them every directory at a path the last record did not hold with that inode. Loaded only by a
 * pass whose scan printed something: an unchanged tree's pass never needs the walk.
 */
import { lstatSync } from 'node:fs';
import type { ManifestEntry } from './manifest.ts';
import { changedBefore } from './ctime-stamp.ts';
import { comparePaths, joinRel } from './paths.ts';
import { emptyScanReport, NeedsFullWalk, scanTree, type ScanReport } from './walk.ts';

/** More entries listed again than this: walk. */
export const RESCAN_CAP = 100_000;

export interface Rescan {
  /** The entries listed again, in tree order. */
  readonly fresh: ManifestEntry[];
  readonly found: ScanReport;
  /** Directories whose direct children are `fresh`'s (M's children of them go). */
  readonly relisted: Set<string>;
  /** Directories of M gone from their listed parent: their whole subtree in M goes. */
  readonly dropUnder: Set<string>;
  /** The directory inodes after this pass (M's, updated). */
  readonly dirs: Map<string, number>;
}

const key = (b: Buffer) => b.toString('latin1');
const parentOf = (k: string) => { const i = k.lastIndexOf('/'); return i < 0 ? '' : k.slice(0, i); };

/** True when a strict ancestor of `k` is in `set`. */
export function underAny(k: string, set: ReadonlySet<string>): boolean {
  if (!set.size) return false;
  for (let i = k.indexOf('/'); i >= 0; i = k.indexOf('/', i + 1)) if (set.has(k.slice(0, i))) return true;
  return set.has('') && k !== '';
}

/**
 * List again what the printed paths name (see the module comment). `stamp`: this pass's own; a
 * directory that changed after it (while this pass ran) has its inode recorded as not known, so the
 * next pass lists it again. A reason instead when only a whole walk can tell.
 */
export function rescan(root: string, printed: readonly Buffer[], dirs: ReadonlyMap<string, number>, stamp: { readonly ctimeMs: number; readonly thresholdMs: number }): Rescan | { reason: string } {
  const rootBuf = Buffer.from(root);
  const rootDev = lstatSync(root).dev;
  const queue = new Set<string>();
  for (const p of printed) {
    if (!p.length) { queue.add(''); continue; }
    const k = key(p);
    queue.add(parentOf(k));
    if (lstatSync(joinRel(rootBuf, p), { throwIfNoEntry: false })?.isDirectory()) queue.add(k);
  }
  const kids = new Map<string, string[]>(); // M's directories by parent
  for (const d of dirs.keys()) if (d !== '') { const p = parentOf(d); let l = kids.get(p); if (!l) kids.set(p, (l = [])); l.push(d); }
  const fresh = new Map<string, ManifestEntry>();
  const found = emptyScanReport();
  const relisted = new Set<string>();
  const dropUnder = new Set<string>();
  const seen = new Map<string, number>();
  // Ancestors first (a prefix sorts first).
  const todo = [...queue].sort();
  try {
    while (todo.length) {
      const d = todo.shift()!;
      if (relisted.has(d)) continue;
      relisted.add(d);
      const here = new Set<string>();
      for (const { abs, ...e } of scanTree(root, found, 'none', Buffer.from(d, 'latin1'))) {
        const k = key(e.path);
        fresh.set(k, e);
        if (fresh.size > RESCAN_CAP) return { reason: 'the change is too wide' };
        if (e.type !== 'dir') continue;
        const st = lstatSync(abs, { throwIfNoEntry: false });
        if (!st) continue;
        if (st.dev !== rootDev) return { reason: `a mount point inside the tree (${k})` };
        here.add(k);
        seen.set(k, changedBefore(st.ctimeMs, stamp) ? st.ino : 0);
        const known = dirs.get(k);
        // Not the directory M recorded at this path (new, moved in, replaced, or not known for sure): its children are listed too.
        if (!known || known !== st.ino) insertSorted(todo, k);
      }
      for (const c of kids.get(d) ?? []) if (!here.has(c)) dropUnder.add(c);
    }
  } catch (e) {
    if (e instanceof NeedsFullWalk) return { reason: e.message };
    throw e;
  }
  // Every directory M had below a gone one is in the pass's scope too (the target may still hold them).
  for (const k of dirs.keys()) if (underAny(k, dropUnder)) dropUnder.add(k);
  const next = new Map<string, number>();
  for (const [k, v] of dirs) if (!dropUnder.has(k) && !underAny(k, dropUnder) && !(relisted.has(parentOf(k)) && k !== '' && !seen.has(k))) next.set(k, v);
  for (const [k, v] of seen) next.set(k, v);
  if (!next.has('')) next.set('', dirs.get('') ?? 0);
  return { fresh: [...fresh.values()].sort((a, b) => comparePaths(a.path, b.path)), found, relisted, dropUnder, dirs: next };
}

function insertSorted(a: string[], k: string): void {
  let lo = 0, hi = a.length;
  while (lo < hi) { const m = (lo + hi) >> 1; if (a[m]! < k) lo = m + 1; else hi = m; }
  a.splice(lo, 0, k);
}
