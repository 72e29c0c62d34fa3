/**
 * Copy into a bind-mounted host directory, several files in flight. A regular file is read once on a copy
 * worker (copy-pool.ts), hashed from that read and written, at its name when that is new, else to a
 * temporary name beside it (`.ferry-tmp-<pid>-<n>`; at the root, `<target>/.ferry-staging/<n>`) renamed
 * over it, so a file the target held stays whole until replaced; its owner, mode and mtime are set last.
 * A killed run resumes by running again: an entry whose type, size and mtime already match is skipped (a
 * size match with another mtime is confirmed by hash; a part written at a new name has neither), and what
 * a killed run left under a temporary name is an extra the next run's target scan removes. Large files
 * go in ranges (copy-ranged.ts), sparse ones keep their holes (sparse.ts), links and directories are made
 * on the main thread.
 * What the target holds that the manifest does not (deleted on the source since the bulk pass) goes.
 */
import { constants, chmodSync, chownSync, lchownSync, lstatSync, mkdirSync, readlinkSync, renameSync, rmSync, symlinkSync, utimesSync, lutimesSync, linkSync, type Stats } from 'node:fs';
import { readdir, rm, mkdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FerryError } from '../../core/errors.ts';
import { freeBytes } from '../../util/free-bytes.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { hashFile } from './hash.ts';
import { HashLog, readHashedManifest } from './hashes.ts';
import { ExternalSort } from './external-sort.ts';
import { CHECK, COPY, DIR_OK, SKIP, SKIP_DIR, decisionFor, type Decision } from './decide.ts';
import { copySparse } from './sparse.ts';
import { DEFAULT_RANGES, isLarge, Slots, type RangeOptions } from './ranges.ts';
import { copyRanged } from './copy-ranged.ts';
import { CopyPool, INLINE_BYTES, INLINE_FILES, poolSize } from './copy-pool.ts';
import { forgetAllRanges, forgetRanges } from './copied.ts';
import { readManifest, readManifestSkipping, SKIPPED, targetPathOf, type ManifestEntry } from './manifest.ts';
import { orderedMap } from './ordered.ts';
import { comparePaths, joinRel, parentKey, showPath, targetOfPath } from './paths.ts';
import { emptyScanReport, scanTree, STAGING_DIR } from './walk.ts';

export interface CopyOptions {
  readonly sourceRoot: string;
  readonly manifest: string;
  readonly targetRoot: string;
  readonly owner?: { uid: number; gid: number } | undefined;
  readonly normalize: 'none' | 'nfc';
  readonly concurrency: number;
  /** `<stateDir>/copy-progress.json`. */
  readonly progressFile: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: { files: number; bytes: number }) => void;
  /**
   * The final pass's narrowing (see copied.ts ScopeRecord): only the direct children of these directories
   * (relative, latin1) may differ on the target; the rest is as the last complete copy left it.
   */
  readonly scope?: ReadonlySet<string> | undefined;
  /** Large files in ranges (ranges.ts): the size from which a file is cut, and the range size. */
  readonly ranges?: RangeOptions | undefined;
  /** Copy worker threads (copy-pool.ts poolSize): default one per core. */
  readonly workers?: number | undefined;
}

export interface CopyResult {
  readonly entries: number;
  /** Files written (new or changed). */
  readonly copied: number;
  readonly bytes: number;
  /** Entries already right on the target. */
  readonly skipped: number;
  /** Entries whose owner, mode or mtime alone were fixed. */
  readonly fixed: number;
  /** Target paths removed because the source no longer has them. */
  readonly removed: readonly string[];
  /** Large files copied in ranges: how many, their ranges, those copied by this run and those a killed run left intact. */
  readonly ranged?: { readonly files: number; readonly ranges: number; readonly copied: number; readonly kept: number };
  /** Into a volume: the `tar -x` that wrote the files side by side (copy-volume.ts LANES), when more than one. */
  readonly tarStreams?: number;
}

/** A whole file's temporary name beside its destination: `.ferry-tmp-<pid>-<n>` (an extra to the next run's target scan). */
export const TMP_PREFIX = '.ferry-tmp-';
/**
 * Entries in flight per slot of `concurrency` (most of them queued on the copy workers): 256 at the
 * default 8, so each worker has batches queued behind the one it copies while the main thread takes the
 * replies in order and refills (at 64 in flight, one batch a worker, both waited for the slower one and
 * for the refill: scale 100 with two workers, 4 alternating runs each, copy 8.6-14.3 s / 14.2-20.8
 * CPU-s at 8 a slot, 7.1-11.1 s / 14.1-21.9 CPU-s at 32, three of four runs at 7.1-7.7 s). The entries
 * cost no young generation since it is held (young-gen.ts), ~0.1 MB in all.
 */
const WINDOW_PER_SLOT = 32;

/** A file's mtime as ferry sets it: mid-millisecond, so the whole milliseconds read back unchanged. */
export function mtimeSeconds(ms: number): number {
  return (ms + 0.5) / 1000;
}

/** Manifest entries in the target's order (differs from the source's only when names are normalised), with the copy's hashes when `hashesIn` names the artifact directory. */
export async function* byTargetPath(manifest: string, normalize: 'none' | 'nfc', hashesIn?: string): AsyncGenerator<ManifestEntry> {
  const entries = hashesIn ? readHashedManifest(manifest, hashesIn) : readManifest(manifest);
  if (normalize === 'none') { yield* entries; return; }
  const sorter = new ExternalSort({ key: targetPathOf }); // bounded runs: memory stays flat
  for await (const e of entries) await sorter.add(e);
  yield* sorter.sorted();
}

export async function copyToBind(o: CopyOptions): Promise<CopyResult> {
  const pool = new CopyPool(poolSize(o.concurrency, o.workers));
  try { return await copyWith(o, pool); } finally { await pool.close(); }
}

/**
 * The first copy streamed from the export's walk (export.ts `stream`, engine.ts): into a target
 * directory that holds nothing yet, every entry is copied as the walk yields it (the walk and the copy
 * overlap, as tar's and rsync's do), with `size` (find's count, made before a byte moves) for the
 * copy pool's plan. Nothing to compare with on the target: every entry is a COPY. The hash log is the
 * import's (the export's manifest lacks the hashes; engine.ts folds them in).
 */
export async function copyStreamToBind(o: Omit<CopyOptions, 'manifest' | 'scope'> & { artifactDir: string; entries: AsyncIterable<ManifestEntry>; size: { files: number; bytes: number } }): Promise<CopyResult> {
  const pool = new CopyPool(poolSize(o.concurrency, o.workers));
  try {
    await mkdir(o.targetRoot, { recursive: true });
    pool.plan(o.size.files, o.size.bytes);
    const r = await copyEntries(o, pool, {
      decisionOf: () => COPY, logDir: o.artifactDir, sparseLog: false, removed: 0,
      entries: async function* (c) { for await (const e of o.entries) yield [e, c.entries++] as const; },
    });
    return { ...r, removed: [] };
  } finally {
    await pool.close();
  }
}

async function copyWith(o: CopyOptions, pool: CopyPool): Promise<CopyResult> {
  const root = Buffer.from(o.targetRoot);
  await mkdir(o.targetRoot, { recursive: true });
  // 1. What is there already: one scan of the target, merged with the manifest. It yields the bytes to
  // copy (for the space check), the extras to remove, and a decision per entry, so the copy pass does not
  // stat the target again (a delta pass over an unchanged tree is this scan and nothing else).
  const extras: Buffer[] = [];
  let need = 0, toCopy = 0;
  // Workers start while the rest is decided, once the copy is past what runs on this thread (copy-pool.ts INLINE_FILES).
  const willCopy = (size: number) => { need += size; if (++toCopy > INLINE_FILES || need > INLINE_BYTES) pool.warm(); };
  const own = (e: ManifestEntry) => o.owner ?? { uid: e.uid, gid: e.gid };
  let decisions = new Uint8Array(1024);
  const decide = (i: number, d: Decision) => {
    if (i >= decisions.length) { const n = new Uint8Array(decisions.length * 2); n.set(decisions); decisions = n; }
    decisions[i] = d;
  };
  {
    const exact = o.normalize === 'none'; // the manifest's order is the target's: decisions by index
    const scope = exact ? o.scope : undefined;
    // Scoped: the lines outside the scope are not even parsed (SKIPPED keeps the positions).
    const want = (scope ? readManifestSkipping(o.manifest, outsideOf(scope)) : byTargetPath(o.manifest, o.normalize))[Symbol.asyncIterator]();
    let head = await want.next();
    let i = 0;
    const listing = scope ? scopedListing(o.targetRoot, scope) : undefined;
    const missing = () => {
      if (head.value === SKIPPED) { decide(i, SKIP); return; }
      const e = head.value!;
      // Outside the scope: as the last copy left it. A scoped directory itself is checked (its mtime moves with its children).
      if (scope && !scope.has(parentKey(e.path))) { decide(i, e.type === 'dir' && scope.has(e.path.toString('latin1')) ? CHECK : SKIP); return; }
      if (e.type === 'file') willCopy(e.size);
      if (exact) decide(i, COPY);
    };
    for (const t of listing ?? scanTree(o.targetRoot, emptyScanReport())) {
      // A SKIPPED line is outside the scope: never a listed entry (those are the scope's children).
      while (!head.done && (head.value === SKIPPED || comparePaths(targetPathOf(head.value), t.path) < 0)) { missing(); head = await want.next(); i++; }
      if (!head.done && head.value !== SKIPPED && comparePaths(targetPathOf(head.value), t.path) === 0) {
        const e = head.value;
        if (e.type === 'file' && !(t.type === 'file' && t.size === e.size)) willCopy(e.size);
        if (exact) decide(i, decisionFor(e, t, own(e), o.normalize));
        head = await want.next(); i++;
      } else if (!extras.some((x) => isUnder(t.path, x))) extras.push(t.path);
    }
    for (; !head.done; head = await want.next(), i++) missing();
  }
  pool.plan(toCopy, need);
  const avail = await freeBytes(o.targetRoot);
  if (need > avail) {
    throw new FerryError('E_FILES_NO_SPACE', `target ${o.targetRoot} has ${mib(avail)} free, the copy needs ${mib(need)} more`, {
      hint: 'free space on the target filesystem (or point the store at a larger one), then run again; nothing was copied',
    });
  }
  for (const x of extras) rmSync(joinRel(root, x), { recursive: true, force: true });
  // 2. The copy, in the manifest's order. Scoped (the final pass): what lies outside the scope is
  // skipped here, not stepped nor logged (see copyEntries).
  const scope = o.normalize === 'none' ? o.scope : undefined;
  const r = await copyEntries(o, pool, {
    decisionOf: (i) => (decisions[i] ?? CHECK) as Decision, logDir: dirname(o.manifest), sparseLog: scope !== undefined, removed: extras.length,
    entries: async function* (c) {
      for await (const e of scope ? readManifestSkipping(o.manifest, outsideOf(scope)) : readManifest(o.manifest)) {
        const i = c.entries++;
        // Up to date in the scope with its hash in the manifest: nothing to step, nothing to log.
        if (e === SKIPPED || (scope && decisions[i] === SKIP && (!scope.has(parentKey(e.path)) || e.type !== 'file' || e.sha256))) { c.skipped++; continue; }
        yield [e, i] as const;
      }
    },
  });
  return { ...r, removed: extras.map(showPath) };
}

/** The counts a copy keeps as it goes (its entries source counts `entries` and what it skips unstepped). */
interface Counts { entries: number; skipped: number }

/**
 * Copy `entries` (in tree order, each with its index for `decisionOf`) into the target: the copy proper,
 * the manifest's or the export's stream (copyStreamToBind) alike.
 */
async function copyEntries(o: Omit<CopyOptions, 'manifest'>, pool: CopyPool, x: {
  decisionOf: (i: number) => Decision; logDir: string; sparseLog: boolean; removed: number;
  entries: (c: Counts) => AsyncIterable<readonly [ManifestEntry, number]>;
}): Promise<Omit<CopyResult, 'removed'>> {
  const root = Buffer.from(o.targetRoot);
  const own = (e: ManifestEntry) => o.owner ?? { uid: e.uid, gid: e.gid };
  // The root is the app's too: its owner and the source root's mode.
  const srcRoot = lstatSync(o.sourceRoot);
  chownSync(o.targetRoot, o.owner?.uid ?? srcRoot.uid, o.owner?.gid ?? srcRoot.gid);
  chmodSync(o.targetRoot, srcRoot.mode & 0o7777);
  const staging = join(o.targetRoot, STAGING_DIR);
  // A killed run's partials of large files stay (`ranges/`, resumed from their records); the rest goes.
  await mkdir(staging, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'EEXIST') throw err; });
  for (const n of await readdir(staging)) if (n !== 'ranges') await rm(join(staging, n), { recursive: true, force: true });
  const stateDir = dirname(o.progressFile);
  const rangeOpts = o.ranges ?? DEFAULT_RANGES;
  const slots = new Slots(o.concurrency);
  // Large files started at once: each holds its hash's 1 MiB buffer and two descriptors from its start
  // (its ranges wait for slots), so the window (WINDOW_PER_SLOT a slot) must not start one per entry.
  const largeFiles = new Slots(o.concurrency);
  const ranged = { files: 0, ranges: 0, copied: 0, kept: 0 };
  const counts: Counts = { entries: 0, skipped: 0 };
  let seq = 0, copied = 0, bytes = 0, fixed = 0;
  const dirs: ManifestEntry[] = [];
  const hardlinks: ManifestEntry[] = [];
  let lastSave = Date.now();
  // What a step leaves for the in-order pass: the hash of a file it read (copy, or confirmed by hash).
  type Done = { e: ManifestEntry; sha256?: string | undefined };
  const step = async ([e, i]: readonly [ManifestEntry, number]): Promise<Done> => {
    o.signal?.throwIfAborted();
    const d = x.decisionOf(i);
    if (d === SKIP) { counts.skipped++; return { e }; }
    if (d === DIR_OK || d === SKIP_DIR) { dirs.push(e); return { e }; }
    const dest = joinRel(root, targetPathOf(e));
    const st = d === COPY ? null : lstatOrNull(dest);
    const { uid, gid } = own(e);
    if (e.type === 'dir') {
      if (st && !st.isDirectory()) rmSync(dest, { force: true });
      if (!st || !st.isDirectory()) mkdirSync(dest, { mode: 0o700 });
      chownSync(dest, uid, gid);
      dirs.push(e);
      return { e };
    }
    if (e.type === 'hardlink') { hardlinks.push(e); return { e }; }
    if (e.type === 'symlink') {
      if (st?.isSymbolicLink() && readlinkSync(dest, { encoding: 'buffer' }).equals(e.link!)) {
        if (st.uid !== uid || st.gid !== gid) { lchownSync(dest, uid, gid); fixed++; } else counts.skipped++;
        return { e };
      }
      const tmp = join(staging, `${seq++}`);
      symlinkSync(e.link!, tmp);
      lchownSync(tmp, uid, gid);
      lutimesSync(tmp, mtimeSeconds(e.mtimeMs), mtimeSeconds(e.mtimeMs));
      replace(tmp, dest, st);
      copied++;
      return { e };
    }
    if (st?.isFile() && st.size === e.size) {
      const sameTime = Math.floor(st.mtimeMs) === e.mtimeMs;
      // Another mtime with the same size: the same content when the hashes agree (the source's from the
      // manifest, else read now: it goes to the hash log either way), and only the metadata is fixed.
      // (In a slot: the window holds many more entries than files may be read at once.)
      const want = sameTime ? undefined : e.sha256 ?? await slots.run(() => hashFile(joinRel(Buffer.from(o.sourceRoot), e.path), e.size, o.signal));
      const sha = want && (await slots.run(() => hashFile(dest, st.size, o.signal))) === want ? want : undefined;
      if (sameTime || sha) {
        const metaOk = sameTime && (st.mode & 0o7777) === e.mode && st.uid === uid && st.gid === gid;
        if (metaOk) { counts.skipped++; return { e }; }
        chownSync(dest, uid, gid); chmodSync(dest, e.mode); utimesSync(dest, mtimeSeconds(e.mtimeMs), mtimeSeconds(e.mtimeMs));
        fixed++;
        return { e, sha256: sha || undefined };
      }
    }
    const src = joinRel(Buffer.from(o.sourceRoot), e.path);
    if (!e.sparse && !isLarge(e, rangeOpts)) {
      // The common case: the whole file on a copy worker, renamed into place there (a directory in the way goes).
      const slash = dest.lastIndexOf(0x2f);
      const tmp = slash > root.length ? Buffer.concat([dest.subarray(0, slash + 1), Buffer.from(`${TMP_PREFIX}${process.pid}-${seq++}`)]) : Buffer.from(join(staging, `${seq++}`));
      const c = await pool.copy({ src, dest, tmp, size: e.size, mode: e.mode, mtime: mtimeSeconds(e.mtimeMs), uid, gid });
      copied++;
      bytes += c.bytes;
      o.onProgress?.({ files: copied, bytes });
      if (Date.now() - lastSave > 2000) { lastSave = Date.now(); await saveProgress(o.progressFile, { entries: counts.entries, copied, bytes, skipped: counts.skipped, fixed, done: false }); }
      return { e, sha256: c.bytes === e.size ? c.sha256 : undefined };
    }
    // A large file in ranges (two in flight, each holding a slot), resumed range by range (copy-ranged.ts).
    const r = isLarge(e, rangeOpts) ? await largeFiles.run(() => copyRanged({
      src, staging, stateDir, entry: e, targetPath: targetPathOf(e), rangeBytes: rangeOpts.rangeBytes, slots, signal: o.signal,
      onRange: (n) => { bytes += n; o.onProgress?.({ files: copied, bytes }); },
    })) : undefined;
    const tmp = r?.file ?? join(staging, `${seq++}`);
    // Else a sparse file: its data pieces written, its holes left (sparse.ts).
    const c = r ? { sha256: r.sha256, bytes: e.size } : await slots.run(() => copySparse(src, tmp, e.size));
    chownSync(tmp, uid, gid); chmodSync(tmp, e.mode); utimesSync(tmp, mtimeSeconds(e.mtimeMs), mtimeSeconds(e.mtimeMs));
    replace(tmp, dest, d === COPY ? lstatOrNull(dest) : st);
    copied++;
    if (r) {
      await forgetRanges(stateDir, basename(r.file));
      ranged.files++; ranged.ranges += r.ranges; ranged.copied += r.copied; ranged.kept += r.kept;
    } else bytes += c.bytes;
    o.onProgress?.({ files: copied, bytes });
    if (Date.now() - lastSave > 2000) { lastSave = Date.now(); await saveProgress(o.progressFile, { entries: counts.entries, copied, bytes, skipped: counts.skipped, fixed, done: false }); }
    // A file that changed size since the export: its hash is not the manifest entry's (verify names it).
    return { e, sha256: c.bytes === e.size ? c.sha256 : undefined };
  };
  // In tree order: every regular file's sha256 goes to the hash log (read while copying, else already
  // known from an earlier pass, else read now: a file a killed run copied after its last logged line).
  // Scoped (the final pass): the narrowed manifest carries the hashes of what lies outside the scope
  // (merged from the last log), the log gets what the manifest carries no hash for; the last logs are
  // searched for the few it asks (not read from their start).
  const log = await HashLog.start(x.logDir, { sparse: x.sparseLog });
  try {
    // The window: whole files wait in the workers' queues (they copy poolSize at a time); ranged and
    // sparse files and hash checks take the slots (o.concurrency at a time).
    for await (const { e, sha256 } of orderedMap(x.entries(counts), o.concurrency * WINDOW_PER_SLOT, step)) {
      if (e.type !== 'file') continue;
      const known = sha256 ?? await log.knownHash(e);
      const sha = known ?? await hashFile(joinRel(Buffer.from(o.sourceRoot), e.path), e.size, o.signal).catch(() => undefined);
      if (sha) await log.add(e, sha); // scoped, the log keeps only what the manifest lacks (HashLog sparse)
    }
  } catch (err) {
    await log.abandon();
    throw err;
  }
  for (const e of hardlinks) {
    const dest = joinRel(root, targetPathOf(e));
    const first = joinRel(root, targetOfPath(e.link!, o.normalize));
    const st = lstatOrNull(dest), fst = lstatSync(first);
    if (st && st.ino === fst.ino && st.dev === fst.dev) { counts.skipped++; continue; }
    const tmp = join(staging, `${seq++}`);
    linkSync(first, tmp);
    replace(tmp, dest, st);
    copied++;
  }
  // Directories last, deepest first: writing their children moved their mtimes. (An idle pass wrote
  // nothing; a directory whose mode or mtime alone differs is a CHECK, not DIR_OK.)
  for (let i = dirs.length - 1; i >= 0; i--) {
    const e = dirs[i]!;
    const dest = joinRel(root, targetPathOf(e));
    chmodSync(dest, e.mode);
    utimesSync(dest, mtimeSeconds(e.mtimeMs), mtimeSeconds(e.mtimeMs));
  }
  await rm(staging, { recursive: true, force: true });
  await forgetAllRanges(stateDir);
  await log.finish();
  const result = { entries: counts.entries, copied, bytes, skipped: counts.skipped, fixed, ...(ranged.files ? { ranged } : {}) };
  await saveProgress(o.progressFile, { ...result, removed: x.removed, done: true });
  return result;
}

/** A plain-ASCII manifest path outside the scope: neither a scoped directory nor one of their children. */
function outsideOf(scope: ReadonlySet<string>): (path: string) => boolean {
  return (path) => { const k = path.lastIndexOf('/'); return !scope.has(k < 0 ? '' : path.slice(0, k)) && !scope.has(path); };
}

/** The target's entries that are direct children of the scoped directories, in tree order. */
function scopedListing(root: string, scope: ReadonlySet<string>): Array<ManifestEntry & { abs: Buffer }> {
  const out: Array<ManifestEntry & { abs: Buffer }> = [];
  const report = emptyScanReport();
  // A target file with other names (a source hard link since split) is compared as a file: a copy renames a new one in.
  for (const d of scope) for (const e of scanTree(root, report, 'none', Buffer.from(d, 'latin1'), { linksAsFiles: true })) out.push(e);
  return out.sort((a, b) => comparePaths(a.path, b.path));
}

function isUnder(path: Buffer, dir: Buffer): boolean {
  return path.length > dir.length && path[dir.length] === 0x2f && path.subarray(0, dir.length).equals(dir);
}

function lstatOrNull(p: Buffer): Stats | null {
  return lstatSync(p, { throwIfNoEntry: false }) ?? null;
}

/** Rename `tmp` over `dest`; a directory in the way (the type changed on the source) goes first. */
function replace(tmp: string, dest: Buffer, st: Stats | null): void {
  if (st?.isDirectory()) rmSync(dest, { recursive: true, force: true });
  renameSync(tmp, dest);
}

async function saveProgress(file: string, data: Record<string, unknown>): Promise<void> {
  await writeFileAtomic(file, JSON.stringify({ ...data, at: new Date().toISOString() }) + '\n');
}

function mib(n: number): string {
  return `${(n / 1048576).toFixed(1)} MiB`;
}
