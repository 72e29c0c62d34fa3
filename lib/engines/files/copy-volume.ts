/**
 * Copy into a named volume: a tar stream through a helper container (a large copy through the FIFO:
 * one per core side by side, LANES). The volume is listed first
 * (`find -printf`, and its free space), so a re-run — or a run after a kill — sends only entries whose
 * type, size, mtime, mode or owner differ (tar sets a file's mtime after its last byte, so a file cut
 * by a kill never looks done), and removes what the source no longer has. Sparse files get their holes
 * back with `fallocate --dig-holes` in the helper. A large file a kill left cut is resumed after its
 * intact leading ranges instead of sent again (resume-volume.ts, which says why ranges in flight do not
 * apply to a tar stream).
 */
import { lstat, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { availableParallelism } from 'node:os';
import { feedThroughFifo, feedThroughFifos, STREAM_MOUNT, volumeStream } from './fifo.ts';

/**
 * Chunks of the tar stream (≈ 1 MiB each) made ahead of the FIFO's writes (fifo.ts writeInOrder): the
 * pipe itself holds 64 KiB, so these carry the stream through the stalls of either side. Scale 20 of the
 * files bench (20k files, 857 MB into an empty volume), 4 alternating copies in one run: the import took
 * 5.42 / 5.87 s with one chunk ahead, 5.20 / 5.22 s with 7; the buffers add ~14 MB (peak RSS 99-109 MB).
 */
export const FIFO_AHEAD = 7;

/**
 * A copy sending at least `minEntries` entries or `minBytes` bytes through the FIFO goes over `parts`
 * tars side by side (tar-lanes.ts; one per core, at most 4): the directories first, then the files and
 * symlinks dealt over the lanes, then the hard links and the directories again (their modes and
 * mtimes, which the files written into them moved). Not when the tree has more than `maxStructure`
 * directories and hard links (they are held in memory for the two phases). Mutable for the tests.
 */
export const LANES = { parts: Math.min(4, availableParallelism()), minEntries: 1000, minBytes: 256 << 20, maxStructure: 50_000 };

/** The removals the tar helper makes first, beside the FIFO (NUL-separated paths). */
const EXTRAS_FILE = 'extras';
import { FerryError } from '../../core/errors.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import type { CopyOptions, CopyResult } from './copy-bind.ts';
import { FIND_SCRIPT, HELPER_MOUNT, runHelper, VOLUME_FIND_FORMAT, waitHelpersGone, type HelperSpec } from './helper.ts';
import { targetPathOf, type ManifestEntry } from './manifest.ts';
import { comparePaths, joinRel, parentKey, showPath, targetOfPath } from './paths.ts';
import { byTargetPath } from './copy-bind.ts';
import { HashLog } from './hashes.ts';
import { hashFile } from './hash.ts';
import { VolumeListing } from './volume-list.ts';
import { paxMs } from './tar-read.ts';
import { tarStream, type TarItem } from './tar-write.ts';
import { TarLanes } from './tar-lanes.ts';
import { DEFAULT_RANGES } from './ranges.ts';
import { checkCutFiles, cutRanges, writeRemainders, type CutFile } from './resume-volume.ts';

export interface VolumeCopyOptions extends Omit<CopyOptions, 'targetRoot'> {
  readonly helper: HelperSpec;
  /** How the tar stream reaches the helper: a FIFO in the store's state directory (default where the engine shares this kernel) or its stdin. */
  readonly stream?: 'fifo' | 'stdin';
}

export interface VolumeStat { type: string; size: number; mtimeMs: number; mode: number; uid: number; gid: number; ino: number; nlink: number; sparse: boolean; link: Buffer; seen?: boolean }

const FIND_FORMAT = VOLUME_FIND_FORMAT;
export { FIND_SCRIPT };
const LIST_SCRIPT = `df -P -B1 ${HELPER_MOUNT} | awk 'NR==2{print $4}'; ${FIND_SCRIPT}`;

/** Parse `FIND_SCRIPT` records from `out` starting at `i`, up to a record whose type is `X` or the end. */
export function parseFind(out: Buffer, start: number, add: (path: Buffer, s: VolumeStat) => void): number {
  let i = start;
  const field = (): Buffer => { const j = out.indexOf(0, i); const f = out.subarray(i, j < 0 ? out.length : j); i = j < 0 ? out.length : j + 1; return f; };
  const num = () => Number(field().toString('latin1'));
  while (i < out.length) {
    const type = field().toString('latin1');
    if (type === 'X') return i;
    const size = num(), mtimeMs = paxMs(field().toString('latin1'));
    const mode = parseInt(field().toString('latin1'), 8), uid = num(), gid = num(), ino = num(), nlink = num(), sparseness = num();
    const link = Buffer.from(field()), path = Buffer.from(field());
    add(path, { type, size, mtimeMs, mode, uid, gid, ino, nlink, sparse: type === 'f' && size > 0 && sparseness < 1, link });
  }
  return i;
}

// The scoped listing (the final pass): the direct children of each directory named on stdin (NUL-separated, '.' = the root).
const SCOPED_FIND = `for d; do if [ "$d" = . ]; then find . -mindepth 1 -maxdepth 1 -printf '${FIND_FORMAT}'; elif [ -d "$d" ] && [ ! -L "$d" ]; then find "$d" -mindepth 1 -maxdepth 1 -printf '${FIND_FORMAT.replace('%P', '%p')}'; fi; done`;
const SCOPED_LIST_SCRIPT = `df -P -B1 ${HELPER_MOUNT} | awk 'NR==2{print $4}'; cd ${HELPER_MOUNT} && xargs -0 -r sh -c "$1" sh`;

/** The volume's free bytes and its entries in tree order (parsed as they arrive, sorted externally); with a scope, only the scoped directories' children. */
async function listVolumeSorted(helper: HelperSpec, signal?: AbortSignal, scope?: ReadonlySet<string>): Promise<{ avail: number; entries: AsyncGenerator<ManifestEntry> }> {
  let avail = NaN;
  const listing = new VolumeListing(undefined, (line) => { avail = Number(line.toString('latin1')); });
  const input = scope ? [Buffer.concat([...scope].flatMap((d) => [d ? Buffer.from(d, 'latin1') : Buffer.from('.'), Buffer.alloc(1)]))] : undefined;
  await runHelper({
    h: helper, cmd: scope ? ['sh', '-c', SCOPED_LIST_SCRIPT, 'sh', SCOPED_FIND] : ['sh', '-c', LIST_SCRIPT], readOnly: true, what: 'list the volume',
    output: (s) => listing.consume(s), ...(input ? { input } : {}), ...(signal ? { signal } : {}),
  });
  return { avail, entries: listing.entries() };
}

/** True when the volume already holds `e` as it should be (`first`: the target entry of a hard link's first name). */
function upToDate(e: ManifestEntry, t: ManifestEntry | undefined, uid: number, gid: number, first?: ManifestEntry): boolean {
  if (!t || t.uid !== uid || t.gid !== gid) return false;
  if (e.type === 'dir') return t.type === 'dir' && t.mode === e.mode && t.mtimeMs === e.mtimeMs;
  if (e.type === 'symlink') return t.type === 'symlink' && Buffer.from(t.link ?? []).equals(e.link!);
  if (e.type === 'hardlink') return t.type === 'hardlink' && first !== undefined && Buffer.from(t.link ?? []).equals(first.path);
  return t.type === 'file' && t.size === e.size && t.mtimeMs === e.mtimeMs && t.mode === e.mode;
}

// Punching holes moves the mtime: put it back (stat's %y keeps the nanoseconds).
const DIG_HOLES = `'for f; do t=$(stat -c %y "$f") && fallocate --dig-holes "$f" && touch -d "$t" "$f" || exit 1; done'`;

export async function copyToVolume(o: VolumeCopyOptions): Promise<CopyResult> {
  await waitHelpersGone(o.helper, 60_000, o.signal); // a killed run's helper may still be draining its stream
  const scope = o.normalize === 'none' ? o.scope : undefined;
  const { avail, entries } = await listVolumeSorted(o.helper, o.signal, scope);
  const own = (e: ManifestEntry) => o.owner ?? { uid: e.uid, gid: e.gid };
  // One merge of the manifest (target order) with the sorted listing: a bit per entry (up to date),
  // the bytes to send (for the space check) and what the source no longer has.
  let need = 0, toSend = 0, n = 0;
  let fresh = new Uint8Array(1024);
  const extras: Buffer[] = [];
  const firstNames = new Map<string, ManifestEntry>(); // target entries of first names of hard links (few)
  const src = Buffer.from(o.sourceRoot);
  const rangeOpts = o.ranges ?? DEFAULT_RANGES;
  const cuts: Array<CutFile & { index: number }> = []; // large files a killed run left cut (few)
  // How the tar stream reaches the helper: several tars side by side only through the FIFO.
  const viaFifo = (o.stream ?? await volumeStream()) === 'fifo';
  // Directories and hard links, sent before and after the files when they go over several tars.
  let structure: TarItem[] | undefined = viaFifo && LANES.parts > 1 ? [] : undefined;
  {
    const t = entries[Symbol.asyncIterator]();
    let head = await t.next();
    for await (const e of byTargetPath(o.manifest, o.normalize)) {
      const name = targetPathOf(e);
      while (!head.done && comparePaths(head.value.path, name) < 0) { noteExtra(extras, head.value.path); head = await t.next(); }
      const got = !head.done && comparePaths(head.value.path, name) === 0 ? head.value : undefined;
      if (got) head = await t.next();
      if (got?.nlink !== undefined) firstNames.set(got.path.toString('latin1'), got);
      const { uid, gid } = own(e);
      const first = e.type === 'hardlink' ? firstNames.get(targetOfPath(e.link!, o.normalize).toString('latin1')) : undefined;
      if (n >= fresh.length) { const m = new Uint8Array(fresh.length * 2); m.set(fresh); fresh = m; }
      if (structure && (e.type === 'dir' || e.type === 'hardlink')) {
        if (structure.length >= LANES.maxStructure) structure = undefined;
        else structure.push(structural(e, name, uid, gid, o.normalize));
      }
      // Outside the scope: as the last complete copy left it (directories' headers are sent anyway).
      if (scope && !scope.has(parentKey(e.path))) fresh[n] = 1;
      else if (upToDate(e, got, uid, gid, first)) fresh[n] = 1;
      else {
        toSend++;
        if (e.type === 'file') need += e.size - (got?.type === 'file' ? Math.min(got.size, e.size) : 0);
        const have = cutRanges(e, got, rangeOpts);
        if (have > 0) cuts.push({ index: n, entry: e, name, from: joinRel(src, e.path), have, uid, gid });
      }
      n++;
    }
    for (; !head.done; head = await t.next()) noteExtra(extras, head.value.path);
  }
  if (need > avail) {
    throw new FerryError('E_FILES_NO_SPACE', `volume ${o.helper.volume} has ${(avail / 1048576).toFixed(1)} MiB free, the copy needs ${(need / 1048576).toFixed(1)} MiB more`, {
      hint: 'free space where Docker keeps its volumes (docker system df), then run again; nothing was copied',
    });
  }
  // Through the FIFO the helper that writes the tar stream removes them first (one helper fewer); else a helper of its own.
  const streamDir = join(dirname(o.progressFile), 'stream');
  const extrasList = Buffer.concat(extras.flatMap((p) => [p, Buffer.alloc(1)]));
  if (extras.length && !viaFifo) {
    await runHelper({ h: o.helper, cmd: ['sh', '-c', `cd ${HELPER_MOUNT} && xargs -0 -r rm -rf --`], input: [extrasList], what: 'remove entries the source no longer has', ...(o.signal ? { signal: o.signal } : {}) });
  }
  // Cut large files: those whose leading ranges are intact get only the rest, after the tar stream.
  // (An optimisation: a check that fails sends them whole, as before.)
  const resumed = await checkCutFiles(o.helper, cuts, rangeOpts.rangeBytes, o.signal).catch(() => { o.signal?.throwIfAborted(); return []; });
  const resumedAt = new Set(resumed.map((r) => r.cut.index));
  // Scoped: the last logs are searched for the few files asked (not read from their start), and the new one keeps only what the manifest lacks.
  const log = await HashLog.start(dirname(o.manifest), { sparse: scope !== undefined });
  const logHash = async (e: ManifestEntry, sha256: string | undefined) => {
    if (e.type !== 'file') return;
    const sha = sha256 ?? await log.knownHash(e) ?? await hashFile(joinRel(src, e.path), e.size, o.signal).catch(() => undefined);
    if (sha) await log.add(e, sha);
  };
  // Nothing differs (a re-run after the target was checked): no tar helper, only the hash log.
  if (toSend === 0 && extras.length === 0) {
    try { for await (const e of byTargetPath(o.manifest, o.normalize)) if (!scope || scope.has(parentKey(e.path))) await logHash(e, undefined); } catch (err) { await log.abandon(); throw err; }
    await log.finish();
    const r: CopyResult = { entries: n, copied: 0, bytes: 0, skipped: n, fixed: 0, removed: [] };
    await writeFileAtomic(o.progressFile, JSON.stringify({ ...r, removed: 0, done: true }) + '\n');
    return r;
  }
  const root = await lstat(o.sourceRoot);
  const rootOwner = o.owner ?? { uid: root.uid, gid: root.gid };
  let copied = 0, bytes = 0, skipped = 0, entriesN = 0;
  const sparse: Buffer[] = [];
  async function* items(): AsyncGenerator<TarItem> {
    for await (const e of byTargetPath(o.manifest, o.normalize)) {
      const i = entriesN++;
      const name = targetPathOf(e);
      const { uid, gid } = own(e);
      // Directories and hard links are headers only, sent whenever anything is: tar re-creating a
      // changed first name gives it a new inode, which its other names must follow.
      if (e.type !== 'dir' && e.type !== 'hardlink' && fresh[i] === 1) {
        skipped++;
        // Scoped: outside the scope, not even passed on (the narrowed manifest carries those hashes).
        if (!scope || scope.has(parentKey(e.path))) yield { entry: e, name, uid, gid, skip: true };
        continue;
      }
      if (e.type !== 'dir' && e.type !== 'hardlink') copied++;
      if (e.type === 'file' && e.sparse) sparse.push(name);
      // Resumed: its remainder is written after the stream (its hash read from the source, as for a skipped file).
      if (resumedAt.has(i)) { yield { entry: e, name, uid, gid, skip: true }; continue; }
      yield e.type === 'file' ? { entry: e, name, uid, gid, from: joinRel(src, e.path) } : structural(e, name, uid, gid, o.normalize);
    }
  }
  let lastSave = Date.now();
  let sent = 0;
  // Counted as written into the stream.
  const onFile = (n: number) => {
    sent++; bytes += n;
    o.onProgress?.({ files: sent, bytes });
    if (Date.now() - lastSave > 2000) { lastSave = Date.now(); void writeFileAtomic(o.progressFile, JSON.stringify({ sent, bytes, done: false }) + '\n').catch(() => undefined); }
  };
  const removeFirst = viaFifo && extras.length ? `cd ${HELPER_MOUNT} && xargs -0 -r rm -rf -- < ${STREAM_MOUNT}/${EXTRAS_FILE} && ` : '';
  if (removeFirst) { await mkdir(streamDir, { recursive: true }); await writeFile(join(streamDir, EXTRAS_FILE), extrasList); }
  const prelude = `${removeFirst}chown ${rootOwner.uid}:${rootOwner.gid} ${HELPER_MOUNT} && chmod ${(root.mode & 0o7777).toString(8)} ${HELPER_MOUNT}`;
  const TAR_X = `tar -x -C ${HELPER_MOUNT} --numeric-owner --same-owner -p -f`;
  const untar = (from: string) => `${prelude} && exec ${TAR_X} ${from}`;
  const lanes = structure && (toSend >= LANES.minEntries || need >= LANES.minBytes) ? LANES.parts : 1;
  try {
    if (lanes > 1) {
      // Each lane's ring of buffers: about as many chunks ahead in all as one stream has (at least 3 each).
      const ahead = Math.max(3, Math.round((FIFO_AHEAD * 2) / lanes));
      const dealer = new TarLanes(items(), {
        toLane: (it) => !it.skip && it.entry.type !== 'dir' && it.entry.type !== 'hardlink',
        window: 4096,
        onEntry: (it, sha256) => logHash(it.entry, sha256),
      });
      const dirs = structure!.filter((it) => it.entry.type === 'dir');
      // After the lanes: every item's hash logged, then the links (their first names are there now) and
      // the directories' modes and mtimes again.
      async function* last(): AsyncGenerator<TarItem> { await dealer.finish(); yield* structure!; }
      await feedThroughFifos({
        h: o.helper, dir: streamDir, ahead, what: 'write the tar streams', ...(o.signal ? { signal: o.signal } : {}),
        phases: [
          [tarStream(fromArray(dirs), o.concurrency)], // headers only: a few chunks, no ring
          Array.from({ length: lanes }, () => tarStream(dealer.lane(), o.concurrency, onFile, (it, sha256) => dealer.done(it, sha256), { recycle: ahead + 1 })),
          [tarStream(last(), o.concurrency)],
        ],
        script: (f) => {
          const side = f[1]!;
          return `${prelude} && ${TAR_X} ${f[0]![0]!} && { ${side.map((x, i) => `${TAR_X} ${x} & p${i}=$!;`).join(' ')} r=0; ${side.map((_, i) => `wait $p${i} || r=1;`).join(' ')} [ $r = 0 ]; } && exec ${TAR_X} ${f[2]![0]!}`;
        },
      });
    } else if (viaFifo) {
      const input = tarStream(items(), o.concurrency, onFile, (it, sha256) => logHash(it.entry, sha256), { recycle: FIFO_AHEAD + 1 });
      await feedThroughFifo({ h: o.helper, dir: streamDir, script: untar, input, ahead: FIFO_AHEAD, what: 'write the tar stream', ...(o.signal ? { signal: o.signal } : {}) });
    } else {
      const input = tarStream(items(), o.concurrency, onFile, (it, sha256) => logHash(it.entry, sha256));
      await runHelper({ h: o.helper, cmd: ['sh', '-c', untar('-')], what: 'write the tar stream', input, ...(o.signal ? { signal: o.signal } : {}) });
    }
    await writeRemainders(o.helper, resumed, dirname(o.progressFile), (k) => { bytes += k; o.onProgress?.({ files: sent, bytes }); }, o.signal);
  } catch (err) {
    await log.abandon();
    throw err;
  }
  if (sparse.length) {
    await runHelper({ h: o.helper, cmd: ['sh', '-c', `cd ${HELPER_MOUNT} && xargs -0 -r sh -c ${DIG_HOLES} sh`], input: [Buffer.concat(sparse.flatMap((p) => [p, Buffer.alloc(1)]))], what: 'punch the holes of sparse files', ...(o.signal ? { signal: o.signal } : {}) });
  }
  await log.finish();
  const ranged = resumed.length ? { files: resumed.length, ranges: resumed.reduce((k, r) => k + r.ranges, 0), copied: resumed.reduce((k, r) => k + r.ranges - r.kept, 0), kept: resumed.reduce((k, r) => k + r.kept, 0) } : undefined;
  const result: CopyResult = { entries: entriesN, copied, bytes, skipped, fixed: 0, removed: extras.map(showPath), ...(ranged ? { ranged } : {}), ...(lanes > 1 ? { tarStreams: lanes } : {}) };
  await writeFileAtomic(o.progressFile, JSON.stringify({ ...result, removed: extras.length, done: true }) + '\n');
  return result;
}

/** A directory's, symlink's or hard link's item (a hard link names its first name's target path). */
function structural(e: ManifestEntry, name: Buffer, uid: number, gid: number, normalize: VolumeCopyOptions['normalize']): TarItem {
  return { entry: e, name, uid, gid, ...(e.type === 'hardlink' ? { linkName: targetOfPath(e.link!, normalize) } : {}) };
}

async function* fromArray<T>(xs: readonly T[]): AsyncGenerator<T> { yield* xs; }

/** A target path the manifest lacks goes, once (not its children, which go with it). */
function noteExtra(extras: Buffer[], path: Buffer): void {
  const last = extras[extras.length - 1];
  if (last && path.length > last.length && path[last.length] === 0x2f && path.subarray(0, last.length).equals(last)) return;
  extras.push(path);
}
