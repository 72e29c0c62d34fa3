/**
 * Compare the manifest the target should have with the one it has (both streamed in tree order): one
 * report entry per top-level directory with counts and bytes, every differing path named.
 */
import type { ReportEntry } from '../../core/engine.ts';
import { targetPathOf, type ManifestEntry } from './manifest.ts';
import { comparePaths, showPath, targetOfPath, topLevel } from './paths.ts';

/** Findings kept per directory entry; the count of the rest is stated. */
export const FINDINGS_CAP = 10_000;

export interface CompareOptions {
  /** The owner every target entry must have; default: the source's. */
  readonly owner?: { uid: number; gid: number } | undefined;
  /** Compare directories' mtimes too (false after the stack ran: the app touches its directories). */
  readonly dirMtimes?: boolean;
  /** Names on the target are NFC (a hard link's first name too). */
  readonly normalize?: 'none' | 'nfc';
}

interface DirTally { files: number; dirs: number; links: number; bytes: number; differing: number; findings: string[] }

/** What differs between an expected and an actual entry at the same path (empty when equal). */
export function differences(want: ManifestEntry, got: ManifestEntry, o: CompareOptions): string[] {
  const out: string[] = [];
  if (want.type !== got.type) return [`type ${want.type} on the source, ${got.type} on the target`];
  if (want.type === 'file') {
    if (want.size !== got.size) out.push(`size ${want.size} ≠ ${got.size}`);
    else if (want.sha256 !== got.sha256) out.push('content differs (sha256)');
  }
  if (want.type === 'symlink' || want.type === 'hardlink') {
    const link = want.type === 'hardlink' ? targetOfPath(want.link!, o.normalize ?? 'none') : (want.link ?? Buffer.alloc(0));
    if (!link.equals(Buffer.from(got.link ?? []))) out.push(`link ${showPath(link)} ≠ ${showPath(got.link ?? Buffer.alloc(0))}`);
  }
  if (want.type !== 'symlink' && want.mode !== got.mode) out.push(`mode ${want.mode.toString(8)} ≠ ${got.mode.toString(8)}`);
  const uid = o.owner?.uid ?? want.uid, gid = o.owner?.gid ?? want.gid;
  if (uid !== got.uid || gid !== got.gid) out.push(`owner ${uid}:${gid} ≠ ${got.uid}:${got.gid}`);
  const mtimeMatters = want.type === 'file' || (want.type === 'dir' && o.dirMtimes === true);
  if (mtimeMatters && want.mtimeMs !== got.mtimeMs) out.push(`mtime ${new Date(want.mtimeMs).toISOString()} ≠ ${new Date(got.mtimeMs).toISOString()}`);
  if (want.sparse && !got.sparse) out.push('not sparse on the target (holes filled)');
  return out;
}

export async function compareManifests(expected: AsyncIterable<ManifestEntry>, actual: AsyncIterable<ManifestEntry>, o: CompareOptions = {}): Promise<ReportEntry[]> {
  const dirs = new Map<string, DirTally>();
  const tally = (path: Buffer): DirTally => {
    const k = topLevel(path);
    let t = dirs.get(k);
    if (!t) dirs.set(k, (t = { files: 0, dirs: 0, links: 0, bytes: 0, differing: 0, findings: [] }));
    return t;
  };
  const note = (path: Buffer, what: string) => {
    const t = tally(path);
    t.differing++;
    if (t.findings.length < FINDINGS_CAP) t.findings.push(`${showPath(path)}: ${what}`);
  };
  const count = (e: ManifestEntry) => {
    // A top-level directory counts in its own entry (`dir images/`), not in the root's.
    const p = targetPathOf(e);
    const t = tally(e.type === 'dir' && !p.includes(0x2f) ? Buffer.concat([p, Buffer.from('/')]) : p);
    if (e.type === 'dir') { t.dirs++; return; }
    if (e.type === 'symlink' || e.type === 'hardlink') t.links++; else { t.files++; t.bytes += e.size; }
  };
  const a = actual[Symbol.asyncIterator]();
  let got = await a.next();
  for await (const want of expected) {
    const wp = targetPathOf(want);
    count(want);
    while (!got.done && comparePaths(got.value.path, wp) < 0) { note(got.value.path, 'on the target only (not on the source)'); got = await a.next(); }
    if (got.done || comparePaths(got.value.path, wp) > 0) { note(wp, `missing on the target (${want.type})`); continue; }
    for (const d of differences(want, got.value, o)) note(wp, d);
    got = await a.next();
  }
  for (; !got.done; got = await a.next()) note(got.value.path, 'on the target only (not on the source)');
  return [...dirs.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([k, t]) => ({
    subject: `dir ${k}`,
    ok: t.differing === 0,
    counts: { files: t.files, dirs: t.dirs, links: t.links, bytes: t.bytes, differing: t.differing },
    ...(t.differing ? { findings: t.differing > t.findings.length ? [...t.findings, `… and ${t.differing - t.findings.length} more`] : t.findings } : {}),
  }));
}
