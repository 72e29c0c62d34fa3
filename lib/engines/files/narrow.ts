/**
 * The narrowed export (the delta and final passes): the ctime scan (ctime-scan.ts) or, where it cannot
 * prove its answer, the quick scan named the directories whose direct children changed since the last
 * export; only those are re-read (stat, in Node) and merged into the last manifest (mergeNarrowed), whose
 * other entries are kept as they are, line for line, with their hashes. The quick scan's is exact, not a
 * guess: a directory whose children's records (type, size, mtime, ctime, mode, owner, inode, links,
 * link target) are byte for byte the last scan's holds nothing the manifest does not already record.
 * Anything it cannot name in one directory (a multiply-linked file in a re-read directory, whose first
 * name may live elsewhere; NFC target names) or a change too wide to be worth it → undefined: the caller
 * walks the whole tree. Hard links elsewhere are safe to keep: any change to a linked inode (content,
 * mode, a name added or removed) moves its ctime or link count, so every directory holding one of its
 * names is re-read, meets it and sends the pass to the whole walk.
 */
import { createHash } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fsyncDir } from '../../util/atomic-write.ts';
import { readHashedLines } from './hashes.ts';
import { entryToLine, writeLines, type ManifestEntry } from './manifest.ts';
import { comparePaths, joinRel } from './paths.ts';
import { hashFile } from './hash.ts';
import { changedDirs } from './quick-scan.ts';
import { emptyScanReport, fingerprintEntry, NeedsFullWalk, scanTree, type ScanReport } from './walk.ts';
import { assertNothingRefused } from './export.ts';
import { underAny } from './ctime-scan.ts';

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
    && a.ino === b.ino && !!a.sparse === !!b.sparse && Buffer.from(a.link ?? []).equals(Buffer.from(b.link ?? []));
}

/** The parent directory of a relative path, latin1 ('' = the root). */
export function parentKey(path: Buffer): string {
  const i = path.lastIndexOf(0x2f);
  return i < 0 ? '' : path.subarray(0, i).toString('latin1');
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
 * Merge the entries read again into the last manifest (rewritten in place, atomically): its entries
 * in the re-read directories (and below the dropped ones) are replaced, the others kept with their hashes.
 */
export async function mergeNarrowed(o: MergeOptions): Promise<NarrowResult> {
  const { fresh, found } = o;
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
  const dropped = (p: Buffer) => o.relisted.has(parentKey(p)) || (o.dropUnder.size > 0 && underAny(p.toString('latin1'), o.dropUnder));
  const fp = createHash('sha256');
  const rewritten: Buffer[] = [];
  let differs = false;
  // Lines of entries kept as they are go out as read; only entries read again are serialised.
  async function* merged(): AsyncGenerator<string> {
    let k = 0;
    const emit = (e: ManifestEntry) => { fingerprintEntry(fp, e); return entryToLine(e); };
    for await (const [old, line] of readHashedLines(o.manifest, o.artifactDir)) {
      while (k < fresh.length && comparePaths(fresh[k]!.path, old.path) < 0) { differs = true; count(fresh[k]!, 1); yield emit(fresh[k++]!); }
      if (!dropped(old.path)) { fingerprintEntry(fp, old); yield line; continue; }
      count(old, -1);
      const f = fresh[k];
      if (!f || comparePaths(f.path, old.path) !== 0) differs = true;
      if (f && comparePaths(f.path, old.path) === 0) {
        k++;
        count(f, 1);
        if (!sameRecord(old, f)) differs = true;
        // An unchanged file keeps its hash (same size, mtime and inode): only what changed is read by the copy.
        const same = old.type === 'file' && f.type === 'file' && old.sha256 && old.size === f.size && old.mtimeMs === f.mtimeMs && old.ino === f.ino;
        if (same && o.rehash?.paths.has(f.path.toString('latin1'))) {
          const sha256 = await hashFile(joinRel(Buffer.from(o.rehash.root), f.path), f.size).catch(() => undefined);
          if (sha256 !== old.sha256) { rewritten.push(f.path); differs = true; }
          yield emit(sha256 ? { ...f, sha256 } : f);
          continue;
        }
        yield emit(same ? { ...f, sha256: old.sha256! } : f);
      }
    }
    while (k < fresh.length) { differs = true; count(fresh[k]!, 1); yield emit(fresh[k++]!); }
  }
  // Written beside the manifest; it replaces it only when something differs (a directory read again for
  // a change in its stamp's own tick, or a touch, leaves the manifest, and what was recorded of it, as is).
  const next = `${o.manifest}.narrowed`;
  const entries = await writeLines(next, merged());
  if (!differs) { await rm(next, { force: true }); return { report: o.report, entries, fingerprint: fp.digest('hex'), scope: [], rewritten, unchanged: true }; }
  await rename(next, o.manifest);
  await fsyncDir(dirname(o.manifest));
  return { report, entries, fingerprint: fp.digest('hex'), scope: [...new Set([...o.relisted, ...o.dropUnder])], rewritten };
}
