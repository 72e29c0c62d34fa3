/**
 * Export: the manifest of the source tree, hashed (hashes of unchanged files reused from the previous
 * manifest, so the final pass reads only what changed). Refused entries stop it before a byte moves.
 */
import { lstat, mkdir, readFile, rename } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { FerryError } from '../../core/errors.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { writeManifest } from './manifest.ts';
import { readHashedManifest } from './hashes.ts';
import { quickScan } from './quick-scan.ts';
import { narrowedExport } from './narrow.ts';
import { emptyScanReport, fingerprintEntry, scanTree, walkTree, type ScanReport } from './walk.ts';

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
  const report = emptyScanReport();
  const h = createHash('sha256');
  for (const e of scanTree(root, report, normalize)) fingerprintEntry(h, e);
  return { fingerprint: h.digest('hex'), report };
}

export interface ExportResult {
  readonly manifest: string; readonly report: ScanReport; readonly entries: number; readonly fingerprint: string;
  /** A narrowed export: the only directories (relative, latin1) whose direct children changed since the last one. */
  readonly scope?: readonly string[];
}

/** What scan.json records of an export (besides its report). */
export type ScanRecord = Partial<ScanReport> & { fingerprint?: string; quick?: string; normalize?: string; entries?: number; dirs?: Array<[string, string]> };

/**
 * The manifest reads no file: it stats the tree (refusals before a byte moves) and carries over the
 * hashes of unchanged files from the previous manifest and the copy's hash log; the copy hashes the rest
 * from the same read as the copy. A tree whose stat fingerprint is the last export's keeps its manifest
 * (the delta pass of an unchanged tree is one walk).
 */
export async function exportTree(o: { storeId: string; root: string; artifactDir: string; normalize: 'none' | 'nfc'; concurrency: number; signal?: AbortSignal; onHashed?: (bytes: number) => void }): Promise<ExportResult> {
  await assertSourceDir(o.storeId, o.root);
  await mkdir(o.artifactDir, { recursive: true });
  const manifest = join(o.artifactDir, MANIFEST_FILE);
  const previous = await readFile(join(o.artifactDir, SCAN_FILE), 'utf8').then((s) => JSON.parse(s) as ScanRecord, () => undefined);
  const hasManifest = await lstat(manifest).then(() => true, () => false);
  const usable = hasManifest && previous?.fingerprint !== undefined && previous.normalize === o.normalize && previous.entries !== undefined;
  // Taken before the walk: a change while walking makes the next export walk again.
  const qs = await quickScan(o.root, o.signal);
  const quick = qs?.quick;
  const record = (fingerprint: string, entries: number, report: ScanReport) => writeFileAtomic(join(o.artifactDir, SCAN_FILE), JSON.stringify({
    fingerprint, ...(quick ? { quick } : {}), normalize: o.normalize, entries, ...report, ...(qs?.dirs ? { dirs: [...qs.dirs] } : {}),
  }) + '\n');
  if (usable && quick !== undefined && previous.quick === quick && previous.files !== undefined) {
    // GNU find's stream is the last export's byte for byte: nothing the manifest records has changed.
    const { fingerprint, quick: _q, normalize: _n, entries, dirs: _d, ...report } = previous;
    return { manifest, report: report as ScanReport, entries: entries!, fingerprint: fingerprint!, scope: [] };
  }
  // Only some directories changed: those are re-read and merged into the last manifest (see narrow.ts).
  if (usable && qs?.dirs && previous.dirs && previous.quick && previous.files !== undefined) {
    const { fingerprint: _f, quick: _q, normalize: _n, entries: _e, dirs, ...report } = previous;
    const r = await narrowedExport({ storeId: o.storeId, root: o.root, artifactDir: o.artifactDir, manifest, before: new Map(dirs), after: qs.dirs, report: report as ScanReport, ...(o.signal ? { signal: o.signal } : {}) });
    if (r) {
      await record(r.fingerprint, r.entries, r.report);
      return { manifest, ...r };
    }
  }
  // Else a stat-only walk first: an unchanged tree keeps its manifest (no second walk).
  if (usable) {
    const scan = await treeFingerprint(o.root, o.normalize);
    assertNothingRefused(o.storeId, scan.report);
    if (previous.fingerprint === scan.fingerprint) {
      await record(scan.fingerprint, previous.entries!, scan.report);
      return { manifest, report: scan.report, entries: previous.entries!, fingerprint: scan.fingerprint };
    }
  }
  const report = emptyScanReport();
  const fp = createHash('sha256');
  const tmp = join(o.artifactDir, `${MANIFEST_FILE}.next`);
  const prev = hasManifest ? { previous: readHashedManifest(manifest, o.artifactDir) } : {};
  const { entries } = await writeManifest(tmp, walkTree(o.root, report, { hash: 'reuse', normalize: o.normalize, concurrency: o.concurrency, fingerprint: fp, ...prev, ...(o.signal ? { signal: o.signal } : {}) }));
  assertNothingRefused(o.storeId, report);
  await rename(tmp, manifest);
  const fingerprint = fp.digest('hex');
  await record(fingerprint, entries, report);
  return { manifest, report, entries, fingerprint };
}
