/**
 * The stamp of the ctime change scan (see ctime-scan.ts): when a pass starts, before it reads anything
 * of the tree, a file is created in the artifact directory and the kernel sets its ctime C (the coarse
 * real-time clock every local filesystem stamps inodes with). The pass's record keeps T = floor(C to the
 * second) − 1 s: every change made to the tree after that instant carries a ctime > T, whatever the
 * filesystem's timestamp granularity (≤ 1 s) and however the kernel tick (≤ 10 ms) lags the wall clock,
 * so no wait after the stamp is needed (a margin of a second instead of a tick: a change in the second
 * before the stamp is re-read once more, never missed). The record is bound to the manifest the pass
 * wrote (its inode, size and mtime) and to the source root (its device and inode): anything else, and
 * the next pass walks the whole tree.
 *
 * Trusted only where ctime is the local kernel's: Linux filesystems by their statfs magic (ext2/3/4,
 * xfs, btrfs, tmpfs, overlayfs, zfs, f2fs, bcachefs; NFS, SMB, FUSE are not: a server's clock sets their
 * times), on macOS APFS and HFS+ marked local by mount(8). A stamp whose ctime is more than 2 s away from
 * Date.now() (the artifact directory on a filesystem with another clock) or earlier than the previous
 * pass's stamp (the clock stepped back) is not trusted either.
 */
import { execFile } from 'node:child_process';
import { lstatSync, openSync, closeSync, rmSync, statfsSync, utimesSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readJson } from '../read-json.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { viewId } from './manifest-delta.ts';

export const CTIME_RECORD_FILE = 'ctime-scan.json';
export const STAMP_FILE = 'ctime-stamp';

/** What the last pass that left the manifest exact recorded (see the module comment). */
export interface CtimeRecord {
  readonly v: 1;
  readonly root: string;
  readonly dev: number;
  readonly ino: number;
  /** ms since the epoch (whole seconds): every change after the pass's stamp has a ctime above it. */
  readonly thresholdMs: number;
  /** The stamp's own ctime (ms), to notice a clock stepped back. */
  readonly stampMs: number;
  /** manifest.ndjson's identity (inode:size:mtimeMs) when the record was written. */
  readonly manifest: string;
  readonly normalize: string;
  /**
   * Every directory of the manifest (relative, latin1; '' = the root) with its inode (0: not known) and
   * its number of direct children in the manifest (absent in older records): the split scan's weights.
   */
  readonly dirs: ReadonlyArray<readonly [string, number, number?]>;
}

export interface Stamp { readonly file: string; readonly ctimeMs: number; readonly thresholdMs: number }

// Linux statfs magic numbers of local filesystems whose inode times come from the kernel's clock.
const LOCAL_FS = new Set([0xef53, 0x58465342, 0x9123683e, 0x01021994, 0x794c7630, 0x2fc12fc1, 0xf2f52010, 0xca451a4e]);

/** T for a stamp whose ctime is `ctimeMs`. */
export function thresholdOf(ctimeMs: number): number {
  return Math.floor(ctimeMs / 1000) * 1000 - 1000;
}

/**
 * Whether an inode whose ctime is `ctimeMs` last changed before the stamp was created: at or below T,
 * or (both times carrying sub-second parts: a filesystem keeping whole seconds rounds a later change
 * down) below the stamp's own ctime, read from the same clock, which does not go back between them.
 */
export function changedBefore(ctimeMs: number, stamp: { readonly ctimeMs: number; readonly thresholdMs: number }): boolean {
  return ctimeMs <= stamp.thresholdMs || (stamp.ctimeMs % 1000 !== 0 && ctimeMs % 1000 !== 0 && ctimeMs < stamp.ctimeMs);
}

/**
 * A new stamp: a new inode (removed first), so the kernel sets its ctime now; its ctime read. Undefined
 * when the artifact directory's clock is not the wall clock (more than 2 s apart).
 */
export function takeStamp(artifactDir: string, now: () => number = Date.now, name = STAMP_FILE): Stamp | undefined {
  const file = join(artifactDir, name);
  rmSync(file, { force: true });
  closeSync(openSync(file, 'wx'));
  const ctimeMs = lstatSync(file).ctimeMs;
  if (Math.abs(ctimeMs - now()) > 2000) return undefined;
  return { file, ctimeMs, thresholdMs: thresholdOf(ctimeMs) };
}

/**
 * Point the stamp file's mtime at `thresholdMs` (find compares entries' ctime with it: `-newercm`).
 * False when the filesystem does not keep it exactly (a coarser granularity than a second).
 */
export function setReference(file: string, thresholdMs: number): boolean {
  utimesSync(file, thresholdMs / 1000, thresholdMs / 1000);
  return statSync(file).mtimeMs === thresholdMs;
}

/** The mount(8) line of macOS for `path`'s filesystem, judged: APFS or HFS+, local. */
export function macLocal(mountOutput: string, path: string): boolean {
  let best: { on: string; opts: string[] } | undefined;
  for (const line of mountOutput.split('\n')) {
    const m = /^.+? on (.+) \(([^)]*)\)$/.exec(line);
    if (!m) continue;
    const on = m[1]!;
    const inside = on === '/' || path === on || path.startsWith(`${on}/`);
    if (inside && (!best || on.length > best.on.length)) best = { on, opts: m[2]!.split(',').map((s) => s.trim()) };
  }
  return !!best && (best.opts[0] === 'apfs' || best.opts[0] === 'hfs') && best.opts.includes('local');
}

/** Whether `root`'s filesystem stamps ctime with this kernel's clock (see the module comment). */
export async function localCtime(root: string): Promise<boolean> {
  if (process.platform === 'linux') {
    try { return LOCAL_FS.has(statfsSync(root).type); } catch { return false; }
  }
  if (process.platform === 'darwin') {
    const out = await new Promise<string>((res) => execFile('/sbin/mount', (err, o) => res(err ? '' : o)));
    try { return macLocal(out, realpathSync(root)); } catch { return false; }
  }
  return false;
}

/** The manifest's identity (its base's and delta's inode:size:mtimeMs): an export that changed it changes it. */
export function manifestFileId(manifest: string): string {
  return lstatSync(manifest, { throwIfNoEntry: false }) ? viewId(manifest) : '-';
}

/** The manifest was rewritten with the same entries (its hashes folded in): the record, bound to `from`, now names `to`. */
export async function rebindCtimeRecord(artifactDir: string, from: string, to: string): Promise<void> {
  const file = join(artifactDir, CTIME_RECORD_FILE);
  const r = await readJson<CtimeRecord>(file);
  if (r?.manifest === from) await writeFileAtomic(file, JSON.stringify({ ...r, manifest: to }) + '\n');
}

/** Why the last record cannot narrow this pass, or the record. */
export async function readCtimeRecord(o: { artifactDir: string; root: string; normalize: string; manifestId: string; stamp: Stamp }): Promise<{ record: CtimeRecord } | { reason: string }> {
  const r = await readJson<CtimeRecord>(join(o.artifactDir, CTIME_RECORD_FILE));
  if (!r || r.v !== 1 || !Array.isArray(r.dirs)) return { reason: 'no ctime stamp recorded by the last pass' };
  if (r.manifest !== o.manifestId) return { reason: 'the manifest is not the one the stamp was recorded with' };
  if (r.root !== o.root || r.normalize !== o.normalize) return { reason: 'another source or name normalisation' };
  const st = lstatSync(o.root);
  if (st.dev !== r.dev || st.ino !== r.ino) return { reason: 'the source directory was replaced' };
  if (o.stamp.ctimeMs < r.stampMs) return { reason: 'the clock stepped back since the last stamp' };
  if (!await localCtime(o.root)) return { reason: 'the source filesystem\'s ctime is not this kernel\'s (network or FUSE filesystem)' };
  return { record: r };
}
