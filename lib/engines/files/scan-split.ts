/**
 * How the ctime scan's stat walk (ctime-scan.ts changedSince) is split over one find per core: the last
 * record's directories, with the direct children it counted, are cut into units — a whole subtree (a
 * recursive find below it) where the subtree is small enough, else the directory's own listing (its
 * direct children) and its subdirectories' units — and the units are dealt to SPLIT.parts groups of about
 * equal entries (heaviest first, each to the lightest group). Every recorded directory is in exactly one
 * unit: a listing, or below exactly one subtree's top. The stat calls are the cost: on an idle 2-core
 * host two finds take half the time of one (100k entries: ~0.17 s → ~0.09 s), on a loaded one no more.
 */
import { availableParallelism } from 'node:os';

/** A directory of the last record: relative path (latin1, '' = the root), inode, direct children (absent in older records). */
export type RecordedDir = readonly [string, number, number?];

/** One find's share: directories listed (`-maxdepth 1`) and subtrees walked whole, below their tops. */
export interface ScanPart { readonly lists: string[]; readonly trees: string[] }

/**
 * When to split: at least `minEntries` recorded entries, `parts` finds (one per core, at most 4), and
 * `filesFrom` until a find without -files0-from (BSD find, GNU < 4.9) was met (then not tried again in
 * this process). Each unit is a starting point of its own (~3 µs in find), so at most UNIT_CAP of them.
 * Mutable for the tests, which split small trees.
 */
export const SPLIT = { minEntries: 20_000, parts: Math.min(4, availableParallelism()), filesFrom: true };
export const UNIT_CAP = 4096;

/** The groups, or undefined when one find is as good (a small tree, one core, a record that is not a tree, one unit doing most of it). */
export function splitPlan(dirs: readonly RecordedDir[]): ScanPart[] | undefined {
  const parts = SPLIT.parts;
  if (parts < 2) return undefined;
  const own = new Map<string, number>(); // a listing's stat calls: its children and itself
  for (const [k, , n] of dirs) own.set(k, (n ?? 1) + 1);
  if (!own.has('')) return undefined;
  const kids = new Map<string, string[]>();
  for (const k of own.keys()) {
    if (k === '') continue;
    const p = parentOf(k);
    if (!own.has(p)) return undefined;
    let l = kids.get(p);
    if (!l) kids.set(p, (l = []));
    l.push(k);
  }
  const tree = new Map(own);
  for (const k of [...own.keys()].sort((a, b) => depth(b) - depth(a))) if (k !== '') tree.set(parentOf(k), tree.get(parentOf(k))! + tree.get(k)!);
  const total = tree.get('')!;
  if (total < SPLIT.minEntries) return undefined;
  const target = total / (parts * 3);
  const units: Array<{ dir: string; whole: boolean; w: number }> = [];
  const todo = [''];
  while (todo.length) {
    const d = todo.pop()!;
    const c = kids.get(d) ?? [];
    // A directory without subdirectories is listed (its subtree is its listing): groups of leaves need one find each, not two.
    if (!c.length) units.push({ dir: d, whole: false, w: own.get(d)! });
    else if (tree.get(d)! <= target || units.length + todo.length + c.length + 1 > UNIT_CAP) units.push({ dir: d, whole: true, w: tree.get(d)! });
    else { units.push({ dir: d, whole: false, w: own.get(d)! }); todo.push(...c); }
  }
  const out = Array.from({ length: parts }, () => ({ lists: [] as string[], trees: [] as string[], load: 0 }));
  for (const u of units.sort((a, b) => b.w - a.w)) {
    let g = 0;
    for (let i = 1; i < parts; i++) if (out[i]!.load < out[g]!.load) g = i;
    (u.whole ? out[g]!.trees : out[g]!.lists).push(u.dir);
    out[g]!.load += u.w;
  }
  if (Math.max(...out.map((g) => g.load)) > total * 0.8) return undefined;
  return out.filter((g) => g.lists.length || g.trees.length).map(({ lists, trees }) => ({ lists, trees }));
}

const parentOf = (k: string) => { const i = k.lastIndexOf('/'); return i < 0 ? '' : k.slice(0, i); };
const depth = (k: string) => { let n = 0; for (let i = k.indexOf('/'); i >= 0; i = k.indexOf('/', i + 1)) n++; return k === '' ? -1 : n; };
