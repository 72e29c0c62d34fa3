/**
 * Export: the manifest of the source tree, hashed (hashes of unchanged files reused from the previous
 * manifest, so the final pass reads only what changed). Refused entries stop it before a byte moves.
 */
import { lstat, mkdir, rename, rm } from 'node:fs/promises';
import { readJson } from '../read-json.ts';
import { join } from 'node:path';
import { FerryError } from '../../core/errors.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { lineBlocks, pathOfLine, writeManifest, type ManifestEntry } from './manifest.ts';
import { besideName, settleBase } from './manifest-delta.ts';
import { joinRel, parentKey } from './paths.ts';
import { lstatSync } from 'node:fs';
// The listing again, the merge, the quick scan, the walk and the hash join load only for a pass that found a change (an unchanged tree's pass never needs them).
import { changedSince, seenByLastPass } from './ctime-scan.ts';
import { readRewritten, recordRewritten } from './rewritten.ts';
import { changedBefore, CTIME_RECORD_FILE, manifestFileId, readCtimeRecord, setReference, takeStamp, type CtimeRecord, type Stamp } from './ctime-stamp.ts';
import type { ScanReport } from './walk.ts';
import type { QuickScan } from './quick-scan.ts';

export const MANIFEST_FILE = 'manifest.ndjson';
export const SCAN_FILE = 'scan.json';

/** The source must be an existing directory; named otherwise. */
export async function assertSourceDir(storeId: string, root: string): Promise<void> {
  const st = await lstat(root).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'EACCES') throw new FerryError('E_FILES_UNREADABLE', `store ${storeId}: source ${root}: no search permission (x) on a parent directory`, { hint: `run ferry as a user who can read ${root}` });
    return null;
  });
  if (!st) throw new FerryError('E_FILES_SOURCE', `store ${storeId}: source directory ${root} does not exist`, { hint: 'fix the store\'s source path (an absolute host directory)' });
  if (!st.isDirectory()) throw new FerryError('E_FILES_SOURCE', `store ${storeId}: source ${root} is not a directory`, { hint: 'a files store\'s source is a directory' });
}

/** Refuse a tree holding entries that cannot be moved, naming each (up to 20 in the message). */
export function assertNothingRefused(storeId: string, r: ScanReport): void {
  if (!r.refused.count) return;
  const first = r.refused.items[0] ?? '';
  const code = first.startsWith('symlink') ? 'E_FILES_LINK_ESCAPES' : /permission/.test(first) ? 'E_FILES_UNREADABLE' : 'E_FILES_NOT_DATA';
  throw new FerryError(code, `store ${storeId}: ${r.refused.count} entr${r.refused.count === 1 ? 'y' : 'ies'} cannot be moved: ${first}`, {
    hint: code === 'E_FILES_UNREADABLE' ? 'grant ferry\'s user the permission named (or run ferry as the owner), then run again'
      : code === 'E_FILES_LINK_ESCAPES' ? 'replace the link with what it points to, or remove it, then run again (links are never followed out of the tree)'
      : 'remove sockets, FIFOs and devices from the tree (they are not data), then run again',
    detail: r.refused.items.slice(0, 20).join('\n'),
  });
}

/** A fingerprint of the tree from a stat-only scan: path, type, size, mtime, mode, link of every entry. */
export async function treeFingerprint(root: string, normalize: 'none' | 'nfc' = 'none'): Promise<{ fingerprint: string; report: ScanReport }> {
  const { emptyScanReport, scanTree, TreeFingerprint } = await import('./walk.ts');
  const report = emptyScanReport();
  const h = new TreeFingerprint();
  for (const e of scanTree(root, report, normalize)) h.add(e);
  return { fingerprint: h.digest(), report };
}

export interface ExportResult {
  readonly manifest: string; readonly report: ScanReport; readonly entries: number; readonly fingerprint: string;
  /** A narrowed export: the only directories (relative, latin1) whose direct children changed since the last one. */
  readonly scope?: readonly string[];
  /** Which scan ran: `ctime` (only what changed since the last pass's stamp), `quick` (find's stat stream), `walk` (the whole tree in Node). */
  readonly scan: ScanKind;
  /** Why the ctime scan could not narrow this pass (it walked instead). */
  readonly fallback?: string;
  /** Entries the ctime scan printed (changed since the last pass). */
  readonly changed?: number;
  /** Files rewritten in place with size, mtime and inode kept (see rewritten.ts). */
  readonly rewritten?: readonly Buffer[];
  /** What `stream` resolved to (the walk fed it). */
  readonly streamed?: unknown;
}

export type ScanKind = 'ctime' | 'quick' | 'walk';

/** What scan.json records of an export (besides its report). */
export type ScanRecord = Partial<ScanReport> & { fingerprint?: string; quick?: string; normalize?: string; entries?: number; quickDirs?: Array<[string, string]> };

export interface ExportOptions {
  readonly storeId: string; readonly root: string; readonly artifactDir: string; readonly normalize: 'none' | 'nfc'; readonly concurrency: number;
  readonly signal?: AbortSignal; readonly onHashed?: (bytes: number) => void;
  /**
   * The manifest file is the export step's journaled artifact (the final pass inside the freeze): a
   * whole walk writes its base beside it (see BaseRecord in manifest.ts), not over it, so a run killed
   * after the pass does not find the export changed and copy the whole tree again. A narrowed pass
   * never rewrites the manifest file either way (a delta, or a base beside it).
   */
  readonly keepManifest?: boolean;
  /**
   * A first copy fed by the walk (engine.ts): called when a whole walk writes a manifest where there was
   * none (nothing to compare with, the target empty), with the entries as the walk yields them (in tree
   * order, the manifest's) and find's count of the tree's regular files and bytes (undefined without
   * GNU find). It declines (`decline()`: the walk goes on alone) or consumes every entry; the walk waits
   * while STREAM_AHEAD entries wait for it. What it resolves to is the export's `streamed`; a rejection
   * fails the export (the walk stops at its next entry).
   */
  readonly stream?: (s: WalkStream) => Promise<unknown>;
}

export interface WalkStream {
  readonly entries: AsyncIterable<ManifestEntry>;
  readonly size: Promise<{ readonly files: number; readonly bytes: number } | undefined>;
  decline(): void;
}

/**
 * Entries the walk runs ahead of a copy streamed from it: it waits for find's count of the tree (the
 * space check before a byte moves; 0.35 s of a 100k-file tree) with this many at most. The queue stays
 * full (the walk outruns the copy), and entries that wait long are promoted out of the young
 * generation: 100k-file first copies peaked at 219-285 MB with 32k, 147-156 MB with 4k (bench, scale 100).
 */
export const STREAM_AHEAD = 4_096;

/**
 * The manifest reads no file: it stats the tree (refusals before a byte moves) and carries over the
 * hashes of unchanged files from the previous manifest and the copy's hash log; the copy hashes the rest
 * from the same read as the copy. First the ctime scan (ctime-scan.ts: only what changed since the last
 * pass's stamp, nothing at all for an unchanged tree); where it cannot prove its answer, find's stat
 * stream against the last one's (quick-scan.ts), else the whole walk. Every pass takes a stamp before it
 * reads the tree and records it with the manifest it leaves.
 */
export async function exportTree(o: ExportOptions): Promise<ExportResult> {
  await assertSourceDir(o.storeId, o.root);
  await mkdir(o.artifactDir, { recursive: true });
  const manifest = join(o.artifactDir, MANIFEST_FILE);
  const previous = await readJson<ScanRecord>(join(o.artifactDir, SCAN_FILE));
  const hasManifest = await lstat(manifest).then(() => true, () => false);
  const usable = hasManifest && previous?.fingerprint !== undefined && previous.normalize === o.normalize && previous.entries !== undefined && previous.files !== undefined;
  // Files rewritten in place that no import has sent yet stay listed for the manifest this export leaves.
  const pending = hasManifest ? await readRewritten(o.artifactDir, manifest) : [];
  const before = manifestFileId(manifest);
  // Before anything of the tree is read (see ctime-stamp.ts).
  const stamp = takeStamp(o.artifactDir);
  let fallback = !stamp ? 'the artifact directory\'s clock is not the wall clock' : !usable ? 'no previous manifest' : undefined;
  if (stamp && usable) {
    const { fingerprint, quick: _q, normalize: _n, entries, quickDirs: _d, ...report } = previous;
    const c = await ctimeExport({ ...o, manifest, stamp, report: report as ScanReport, entries: entries!, fingerprint: fingerprint! });
    if ('result' in c) {
      if (manifestFileId(manifest) !== before) await recordRewritten(o.artifactDir, manifest, [...pending, ...(c.result.rewritten ?? [])]);
      return c.result;
    }
    fallback = c.reason;
  }
  const r = await fullExport(o, manifest, previous, usable, hasManifest, stamp);
  if (manifestFileId(manifest) !== before) await recordRewritten(o.artifactDir, manifest, pending);
  if (stamp && o.normalize === 'none') { const m = await manifestDirs(manifest, o.root, stamp); await recordStamp(o, manifest, stamp, m.dirs, stamp.thresholdMs, m.counts); }
  return { ...r, ...(fallback ? { fallback } : {}) };
}

/** The ctime scan's export (see ctime-scan.ts), or why it cannot narrow this pass. */
async function ctimeExport(o: { storeId: string; root: string; artifactDir: string; normalize: 'none' | 'nfc'; signal?: AbortSignal; manifest: string; stamp: Stamp; report: ScanReport; entries: number; fingerprint: string }): Promise<{ result: ExportResult } | { reason: string }> {
  if (o.normalize !== 'none') return { reason: 'names are normalised (NFC)' };
  const got = await readCtimeRecord({ artifactDir: o.artifactDir, root: o.root, normalize: o.normalize, manifestId: manifestFileId(o.manifest), stamp: o.stamp });
  if ('reason' in got) return got;
  const rec = got.record;
  if (!setReference(o.stamp.file, rec.thresholdMs)) return { reason: 'the artifact directory keeps mtimes coarser than a second' };
  const all = await changedSince(o.root, o.stamp.file, o.signal, rec.dirs);
  if (!all) return { reason: 'find -newercm failed (an unreadable directory, no GNU or BSD find) or printed too much' };
  const printed = seenByLastPass(o.root, all, { ctimeMs: rec.stampMs, thresholdMs: rec.thresholdMs });
  // Nothing changed since the last stamp: the manifest, and its record, stay as they are.
  if (!printed.length) return { result: { manifest: o.manifest, report: o.report, entries: o.entries, fingerprint: o.fingerprint, scope: [], scan: 'ctime', changed: 0 } };
  const plan = (await import('./ctime-rescan.ts')).rescan(o.root, printed, new Map(rec.dirs.map(([k, ino]) => [k, ino])), o.stamp);
  if ('reason' in plan) return plan;
  const counts = childCounts(rec.dirs, plan);
  o.signal?.throwIfAborted();
  const rehash = { root: o.root, paths: new Set(printed.map((p) => p.toString('latin1'))) };
  const r = await (await import('./narrow.ts')).mergeNarrowed({ storeId: o.storeId, artifactDir: o.artifactDir, manifest: o.manifest, report: o.report, fingerprint: o.fingerprint, entries: o.entries, fresh: plan.fresh, found: plan.found, relisted: plan.relisted, dropUnder: plan.dropUnder, rehash });
  if (r.unchanged) {
    // What changed since the last stamp records the same as the manifest (a touch, a change in the stamp's own tick): kept, the stamp moves on.
    await recordStamp(o, o.manifest, o.stamp, plan.dirs, o.stamp.thresholdMs, counts);
    return { result: { manifest: o.manifest, report: o.report, entries: o.entries, fingerprint: o.fingerprint, scope: [], scan: 'ctime', changed: 0 } };
  }
  await writeScanRecord(o.artifactDir, { fingerprint: r.fingerprint, normalize: o.normalize, entries: r.entries, ...r.report });
  await recordStamp(o, o.manifest, o.stamp, plan.dirs, o.stamp.thresholdMs, counts);
  return { result: { manifest: o.manifest, ...r, scan: 'ctime', changed: printed.length } };
}

/** Each directory's direct children after a narrowed pass: the relisted ones counted again, the others as recorded. */
function childCounts(recorded: CtimeRecord['dirs'], plan: { fresh: readonly ManifestEntry[]; relisted: ReadonlySet<string> }): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, , n] of recorded) if (n !== undefined && !plan.relisted.has(k)) out.set(k, n);
  for (const k of plan.relisted) out.set(k, 0);
  for (const e of plan.fresh) { const k = parentKey(e.path); out.set(k, (out.get(k) ?? 0) + 1); }
  return out;
}

function writeScanRecord(artifactDir: string, r: object): Promise<void> {
  return writeFileAtomic(join(artifactDir, SCAN_FILE), JSON.stringify(r) + '\n');
}

/**
 * The tree's fingerprint from the last export's and the ctime scan: unchanged since (the manifest it
 * recorded is still exact), the last fingerprint, which is what a walk would compute; changed, that
 * fingerprint updated with the directories the scan names listed again (narrow.ts narrowedFingerprint:
 * what the next narrowed export will record). Undefined where the scan cannot prove its answer: the
 * caller walks. Reads the tree only through `find -newercm` and those directories; writes only a
 * scratch reference file.
 */
export async function provenFingerprint(o: { root: string; artifactDir: string; normalize: 'none' | 'nfc'; signal?: AbortSignal }): Promise<string | undefined> {
  if (o.normalize !== 'none') return undefined;
  const scan = await readJson<ScanRecord>(join(o.artifactDir, SCAN_FILE));
  if (!scan?.fingerprint) return undefined;
  const manifest = join(o.artifactDir, MANIFEST_FILE);
  const ref = await lstat(o.artifactDir).then(() => takeStamp(o.artifactDir, Date.now, REF_FILE), () => undefined);
  if (!ref) return undefined;
  const got = await readCtimeRecord({ artifactDir: o.artifactDir, root: o.root, normalize: o.normalize, manifestId: manifestFileId(manifest), stamp: ref }).catch(() => ({ reason: 'unreadable' }));
  if ('reason' in got || !setReference(ref.file, got.record.thresholdMs)) return undefined;
  const all = await changedSince(o.root, ref.file, o.signal, got.record.dirs);
  if (!all) return undefined;
  const printed = seenByLastPass(o.root, all, { ctimeMs: got.record.stampMs, thresholdMs: got.record.thresholdMs });
  if (!printed.length) return scan.fingerprint;
  const plan = (await import('./ctime-rescan.ts')).rescan(o.root, printed, new Map(got.record.dirs.map(([k, ino]) => [k, ino])), ref);
  if ('reason' in plan) return undefined;
  return (await import('./narrow.ts')).narrowedFingerprint({ manifest, fingerprint: scan.fingerprint, ...plan });
}
const REF_FILE = 'ctime-ref';

/** Record the pass's stamp with the manifest it left and the directories' inodes (and their children's counts, the split scan's weights). */
async function recordStamp(o: { root: string; artifactDir: string; normalize: string }, manifest: string, stamp: Stamp, dirs: ReadonlyMap<string, number>, thresholdMs: number, counts?: ReadonlyMap<string, number>): Promise<void> {
  const st = await lstat(o.root);
  const withCounts = [...dirs].map(([k, ino]): readonly [string, number, number?] => { const n = counts?.get(k); return n === undefined ? [k, ino] : [k, ino, n]; });
  const rec: CtimeRecord = { v: 1, root: o.root, dev: st.dev, ino: st.ino, thresholdMs, stampMs: stamp.ctimeMs, manifest: manifestFileId(manifest), normalize: o.normalize, dirs: withCounts };
  await writeFileAtomic(join(o.artifactDir, CTIME_RECORD_FILE), JSON.stringify(rec) + '\n');
}

/**
 * The manifest's directories with their inodes, read back after a walk or quick export (the tree was
 * read after this pass's stamp): a directory that changed after the stamp has its inode not known (0).
 */
async function manifestDirs(manifest: string, root: string, stamp: Stamp): Promise<{ dirs: Map<string, number>; counts: Map<string, number> }> {
  const out = new Map<string, number>();
  const counts = new Map<string, number>();
  const rootBuf = Buffer.from(root);
  const ino = (abs: Buffer | string) => { const st = lstatSync(abs, { throwIfNoEntry: false }); return st?.isDirectory() && changedBefore(st.ctimeMs, stamp) ? st.ino : 0; };
  out.set('', ino(root));
  // Each line's path and type only: no entry made per line (a second read of a 100k-line manifest).
  for await (const text of lineBlocks(manifest)) {
    for (const line of text.split('\n')) {
      if (!line) continue;
      const path = pathOfLine(line);
      const k = parentKey(path);
      counts.set(k, (counts.get(k) ?? 0) + 1);
      const t = line.indexOf(',"t":'); // a quote inside the path is escaped: the first is the type's
      if (line.startsWith(',"t":"d"', t)) out.set(path.toString('latin1'), ino(joinRel(rootBuf, path)));
    }
  }
  return { dirs: out, counts };
}

/**
 * Today's export: find's stat stream against the last one, a narrowed merge, or the whole walk.
 *
 * find's scan is recorded for the next export to compare with, and must not be newer than the manifest:
 * it is taken before the walk (a change while walking makes the next export walk again). Where there is
 * nothing to compare it with (no usable previous manifest: the walk runs whatever it says) and the pass
 * has a stamp, it runs beside the walk instead (find on another core) and is kept only if no entry it
 * printed, nor the root, changed after the stamp: a change between the two reads of an entry carries a
 * later ctime (the entry's, or its directory's for a deletion), so a scan that saw it is dropped, and one
 * that did not differs from the next one. (100k files: the scan was 0.33-0.36 s of a 1.45 s export, in
 * front of the walk.)
 */
async function fullExport(o: ExportOptions, manifest: string, previous: ScanRecord | undefined, usable: boolean, hasManifest: boolean, stamp: Stamp | undefined): Promise<ExportResult> {
  const beside = !usable && stamp !== undefined;
  const stop = new AbortController(); // a walk that fails ends the scan beside it
  const streams = !usable && o.stream !== undefined && !o.keepManifest;
  const scanning = (await import('./quick-scan.ts')).quickScan(o.root, o.signal ? AbortSignal.any([o.signal, stop.signal]) : stop.signal, { ...(beside ? { stamp } : {}), ...(streams ? { size: true } : {}) });
  try {
    const taken = beside ? undefined : await scanning;
    const kept = beside ? scanning.then((q) => (q && !q.changedAfter && !rootChangedAfter(o.root, stamp) ? q : undefined)) : scanning;
    return await exportWith(o, manifest, previous, usable, hasManifest, taken, kept, streams ? scanning.then((q) => q?.size) : undefined);
  } finally {
    stop.abort();
  }
}

/**
 * find prints no record of the root itself (-mindepth 1): an entry of the root deleted between the walk's
 * read and find's shows only in the root's own ctime, read once find is done.
 */
function rootChangedAfter(root: string, stamp: Stamp): boolean {
  const st = lstatSync(root, { throwIfNoEntry: false });
  return !st || !changedBefore(st.ctimeMs, stamp);
}

/**
 * fullExport with find's scan: `qs`, taken before the walk (undefined when it runs beside it), compared
 * with the last one; `kept`, what the record keeps (the scan beside the walk settles after it, dropped if
 * it saw a change).
 */
async function exportWith(o: ExportOptions, manifest: string, previous: ScanRecord | undefined, usable: boolean, hasManifest: boolean,
  qs: QuickScan | undefined, kept: Promise<QuickScan | undefined>, size?: WalkStream['size']): Promise<ExportResult> {
  const quick = qs?.quick;
  const record = async (fingerprint: string, entries: number, report: ScanReport) => {
    const q = await kept;
    await writeScanRecord(o.artifactDir, {
      fingerprint, ...(q?.quick ? { quick: q.quick } : {}), normalize: o.normalize, entries, ...report, ...(q?.dirs ? { quickDirs: [...q.dirs] } : {}),
    });
  };
  if (usable && quick !== undefined && previous!.quick === quick) {
    // GNU find's stream is the last export's byte for byte: nothing the manifest records has changed.
    const { fingerprint, quick: _q, normalize: _n, entries, quickDirs: _d, ...report } = previous!;
    return { manifest, report: report as ScanReport, entries: entries!, fingerprint: fingerprint!, scope: [], scan: 'quick' };
  }
  // Only some directories changed: those are re-read and merged into the last manifest (see narrow.ts).
  if (usable && qs?.dirs && previous!.quickDirs && previous!.quick) {
    const { fingerprint, quick: _q, normalize: _n, entries, quickDirs, ...report } = previous!;
    const r = await (await import('./narrow.ts')).narrowedExport({ storeId: o.storeId, root: o.root, artifactDir: o.artifactDir, manifest, before: new Map(quickDirs), after: qs.dirs, report: report as ScanReport, fingerprint, entries, ...(o.signal ? { signal: o.signal } : {}) });
    if (r) {
      await record(r.fingerprint, r.entries, r.report);
      return { manifest, ...r, scan: 'quick' };
    }
  }
  // Else a stat-only walk first: an unchanged tree keeps its manifest (no second walk).
  if (usable) {
    const scan = await treeFingerprint(o.root, o.normalize);
    assertNothingRefused(o.storeId, scan.report);
    if (previous!.fingerprint === scan.fingerprint) {
      await record(scan.fingerprint, previous!.entries!, scan.report);
      return { manifest, report: scan.report, entries: previous!.entries!, fingerprint: scan.fingerprint, scan: 'walk' };
    }
  }
  const { emptyScanReport, TreeFingerprint, walkTree } = await import('./walk.ts');
  const report = emptyScanReport();
  const fp = new TreeFingerprint();
  const beside = o.keepManifest && hasManifest ? besideName(manifest) : undefined;
  const tmp = beside ?? join(o.artifactDir, `${MANIFEST_FILE}.next`);
  const prev = hasManifest ? { previous: (await import('./hashes.ts')).readHashedManifest(manifest, o.artifactDir) } : {};
  let unhashed = 0;
  // A first copy streamed from the walk: every entry handed to it as the manifest gets it.
  const handoff = size && o.stream ? new (await import('./handoff.ts')).Handoff<ManifestEntry>(STREAM_AHEAD) : undefined;
  const streaming = handoff ? o.stream!({ entries: handoff, size: size!, decline: () => handoff.detach() }).catch((err: unknown) => { handoff.stop(err); throw err; }) : undefined;
  streaming?.catch(() => undefined); // awaited below, after the walk
  const counted = async function* (es: AsyncIterable<ManifestEntry>) {
    let whole = false;
    try {
      for await (const e of es) {
        if (e.type === 'file' && !e.sha256) unhashed++;
        if (handoff) await handoff.push(e);
        yield e;
      }
      whole = true;
    } finally {
      // The copy stops on it; the export throws the walk's own error (or the manifest writer's), not this one.
      handoff?.end(whole ? undefined : new Error(`the walk of ${o.root} stopped before its end`));
    }
  };
  let entries: number;
  try {
    ({ entries } = await writeManifest(tmp, counted(walkTree(o.root, report, { hash: 'reuse', normalize: o.normalize, concurrency: o.concurrency, fingerprint: fp, ...prev, ...(o.signal ? { signal: o.signal } : {}) }))));
    assertNothingRefused(o.storeId, report);
  } catch (e) {
    await rm(tmp, { force: true });
    await streaming?.catch(() => undefined);
    throw e;
  }
  if (!beside) await rename(tmp, manifest);
  await settleBase(manifest, unhashed, beside);
  const streamed = await streaming;
  const fingerprint = fp.digest();
  await record(fingerprint, entries, report);
  return { manifest, report, entries, fingerprint, scan: 'walk', ...(streamed !== undefined ? { streamed } : {}) };
}
