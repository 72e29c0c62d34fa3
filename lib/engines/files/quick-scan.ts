/**
 * The fallback "what has changed?" of the delta and final passes, when the ctime scan (ctime-scan.ts:
 * O(changes), no record of every entry) cannot prove its answer, and the quiet window's sample (freeze.ts):
 * GNU find walks the tree in C and prints
 * every entry's parent, name, type, size, mtime and ctime (nanoseconds), mode, owner, inode, link count
 * and link target; ferry hashes the stream without parsing its fields, once whole (`quick`) and once per
 * directory over its direct children (`dirs`). Equal to the last export's `quick`, the tree is unchanged
 * in every way the manifest records (ctime moves with any write, chmod, chown or rename; a replaced
 * file has another inode); otherwise the directories whose hash differs (or that are new or gone) are
 * the only places that changed, so the final pass re-reads and copies only those (O(changes) in Node,
 * one C stat walk of the tree). Where there is no GNU find (macOS) or find fails, undefined: the caller
 * walks the whole tree in Node.
 *
 * Why a scan and not a watcher (Node 24's `fs.watch(dir, { recursive: true })`): on Linux Node emulates
 * recursion in JS (lib/internal/fs/recursive_watch.js): a synchronous readdir+stat walk of the whole tree
 * at start and one inotify watch per file *and* directory (100k files = 100k watches, over many hosts'
 * max_user_watches, and as slow as this scan); an inotify_add_watch failure (ENOSPC) inside that start
 * walk is emitted as 'error' before any listener exists and swallowed by its own try/catch, so the
 * watcher silently covers part of the tree; libuv drops IN_Q_OVERFLOW (its wd is -1: no watcher is
 * found for it), so a lost event cannot be detected; writes through mmap, through another name of a
 * hard link outside the tree, or from another host (NFS, SMB) raise no event at all. On macOS FSEvents
 * coalesces and may ask for a rescan (MustScanSubDirs), which libuv reports as a plain change of the
 * directory. A watcher can narrow nothing it cannot prove, and a process restart loses it; a stat walk
 * is the proof itself (the one rsync does, in C): this one and the ctime scan's are such walks.
 * (inotifywait reports Q_OVERFLOW and watches per directory, but is not on a stock host either.)
 * Coarse timestamps are a limit shared with rsync: a write in the same kernel tick as the last scan,
 * keeping size and inode, is seen by the next scan only through its later ctime.
 */
import { spawn } from 'node:child_process';
import { createHash, type Hash } from 'node:crypto';
import { changedBefore, type Stamp } from './ctime-stamp.ts';

// %h parent, %f name, then the stat fields, then the link target: four NUL-terminated fields per entry.
const FORMAT = '%h\\0%f\\0%y %s %T@ %C@ %m %U %G %i %n\\0%l\\0';

/** More directories than this and the per-directory map is not kept (the final pass walks the tree). */
export const DIRS_CAP = 200_000;

export interface QuickScan {
  /** sha256 of the whole stream: equal = nothing the manifest records changed. */
  readonly quick: string;
  /** Per directory (path relative to the root, latin1; the root is ''): hash of its direct children's records. */
  readonly dirs: Map<string, string> | undefined;
  /** With `stamp`: an entry printed changed after it (its ctime is not changedBefore the stamp). */
  readonly changedAfter?: boolean;
  /** With `size`: the regular files printed and their bytes (every name of a hard-linked file counted; an estimate from above). */
  readonly size?: { readonly files: number; readonly bytes: number };
}

/**
 * The tree's quick scan; undefined without GNU find or when it fails. `stamp`: also say whether any
 * entry printed changed after it (a scan run beside a walk: see export.ts fullExport).
 */
export async function quickScan(root: string, signal?: AbortSignal, o: { stamp?: Pick<Stamp, 'ctimeMs' | 'thresholdMs'>; size?: boolean } = {}): Promise<QuickScan | undefined> {
  const rootBuf = Buffer.from(root.replace(/\/+$/, '') || '/');
  const stamp = o.stamp;
  const size = o.size ? { files: 0, bytes: 0 } : undefined;
  return new Promise((resolve) => {
    const whole = createHash('sha256');
    const open = new Map<string, Hash>();
    let dirs: Map<string, Hash> | undefined = open;
    let changedAfter = false;
    let rest: Buffer = Buffer.alloc(0);
    // A chunk's complete records: parents are runs (a directory's children are contiguous until a
    // subdirectory's records come in between), so each run is one update of its directory's hash.
    const consume = (chunk: Buffer) => {
      whole.update(chunk);
      if (!dirs && (!stamp || changedAfter) && !size) return;
      const buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
      let i = 0;
      let runDir: string | undefined, runStart = 0, runBytes: Buffer | undefined;
      const flush = (end: number) => { if (dirs && runDir !== undefined && end > runStart) dirs.get(runDir)!.update(buf.subarray(runStart, end)); };
      for (;;) {
        const a = buf.indexOf(0, i); if (a < 0) break;
        const b = buf.indexOf(0, a + 1); if (b < 0) break;
        const c = buf.indexOf(0, b + 1); if (c < 0) break;
        const d = buf.indexOf(0, c + 1); if (d < 0) break;
        if (stamp && !changedAfter) changedAfter = !changedBefore(ctimeMsOf(buf, b + 1, c), stamp);
        if (size && buf[b + 1] === 0x66 /* f */) { size.files++; size.bytes += sizeOf(buf, b + 3, c); }
        const h = buf.subarray(i, a);
        // Most records continue the run: compared as bytes, decoded only when the parent changes.
        if (dirs && (!runBytes || !h.equals(runBytes))) {
          const parent = relDir(h, rootBuf);
          runBytes = Buffer.from(h);
          flush(i);
          runDir = parent; runStart = i; // whole records (parent included): the bytes hashed do not depend on where chunks split runs
          if (!dirs.has(parent)) {
            if (dirs.size >= DIRS_CAP) dirs = undefined;
            else dirs.set(parent, createHash('sha256'));
          }
        }
        i = d + 1;
      }
      flush(i);
      rest = Buffer.from(buf.subarray(i));
    };
    const child = spawn('find', [root, '-mindepth', '1', '-printf', FORMAT], { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, LC_ALL: 'C' }, ...(signal ? { signal } : {}) });
    child.stdout.on('data', consume);
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => {
      if (code !== 0) { resolve(undefined); return; }
      const out = dirs ? new Map([...dirs].map(([k, h]) => [k, h.digest('hex').slice(0, 32)])) : undefined;
      resolve({ quick: whole.digest('hex'), dirs: out, ...(stamp ? { changedAfter } : {}), ...(size ? { size } : {}) });
    });
  });
}

/**
 * The ctime (ms) in a record's stat field (`%y %s %T@ %C@ …`, bytes `from` to `to`); Infinity (changed)
 * when it cannot be read. Computed from whole seconds and nanoseconds as Node computes a Stats' ctimeMs
 * (seconds × 1000 + nanoseconds / 1e6): the same instant gives the same double as the stamp's ctimeMs.
 * parseFloat of the decimal string rounds differently, so a change in the stamp's own tick could read
 * as an ulp before it (a coarse clock gives both the same time) and a scan that saw it be kept.
 */
function ctimeMsOf(buf: Buffer, from: number, to: number): number {
  let at = from;
  for (let k = 0; k < 3; k++) { at = buf.indexOf(0x20, at); if (at < 0 || at >= to) return Infinity; at++; }
  const space = buf.indexOf(0x20, at);
  return stampMs(buf.toString('latin1', at, space < 0 || space > to ? to : space));
}

/** The `%s` field starting at `from` (up to the next space before `to`); 0 when malformed. */
function sizeOf(buf: Buffer, from: number, to: number): number {
  let n = 0;
  for (let k = from; k < to; k++) {
    const d = buf[k]! - 0x30;
    if (d < 0 || d > 9) break;
    n = n * 10 + d;
  }
  return n;
}

/** `%C@` (seconds, a point, up to 10 fraction digits) in ms as Node computes it; Infinity when malformed. */
export function stampMs(text: string): number {
  const m = /^(\d+)(?:\.(\d*))?$/.exec(text);
  if (!m) return Infinity;
  const ns = Number((m[2] ?? '').slice(0, 9).padEnd(9, '0'));
  return Number(m[1]) * 1000 + ns / 1e6;
}

/** The tree's quick fingerprint alone (see quickScan). */
export async function quickFingerprint(root: string, signal?: AbortSignal): Promise<string | undefined> {
  return (await quickScan(root, signal))?.quick;
}

/** `%h` relative to the root, as a latin1 string (one char per byte: any name round-trips). */
function relDir(h: Buffer, root: Buffer): string {
  if (h.length <= root.length) return '';
  return h.subarray(root.length + (root.length === 1 && root[0] === 0x2f ? 0 : 1)).toString('latin1');
}

/**
 * The directories to re-read: new ones, changed ones (their direct children's records differ), and the
 * parents of gone ones (their records changed too). `gone`: directories whose entries all left the tree.
 */
export function changedDirs(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): { changed: Set<string>; gone: Set<string> } {
  const changed = new Set<string>();
  const gone = new Set<string>();
  for (const [k, v] of after) if (before.get(k) !== v) changed.add(k);
  for (const k of before.keys()) if (!after.has(k)) gone.add(k);
  return { changed, gone };
}
