/** The ctime scan's split plan: every recorded directory in exactly one unit, groups of about equal entries, no split where one find is as good. */
import { afterEach, describe, expect, it } from 'vitest';
import { SPLIT, splitPlan, UNIT_CAP, type RecordedDir, type ScanPart } from '../../../../lib/engines/files/scan-split.ts';

const saved = { ...SPLIT };
afterEach(() => { Object.assign(SPLIT, saved); });

/** Each recorded directory's unit: a listing, or the subtree whose top is it or an ancestor. */
function coverage(plan: readonly ScanPart[], dirs: readonly RecordedDir[]): Map<string, number> {
  const lists = plan.flatMap((g) => g.lists), trees = plan.flatMap((g) => g.trees);
  const n = new Map<string, number>();
  for (const [k] of dirs) {
    let c = lists.filter((l) => l === k).length;
    c += trees.filter((t) => t === k || k.startsWith(`${t}/`) || t === '').length;
    n.set(k, c);
  }
  return n;
}

/** Each group's entries: its listings' own counts, its subtrees' whole. */
function loads(plan: readonly ScanPart[], dirs: readonly RecordedDir[]): number[] {
  const own = new Map(dirs.map(([k, , c]) => [k, (c ?? 1) + 1]));
  const under = (t: string) => dirs.filter(([k]) => k === t || k.startsWith(`${t}/`)).reduce((s, [k]) => s + own.get(k)!, 0);
  return plan.map((g) => g.lists.reduce((s, k) => s + own.get(k)!, 0) + g.trees.reduce((s, t) => s + under(t), 0));
}

describe('splitPlan', () => {
  it('a few large directories (the bench\'s tree): listings down to them, dealt in groups of about equal entries', () => {
    Object.assign(SPLIT, { minEntries: 1000, parts: 2 });
    const dirs: RecordedDir[] = [['', 1, 1], ['storage', 2, 2], ['storage/exports', 3, 101], ['storage/images', 4, 3]];
    for (const y of ['2021', '2022', '2023']) { dirs.push([`storage/images/${y}`, 5, 12]); for (let m = 1; m <= 12; m++) dirs.push([`storage/images/${y}/${String(m).padStart(2, '0')}`, 6, 2084]); }
    const plan = splitPlan(dirs)!;
    expect(plan).toHaveLength(2);
    expect([...coverage(plan, dirs).values()].every((c) => c === 1)).toBe(true);
    const [a, b] = loads(plan, dirs);
    expect(Math.abs(a! - b!) / (a! + b!)).toBeLessThan(0.05);
  });

  it('many small directories: whole subtrees, few starting points', () => {
    Object.assign(SPLIT, { minEntries: 1000, parts: 2 });
    const dirs: RecordedDir[] = [['', 1, 64]];
    for (let i = 0; i < 64; i++) { dirs.push([`h${i}`, 1, 16]); for (let j = 0; j < 16; j++) dirs.push([`h${i}/s${j}`, 1, 2]); }
    const plan = splitPlan(dirs)!;
    expect(plan.flatMap((g) => g.lists)).toEqual(['']);
    expect(plan.flatMap((g) => g.trees)).toHaveLength(64);
    expect([...coverage(plan, dirs).values()].every((c) => c === 1)).toBe(true);
    const [a, b] = loads(plan, dirs);
    expect(Math.abs(a! - b!) / (a! + b!)).toBeLessThan(0.05);
  });

  it('not split: a small tree, one core, one directory holding nearly everything, a record that is not a tree', () => {
    Object.assign(SPLIT, { minEntries: 1000, parts: 2 });
    expect(splitPlan([['', 1, 10], ['a', 2, 10]])).toBeUndefined();
    expect(splitPlan([['', 1, 2], ['a', 2, 5000], ['b', 3, 10]])).toBeUndefined();
    expect(splitPlan([['', 1, 2], ['a/b', 2, 5000], ['c', 3, 5000]])).toBeUndefined(); // 'a' missing
    expect(splitPlan([['a', 2, 5000], ['c', 3, 5000]])).toBeUndefined(); // no root
    expect(splitPlan([['', 1, 2], ['a', 2, 5000], ['c', 3, 5000]])).toHaveLength(2);
    Object.assign(SPLIT, { parts: 1 });
    expect(splitPlan([['', 1, 2], ['a', 2, 5000], ['c', 3, 5000]])).toBeUndefined();
  });

  it('older records without counts: one entry per directory assumed; more starting points than UNIT_CAP: one find', () => {
    Object.assign(SPLIT, { minEntries: 1000, parts: 2 });
    const nested: RecordedDir[] = [['', 1]];
    for (let i = 0; i < 100; i++) { nested.push([`d${i}`, 2]); for (let j = 0; j < 30; j++) nested.push([`d${i}/e${j}`, 3]); }
    const plan = splitPlan(nested)!;
    expect(plan.flatMap((g) => g.trees)).toHaveLength(100);
    expect([...coverage(plan, nested).values()].every((c) => c === 1)).toBe(true);
    const flat: RecordedDir[] = [['', 1], ...Array.from({ length: UNIT_CAP * 2 }, (_, i): RecordedDir => [`d${i}`, i + 2])];
    expect(splitPlan(flat)).toBeUndefined();
  });
});
