/**
 * The narrowed export (the delta and final passes): the ctime scan (ctime-scan.ts) or, where it cannot
 * prove its answer, the quick scan named the directories whose direct children changed since the last
 * export; only those are re-read (stat, in Node) and merged into the last manifest (mergeNarrowed), whose
 * other entries are kept as they are, with their hashes: written as its delta (manifest-delta.ts, O(changes))
 * or, past the delta's share, as a whole new base beside it. The quick scan's is exact, not a
 * guess: a directory whose children's records (type, size, mtime, ctime, mode, owner, inode, links,
 * link target) are byte for byte the last scan's holds nothing the manifest does not already record.
 * Anything it cannot name in one directory (a multiply-linked file in a re-read directory, whose first
 * name may live elsewhere; NFC target names) or a change too wide to be worth it → undefined: the caller
 * walks the whole tree. Hard links elsewhere are safe to keep: any change to a linked inode (content,
 * mode, a name added or removed) moves its ctime or link count, so every directory holding one of its
 * names is re-read, meets it and sends the pass to the whole walk.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { HASHES_FILE, readHashedLines } from './hashes.ts';
import { entryToLine, lineToEntry, writeLines, type DeltaLine, type ManifestEntry } from './manifest.ts';
import { BASE_FRACTION, baseUnhashed, besideName, DELTA_MIN, hashIn, ManifestView, settleBase, SortedLines, writeDelta } from './manifest-delta.ts';
import { comparePaths, joinRel, parentKey } from './paths.ts';
import { hashFile } from './hash.ts';
import { changedDirs } from './quick-scan.ts';
import { emptyScanReport, NeedsFullWalk, scanTree, TreeFingerprint, type ScanReport } from './walk.ts';
import { assertNothingRefused } from './export.ts';
import { underAny } from './ctime-rescan.ts';

/** More re-read entries than this and the whole walk is as cheap: walk. */
export const NARROW_ENTRIES_CAP = 100_000;

export interface NarrowOptions {
  readonly storeId: string;
  readonly root: string;
  readonly artifactDir: string;
  readonly manifest: string;
  /** The last export's per-directory hashes and this scan's. */
  readonly before: ReadonlyMap<string, string>;
  readonly after: ReadonlyMap<string, string>;
  /** The last export's report (counts adjusted here; the name lists keep theirs and gain the re-read ones'). */
  readonly report: ScanReport;
  /** The last export's fingerprint and entries (see MergeOptions). */
  readonly fingerprint?: string | undefined;
  readonly entries?: number | undefined;
  readonly signal?: AbortSignal;
}

export interface NarrowResult {
  readonly report: ScanReport; readonly entries: number; readonly fingerprint: string; readonly scope: string[];
  /** Files whose content changed while their size, mtime and inode did not (see `rehash`). */
  readonly rewritten?: Buffer[];
  /** Every entry read again was the last manifest's: it was kept as it is (not rewritten). */
  readonly unchanged?: boolean;
}


/** Whether an entry read again records the same as the last manifest's (its hash aside). */
function sameRecord(a: ManifestEntry, b: ManifestEntry): boolean {
  return a.type === b.type && a.size === b.size && a.mode === b.mode && a.mtimeMs === b.mtimeMs && a.uid === b.uid && a.gid === b.gid
    && a.ino === b.ino && !!a.sparse === !!b.sparse && sameBytes(a.link, b.link);
}

/** Absent and empty alike (no Buffer made for the compare: it runs per entry of a re-read directory). */
const sameBytes = (x: Buffer | undefined, y: Buffer | undefined) => (x?.length ?? 0) === (y?.length ?? 0) && (!x?.length || x.equals(y!));

/** Whether `a` and `b` would be written as the same manifest line (and so fingerprint the same). */
function sameEntry(a: ManifestEntry, b: ManifestEntry): boolean {
  const links = (e: ManifestEntry) => (e.nlink !== undefined && e.nlink > 1 ? e.nlink : 0);
  return sameRecord(a, b) && a.sha256 === b.sha256 && links(a) === links(b) && sameBytes(a.targetPath, b.targetPath);
}

export async function narrowedExport(o: NarrowOptions): Promise<NarrowResult | undefined> {
  const { changed, gone } = changedDirs(o.before, o.after);
  if (changed.size + gone.size > Math.max(64, o.after.size / 4)) return undefined;
  const fresh: ManifestEntry[] = [];
  const found = emptyScanReport();
  try {
    for (const d of changed) {
      for (const { abs: _a, ...e } of scanTree(o.root, found, 'none', Buffer.from(d, 'latin1'))) {
        fresh.push(e);
        if (fresh.length > NARROW_ENTRIES_CAP) return undefined;
      }
      o.signal?.throwIfAborted();
    }
  } catch (e) {
    if (e instanceof NeedsFullWalk) return undefined;
    throw e;
  }
  fresh.sort((a, b) => comparePaths(a.path, b.path));
  return mergeNarrowed({ ...o, fresh, found, relisted: new Set([...changed, ...gone]), dropUnder: new Set() });
}

export interface MergeOptions {
  readonly storeId: string;
  readonly artifactDir: string;
  readonly manifest: string;
  /** The last export's report (counts adjusted here; the name lists keep theirs and gain the re-read ones'). */
  readonly report: ScanReport;
  /** The last export's fingerprint and entries (the delta updates them; without, the merge reads the whole manifest). */
  readonly fingerprint?: string | undefined;
  readonly entries?: number | undefined;
  /** The entries read again, in tree order, and what their scan found. */
  readonly fresh: readonly ManifestEntry[];
  readonly found: ScanReport;
  /** Directories whose direct children in the last manifest are replaced by `fresh`'s. */
  readonly relisted: ReadonlySet<string>;
  /** Directories whose whole subtree in the last manifest goes. */
  readonly dropUnder: ReadonlySet<string>;
  /**
   * Files whose inode changed (the ctime scan printed them; relative, latin1) under `root`: one that
   * kept its size, mtime and inode is hashed again (rewritten in place and touched back), not trusted.
   */
  readonly rehash?: { readonly root: string; readonly paths: ReadonlySet<string> };
}

/**
 * Merge the entries read again into the last manifest: its entries in the re-read directories (and below
 * the dropped ones) are replaced, the others kept with their hashes. Written as the manifest's delta
 * (manifest-delta.ts: O(changes)) where the base carries every hash and the delta stays small, else the
 * whole base is written anew (compacted) beside the manifest, which stays as the export wrote it.
 */
export async function mergeNarrowed(o: MergeOptions): Promise<NarrowResult> {
  const { found } = o;
  assertNothingRefused(o.storeId, found);
  const r = o.report;
  const report: ScanReport = {
    ...r, files: r.files, dirs: r.dirs, symlinks: r.symlinks, hardlinks: r.hardlinks, bytes: r.bytes,
    excluded: { count: r.excluded.count + found.excluded.count, bytes: r.excluded.bytes + found.excluded.bytes, items: [...r.excluded.items, ...found.excluded.items] },
    nfd: { count: r.nfd.count + found.nfd.count, items: [...r.nfd.items, ...found.nfd.items] },
    notUtf8: { count: r.notUtf8.count + found.notUtf8.count, items: [...r.notUtf8.items, ...found.notUtf8.items] },
    caseCollisions: { count: r.caseCollisions.count + found.caseCollisions.count, items: [...r.caseCollisions.items, ...found.caseCollisions.items] },
    refused: { count: 0, items: [] },
  };
  const count = (e: ManifestEntry, sign: 1 | -1) => {
    if (e.type === 'file') { report.files += sign; report.bytes += sign * e.size; } else if (e.type === 'dir') report.dirs += sign; else if (e.type === 'symlink') report.symlinks += sign; else report.hardlinks += sign;
  };
  const prior = TreeFingerprint.from(o.fingerprint);
  if (prior && o.entries !== undefined && baseUnhashed(o.manifest) === 0) {
    const d = await mergeAsDelta(o, count, prior, o.entries);
    if (d) return d.unchanged ? { ...d, report: o.report } : { ...d, report };
    // Undo the counts the attempt made: the whole merge counts again from the last report.
    Object.assign(report, { files: r.files, dirs: r.dirs, symlinks: r.symlinks, hardlinks: r.hardlinks, bytes: r.bytes });
  }
  return mergeWhole(o, report, count);
}

/** The last manifest's entries a narrowed pass replaces, by path (latin1): the re-read directories' direct children and everything below the dropped ones. */
function replacedEntries(view: ManifestView, o: { readonly relisted: ReadonlySet<string>; readonly dropUnder: ReadonlySet<string> }): Map<string, ManifestEntry> {
  const olds = new Map<string, ManifestEntry>();
  for (const d of o.relisted) for (const e of view.children(Buffer.from(d, 'latin1'))) olds.set(e.path.toString('latin1'), e);
  for (const d of o.dropUnder) for (const e of view.subtree(Buffer.from(d, 'latin1'))) olds.set(e.path.toString('latin1'), e);
  return olds;
}

/**
 * The fingerprint a narrowed export would record, computed without writing anything: the last
 * manifest's fingerprint with the records of the re-read directories' old children (and of the dropped
 * subtrees) taken out and the fresh ones put in (TreeFingerprint is order-free and holds no hashes, so
 * no file is read). What prove-quiet records inside the freeze when the app wrote since the last pass:
 * the directories that changed are listed again instead of the whole tree (a 100k-file tree: 2.6 s of
 * walk). Undefined when the fingerprint is of another format or a re-read entry is refused (the caller
 * walks, and the walk names it).
 */
export function narrowedFingerprint(o: { readonly manifest: string; readonly fingerprint: string; readonly fresh: readonly ManifestEntry[]; readonly found: ScanReport; readonly relisted: ReadonlySet<string>; readonly dropUnder: ReadonlySet<string> }): string | undefined {
  const fp = TreeFingerprint.from(o.fingerprint);
  if (!fp || o.found.refused.count) return undefined;
  const view = new ManifestView(o.manifest);
  try {
    for (const e of replacedEntries(view, o).values()) fp.remove(e);
    for (const f of o.fresh) fp.add(f);
    return fp.digest();
  } finally {
    view.close();
  }
}

/** The old entry's hash kept for a fresh one read again (same size, mtime and inode), or read again when the ctime scan printed it. */
async function keepHash(o: MergeOptions, old: ManifestEntry, f: ManifestEntry, rewritten: Buffer[]): Promise<{ entry: ManifestEntry; changed: boolean }> {
  const same = old.type === 'file' && f.type === 'file' && old.sha256 && old.size === f.size && old.mtimeMs === f.mtimeMs && old.ino === f.ino;
  if (!same) return { entry: f, changed: false };
  if (o.rehash?.paths.has(f.path.toString('latin1'))) {
    const sha256 = await hashFile(joinRel(Buffer.from(o.rehash.root), f.path), f.size).catch(() => undefined);
    if (sha256 !== old.sha256) { rewritten.push(f.path); return { entry: sha256 ? { ...f, sha256 } : f, changed: true }; }
    return { entry: { ...f, sha256 }, changed: false };
  }
  return { entry: { ...f, sha256: old.sha256! }, changed: false };
}

/**
 * The merge as a delta: the old entries of the re-read directories and dropped subtrees read from the
 * manifest by binary search, the changed ones written as its delta. Undefined when the delta would grow
 * past its share of the base, or an entry carried over has no hash (the caller compacts).
 */
async function mergeAsDelta(o: MergeOptions, count: (e: ManifestEntry, sign: 1 | -1) => void, fp: TreeFingerprint, entries: number): Promise<NarrowResult | undefined> {
  const key = (p: Buffer) => p.toString('latin1');
  const view = new ManifestView(o.manifest);
  const logFile = join(o.artifactDir, HASHES_FILE);
  const log = existsSync(logFile) ? new SortedLines(logFile) : undefined;
  try {
    const withHash = (e: ManifestEntry): ManifestEntry => {
      if (e.type !== 'file' || e.sha256 || !log) return e;
      const h = hashIn(log, e);
      return h ? { ...e, sha256: h } : e;
    };
    const olds = replacedEntries(view, o);
    const changes = new Map<string, DeltaLine>();
    const rewritten: Buffer[] = [];
    let added = 0, removed = 0;
    for (const f of o.fresh) {
      const k = key(f.path);
      const o0 = olds.get(k);
      if (!o0) { added++; count(f, 1); fp.add(f); changes.set(k, { path: f.path, line: entryToLine(f) }); continue; }
      olds.delete(k);
      const old = withHash(o0);
      const { entry } = await keepHash(o, old, f, rewritten);
      // Most of a re-read directory is as it was: counts and fingerprint would cancel out, no line to write.
      if (sameEntry(old, entry)) continue;
      count(f, 1); count(old, -1); fp.remove(old); fp.add(f);
      const line = entryToLine(entry);
      if (line !== entryToLine(old)) changes.set(k, { path: f.path, line });
    }
    for (const [k, old] of olds) { removed++; count(old, -1); fp.remove(old); changes.set(k, { path: old.path, line: undefined }); }
    if (!changes.size) return { report: o.report, entries, fingerprint: fp.digest(), scope: [], rewritten, unchanged: true };
    const next = new Map(view.delta);
    for (const [k, c] of changes) next.set(k, c);
    // Entries of earlier passes that the copy hashed since: their hash goes into the delta (the next scoped copy's log will not hold it).
    for (const [k, d] of next) {
      if (!d.line || changes.has(k)) continue;
      const e = lineToEntry(d.line);
      if (e.type !== 'file' || e.sha256) continue;
      const h = withHash(e);
      if (!h.sha256) return undefined;
      next.set(k, { path: d.path, line: entryToLine(h) });
    }
    if (next.size > Math.max(DELTA_MIN, entries * BASE_FRACTION)) return undefined;
    await writeDelta(o.manifest, [...next.values()].sort((a, b) => comparePaths(a.path, b.path)));
    return { report: o.report, entries: entries + added - removed, fingerprint: fp.digest(), scope: [...new Set([...o.relisted, ...o.dropUnder])], rewritten };
  } finally {
    view.close();
    log?.close();
  }
}

/** The merge written as a whole new base (beside the manifest), its delta folded in. */
async function mergeWhole(o: MergeOptions, report: ScanReport, count: (e: ManifestEntry, sign: 1 | -1) => void): Promise<NarrowResult> {
  const { fresh } = o;
  const dropped = (p: Buffer) => o.relisted.has(parentKey(p)) || (o.dropUnder.size > 0 && underAny(p.toString('latin1'), o.dropUnder));
  const fp = new TreeFingerprint();
  const rewritten: Buffer[] = [];
  let differs = false, unhashed = 0;
  // Lines of entries kept as they are go out as read; only entries read again are serialised.
  async function* merged(): AsyncGenerator<string> {
    let k = 0;
    const emit = (e: ManifestEntry) => { fp.add(e); if (e.type === 'file' && !e.sha256) unhashed++; return entryToLine(e); };
    for await (const [old, line] of readHashedLines(o.manifest, o.artifactDir)) {
      while (k < fresh.length && comparePaths(fresh[k]!.path, old.path) < 0) { differs = true; count(fresh[k]!, 1); yield emit(fresh[k++]!); }
      if (!dropped(old.path)) { fp.add(old); if (old.type === 'file' && !old.sha256) unhashed++; yield line; continue; }
      count(old, -1);
      const f = fresh[k];
      if (!f || comparePaths(f.path, old.path) !== 0) differs = true;
      if (f && comparePaths(f.path, old.path) === 0) {
        k++;
        count(f, 1);
        if (!sameRecord(old, f)) differs = true;
        // An unchanged file keeps its hash (same size, mtime and inode): only what changed is read by the copy.
        const { entry, changed } = await keepHash(o, old, f, rewritten);
        if (changed) differs = true;
        yield emit(entry);
      }
    }
    while (k < fresh.length) { differs = true; count(fresh[k]!, 1); yield emit(fresh[k++]!); }
  }
  // Written beside the manifest (the export's artifact, never rewritten after it: see BaseRecord in
  // manifest.ts); it becomes the base only when something differs (a directory read again for a change
  // in its stamp's own tick, or a touch, leaves the base, and what was recorded of it, as is).
  const next = besideName(o.manifest);
  const entries = await writeLines(next, merged());
  if (!differs) { await rm(next, { force: true }); return { report: o.report, entries, fingerprint: fp.digest(), scope: [], rewritten, unchanged: true }; }
  await settleBase(o.manifest, unhashed, next);
  return { report, entries, fingerprint: fp.digest(), scope: [...new Set([...o.relisted, ...o.dropUnder])], rewritten };
}
