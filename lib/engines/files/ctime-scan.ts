/**
 * The change scan of the delta and final passes, O(changes): `find ROOT -newercm STAMP -print0` prints
 * only the entries whose inode changed (ctime) after the last pass's stamp (ctime-stamp.ts: T, taken
 * before that pass read anything); an unchanged tree prints nothing. Otherwise only the printed
 * directories and the parents of printed entries are listed again (their direct children: ctime-rescan.ts),
 * and the result is merged into the last manifest (narrow.ts). On a large tree the find is split over one per
 * core along the last record's directories (scan-split.ts; see changedSince for why that prints enough).
 *
 * Why it misses nothing (Linux local filesystems, APFS/HFS+; see ctime-stamp.ts for where it is trusted):
 * - The last manifest M recorded each entry as the last pass read it, after its stamp. Any later change
 *   of an inode — a write (through any of a hard link's names, or mmap), truncate, chmod, chown, a link
 *   count change, a rename of it — sets its ctime to the kernel's clock, which is after the stamp, so
 *   ctime > T: find prints it. ctime cannot be set from user space (utimes moves it to now too).
 * - A directory's ctime moves whenever an entry is created, removed or renamed in it (POSIX requires it
 *   of the parent directories of rename, link, unlink, mkdir, rmdir): it is printed and listed again,
 *   which finds new names and, against M, the names that went.
 * - A printed entry's own record (type, size, mode, mtime) lives in its parent's listing: the parent of
 *   every printed entry is listed again.
 * - Paths can also change without their inodes changing: below a directory moved in (renamed from
 *   elsewhere, or another directory put at the path; the filesystems trusted set the moved inode's ctime
 *   too, the record does not rely on it). The record keeps every directory's inode: a directory met while
 *   listing again at a path M did not hold, or with another inode (or one not known for sure), is listed
 *   again too, and so on down; one with M's inode at M's path is the directory M recorded (a directory
 *   inode has one parent), so its subtree is M's but for what find printed. A directory of M that a
 *   listed directory no longer holds takes its whole subtree out of M.
 * - Everything else is an entry whose inode has not changed since T, at a path whose directories are
 *   the same inodes as M recorded: M's record of it is still exact, with its hash.
 * Whenever this cannot be shown, the caller walks the whole tree: no record, another manifest, a root
 *   replaced, the clock stepped back, a filesystem whose ctime is not this kernel's, a directory on
 *   another device (a mount inside the tree), no find with -newercm (GNU and BSD find have it), find
 *   failing (an unreadable directory: the walk names it), a hard link in a listed directory (its first
 *   name may be elsewhere), NFC names, or a change too wide to be worth it.
 */
import { spawn } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { changedBefore } from './ctime-stamp.ts';
import { joinRel } from './paths.ts';
import { livePlan, SPLIT, splitPlan, type RecordedDir, type ScanPart } from './scan-split.ts';

/** More printed entries than this and the whole walk is as cheap. */
export const PRINTED_CAP = 50_000;

/**
 * The paths (relative, raw bytes; the root is empty) of entries whose ctime is after `reference`'s
 * mtime; undefined when find fails or prints more than PRINTED_CAP. One recursive find, or, given the
 * last record's directories and a tree large enough, the same stat walk split over one find per core
 * (scan-split.ts: each group's directories listed with `-files0-from - -mindepth 1 -maxdepth 1`, its
 * subtrees walked with `-mindepth 1`); the root's own ctime is then read here.
 * What the split may not print, the recursive find would: entries below a directory the record does not
 * hold, met while listing a recorded one. Such a directory's topmost one is a direct child of a recorded
 * directory whose ctime moved when it was made or moved in: it is printed, so rescan lists that directory
 * again and, its path not recorded, every directory below it: the caller's result is the same. A
 * recorded directory gone (find fails on it) or a find without -files0-from (BSD, GNU < 4.9): the
 * recursive find instead.
 */
export async function changedSince(root: string, reference: string, signal?: AbortSignal, dirs?: readonly RecordedDir[]): Promise<Buffer[] | undefined> {
  const base = root.replace(/\/+$/, '') || '/';
  return scanWith(base, reference, dirs && SPLIT.filesFrom ? splitPlan(dirs) : undefined, signal);
}

/**
 * As changedSince, for a reference later than the record's threshold (the freeze's quiet window, where
 * nothing is listed again after: what is printed is all there is): split by livePlan, which walks whole
 * every directory the record does not hold.
 */
export async function changedInWindow(root: string, reference: string, signal?: AbortSignal, dirs?: readonly RecordedDir[]): Promise<Buffer[] | undefined> {
  const base = root.replace(/\/+$/, '') || '/';
  return scanWith(base, reference, dirs && SPLIT.filesFrom ? livePlan(base, dirs) : undefined, signal);
}

async function scanWith(base: string, reference: string, groups: readonly ScanPart[] | undefined, signal?: AbortSignal): Promise<Buffer[] | undefined> {
  if (groups) {
    const r = await splitScan(base, reference, groups, signal);
    if (r !== 'failed') return r;
    signal?.throwIfAborted();
  }
  const out = new Printed(base);
  return await runFind(['find', [base, '-newercm', reference, '-print0']], undefined, out, signal) === 'ok' ? out.paths : undefined;
}

/** The split scan (see changedSince): 'failed' when any find failed (the caller runs the recursive one). */
async function splitScan(base: string, reference: string, groups: readonly ScanPart[], signal?: AbortSignal): Promise<Buffer[] | undefined | 'failed'> {
  const out = new Printed(base);
  const rootBuf = Buffer.from(base);
  const parent = base === '/' ? Buffer.alloc(0) : rootBuf;
  const dirBuf = (d: string) => (d === '' ? rootBuf : Buffer.concat([parent, SLASH, Buffer.from(d, 'latin1')]));
  const kill = new AbortController();
  const stop = () => kill.abort();
  signal?.addEventListener('abort', stop, { once: true });
  try {
    const find = (starts: string[], depth: string[]) => runFind(['find', ['-files0-from', '-', '-mindepth', '1', ...depth, '-newercm', reference, '-print0']], Buffer.concat(starts.flatMap((d) => [dirBuf(d), NUL])), out, kill.signal)
      .then((r) => { if (r !== 'ok') stop(); if (/files0-from/.test(out.stderr)) SPLIT.filesFrom = false; return r; });
    const runs = groups.flatMap((g) => [...(g.lists.length ? [find(g.lists, ['-maxdepth', '1'])] : []), ...(g.trees.length ? [find(g.trees, [])] : [])]);
    const results = await Promise.all(runs);
    if (results.includes('over')) return undefined;
    if (results.some((r) => r !== 'ok')) return 'failed';
  } finally {
    signal?.removeEventListener('abort', stop);
  }
  // The root is no find's entry here: its own ctime against the reference's mtime, as find compares them.
  const [r, ref] = [lstatSync(base, { bigint: true, throwIfNoEntry: false }), lstatSync(reference, { bigint: true, throwIfNoEntry: false })];
  if (!r || !ref) return 'failed';
  if (r.ctimeNs > ref.mtimeNs) out.paths.push(Buffer.alloc(0));
  return out.paths;
}
const NUL = Buffer.alloc(1);
const SLASH = Buffer.from('/');

/** What the finds printed, relative to the root; `over` past PRINTED_CAP. */
class Printed {
  readonly paths: Buffer[] = [];
  over = false;
  /** The start of the finds' stderr (only read to tell a find without -files0-from). */
  stderr = '';
  readonly prefix: number;
  constructor(base: string) { this.prefix = base === '/' ? 1 : Buffer.byteLength(base) + 1; }
}

/** One find printing NUL-terminated paths into `out` (its starting points on stdin when given). */
function runFind([cmd, args]: [string, string[]], input: Buffer | undefined, out: Printed, signal?: AbortSignal): Promise<'ok' | 'over' | 'failed'> {
  return new Promise((resolve) => {
    let rest: Buffer = Buffer.alloc(0);
    const child = spawn(cmd, args, { stdio: [input ? 'pipe' : 'ignore', 'pipe', input ? 'pipe' : 'ignore'], env: { ...process.env, LC_ALL: 'C' }, ...(signal ? { signal } : {}) });
    if (input) {
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(input);
      child.stderr!.on('data', (c: Buffer) => { if (out.stderr.length < 1024) out.stderr += c.toString('latin1'); });
    }
    child.stdout!.on('data', (chunk: Buffer) => {
      if (out.over) { child.kill(); return; }
      const buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
      let i = 0;
      for (let z = buf.indexOf(0, i); z >= 0; i = z + 1, z = buf.indexOf(0, i)) {
        out.paths.push(z - i < out.prefix ? Buffer.alloc(0) : Buffer.from(buf.subarray(i + out.prefix, z)));
        if (out.paths.length > PRINTED_CAP) { out.over = true; child.kill(); return; }
      }
      rest = Buffer.from(buf.subarray(i));
    });
    child.on('error', () => resolve('failed'));
    child.on('close', (code) => resolve(out.over ? 'over' : code === 0 ? 'ok' : 'failed'));
  });
}

/**
 * The printed entries the last pass already read: T's margin (a second before its stamp) prints what
 * changed just before that pass too; an entry that changed before the stamp was created was read by the
 * walk after it (see changedBefore): kept out.
 */
export function seenByLastPass(root: string, printed: readonly Buffer[], stamp: { readonly ctimeMs: number; readonly thresholdMs: number }): Buffer[] {
  const rootBuf = Buffer.from(root);
  return printed.filter((p) => {
    const c = lstatSync(p.length ? joinRel(rootBuf, p) : rootBuf, { throwIfNoEntry: false })?.ctimeMs;
    return c === undefined || !changedBefore(c, stamp);
  });
}
