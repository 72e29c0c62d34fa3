/**
 * How the ctime scan's stat walk (ctime-scan.ts changedSince) is split over one find per core: the last
 * record's directories, with the direct children it counted, are cut into units — a whole subtree (a
 * recursive find below it) where the subtree is small enough, else the directory's own listing (its
 * direct children) and its subdirectories' units — and the units are dealt to SPLIT.parts groups of about
 * equal entries (heaviest first, each to the lightest group). Every recorded directory is in exactly one
 * unit: a listing, or below exactly one subtree's top. The stat calls are the cost: on an idle 2-core
 * host two finds take half the time of one (100k entries: ~0.17 s → ~0.09 s), on a loaded one no more.
 */
import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { joinRel } from './paths.ts';

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
  const n = dirs.length;
  if (parts < 2 || n < 2) return undefined;
  const index = new Map<string, number>();
  for (let i = 0; i < n; i++) index.set(dirs[i]![0], i);
  const root = index.get('');
  if (root === undefined || index.size !== n) return undefined;
  // Arrays indexed as the record: a listing's stat calls (its children and itself), the parent, the children as linked lists.
  const own = new Float64Array(n), parent = new Int32Array(n).fill(-1), first = new Int32Array(n).fill(-1), next = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const [k, , c] = dirs[i]!;
    own[i] = (c ?? 1) + 1;
    if (i === root) continue;
    const slash = k.lastIndexOf('/');
    const p = index.get(slash < 0 ? '' : k.slice(0, slash));
    if (p === undefined) return undefined;
    parent[i] = p;
    next[i] = first[p]!;
    first[p] = i;
  }
  // Subtree sizes: the record lists a directory before those below it (manifest order, new ones appended
  // after their parents), so one pass from the end sums them (the sizes only weigh; the units do not depend on them being exact).
  const tree = Float64Array.from(own);
  for (let i = n - 1; i >= 0; i--) if (parent[i]! >= 0) tree[parent[i]!]! += tree[i]!;
  const total = tree[root]!;
  if (total < SPLIT.minEntries) return undefined;
  const target = total / (parts * 3);
  const units: Array<{ i: number; whole: boolean; w: number }> = [];
  const todo = [root];
  while (todo.length) {
    const d = todo.pop()!;
    let kids = 0;
    for (let c = first[d]!; c >= 0; c = next[c]!) kids++;
    // A directory without subdirectories is listed (its subtree is its listing): groups of leaves need one find each, not two.
    if (!kids) units.push({ i: d, whole: false, w: own[d]! });
    else if (tree[d]! <= target || units.length + todo.length + kids + 1 > UNIT_CAP) units.push({ i: d, whole: true, w: tree[d]! });
    else { units.push({ i: d, whole: false, w: own[d]! }); for (let c = first[d]!; c >= 0; c = next[c]!) todo.push(c); }
  }
  const out = Array.from({ length: parts }, () => ({ lists: [] as string[], trees: [] as string[], load: 0 }));
  for (const u of units.sort((a, b) => b.w - a.w)) {
    let g = 0;
    for (let j = 1; j < parts; j++) if (out[j]!.load < out[g]!.load) g = j;
    (u.whole ? out[g]!.trees : out[g]!.lists).push(dirs[u.i]![0]);
    out[g]!.load += u.w;
  }
  if (Math.max(...out.map((g) => g.load)) > total * 0.8) return undefined;
  return out.filter((g) => g.lists.length || g.trees.length).map(({ lists, trees }) => ({ lists, trees }));
}

/**
 * The split of a scan whose reference is later than the record's threshold (the freeze's quiet window:
 * ctime-scan.ts changedInWindow). splitPlan's units are enough for a reference at the record's threshold
 * only: a directory made since is printed there (its parent's ctime moved after the threshold), and the
 * narrowed pass lists it; against a later reference a directory made before the window is not printed,
 * and a write below it inside the window would be missed. So every directory a listed one holds now and
 * the record does not is walked whole too (one readdir of each listed directory, here): the root is
 * always listed, a listed directory's subdirectories are each recorded (a unit of their own) or added
 * here, and a whole subtree holds everything below it, so every directory of the live tree is in a unit,
 * whatever the record holds. A recorded directory gone fails its find (the caller runs the recursive one),
 * as it does here: undefined.
 */
export function livePlan(root: string, dirs: readonly RecordedDir[]): ScanPart[] | undefined {
  const plan = splitPlan(dirs);
  if (!plan) return undefined;
  const known = new Set(dirs.map(([k]) => k));
  const rootBuf = Buffer.from(root);
  let next = 0;
  for (const listed of plan.flatMap((g) => g.lists)) {
    let names;
    try {
      names = readdirSync(listed === '' ? rootBuf : joinRel(rootBuf, Buffer.from(listed, 'latin1')), { withFileTypes: true, encoding: 'buffer' });
    } catch {
      return undefined;
    }
    for (const d of names) {
      if (!d.isDirectory()) continue;
      const k = listed === '' ? d.name.toString('latin1') : `${listed}/${d.name.toString('latin1')}`;
      if (!known.has(k)) plan[next++ % plan.length]!.trees.push(k);
    }
  }
  return plan;
}
