/**
 * Walk a tree in order (depth-first, names in byte order) and stream its manifest entries. What is not
 * data (`.DS_Store`, `._*`) is excluded and counted; sockets, FIFOs, devices, links leaving the tree and
 * unreadable entries are collected as refusals (by name, with the missing permission); NFD names, names
 * that are not UTF-8 and case-fold collisions are listed. Hashes come from the previous manifest when
 * size, mtime and inode are unchanged, so a re-scan reads only what changed.
 */
import { accessSync, constants, lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { posix } from 'node:path';
import { hash } from 'node:crypto';
import { hashFile } from './hash.ts';
import { readManifest, type ManifestEntry } from './manifest.ts';
import { orderedMap } from './ordered.ts';
import { isJunkName, joinRel, nfcOf, showPath, comparePaths } from './paths.ts';
import { youngGenerationTick } from './young-gen.ts';

/** Lists in a scan are capped; the count says how many there were. */
export const LIST_CAP = 1000;

export interface NamedList { count: number; readonly items: string[] }

export interface ScanReport {
  files: number; dirs: number; symlinks: number; hardlinks: number; bytes: number;
  /** `.DS_Store` and AppleDouble `._*` entries left out. */
  readonly excluded: NamedList & { bytes: number };
  /** Sockets, FIFOs, devices, links escaping the tree, unreadable entries: nothing moves while any. */
  readonly refused: NamedList;
  /** Names that differ from their NFC form. */
  readonly nfd: NamedList;
  /** Names that are not valid UTF-8. */
  readonly notUtf8: NamedList;
  /** Names that collide when case is folded (lost on a case-insensitive disk). */
  readonly caseCollisions: NamedList;
}

export interface WalkOptions {
  /**
   * Hash regular files (a bind target's manifest); `reuse`: only carry hashes over from `previous`, never
   * read a file (the export: the copy hashes what it reads); false: stat only (quiet checks, fingerprints).
   */
  readonly hash: boolean | 'reuse';
  /** A previous manifest (file, or its entries with their hashes) whose hashes are reused for unchanged files. */
  readonly previous?: string | AsyncIterable<ManifestEntry>;
  readonly normalize?: 'none' | 'nfc';
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
  /** Called per hashed file with its size. */
  readonly onHashed?: (bytes: number) => void;
  /** Fed every entry's stat (see fingerprintEntry): the tree's fingerprint from the same walk. */
  readonly fingerprint?: TreeFingerprint;
}

/**
 * A tree's fingerprint as a set: the sum, lane by lane (8 × 32 bits, mod 2^32), of each entry's sha256 over
 * its path, type, size, mtime, mode, owner and link. Order-free, so a pass that changed 5 entries updates
 * it with those alone (remove the old records, add the new ones) and gets what a walk of the tree sums.
 */
export class TreeFingerprint {
  private readonly lanes = new Uint32Array(8);
  /** The fingerprint `digest` returned (undefined for another format: the caller sums from scratch). */
  static from(digest: string | undefined): TreeFingerprint | undefined {
    if (!digest?.startsWith(PREFIX) || digest.length !== PREFIX.length + 64) return undefined;
    const f = new TreeFingerprint();
    const b = Buffer.from(digest.slice(PREFIX.length), 'hex');
    for (let i = 0; i < 8; i++) f.lanes[i] = b.readUInt32LE(i * 4);
    return f;
  }
  add(e: ManifestEntry): void { this.fold(e, 1); }
  remove(e: ManifestEntry): void { this.fold(e, -1); }
  private fold(e: ManifestEntry, sign: 1 | -1): void {
    const meta = Buffer.from(`\0${e.type}\0${e.size}\0${e.mtimeMs}\0${e.mode}\0${e.uid}:${e.gid}\0`);
    const d = hash('sha256', e.link ? Buffer.concat([e.path, meta, e.link]) : Buffer.concat([e.path, meta]), 'buffer');
    for (let i = 0; i < 8; i++) this.lanes[i] = (this.lanes[i]! + sign * d.readUInt32LE(i * 4)) >>> 0;
  }
  digest(): string {
    const b = Buffer.alloc(32);
    for (let i = 0; i < 8; i++) b.writeUInt32LE(this.lanes[i]!, i * 4);
    return PREFIX + b.toString('hex');
  }
}
const PREFIX = 'set:';

/** One entry's part of a tree fingerprint (see TreeFingerprint). */
export function fingerprintEntry(h: TreeFingerprint, e: ManifestEntry): void {
  h.add(e);
}

export function emptyScanReport(): ScanReport {
  const list = () => ({ count: 0, items: [] as string[] });
  return { files: 0, dirs: 0, symlinks: 0, hardlinks: 0, bytes: 0, excluded: { ...list(), bytes: 0 }, refused: list(), nfd: list(), notUtf8: list(), caseCollisions: list() };
}

function add(list: NamedList, item: string): void {
  list.count++;
  if (list.items.length < LIST_CAP) list.items.push(item);
}

function errCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/** ferry's own staging directory at a target's root: never part of a tree. */
export const STAGING_DIR = '.ferry-staging';

/** A shallow scan met what only a whole walk can name (a hard link's first name): walk the tree. */
export class NeedsFullWalk extends Error {}

/**
 * Raw entries (unhashed, stat only) in tree order. `shallow` (the final pass's re-read of a changed
 * directory): only the direct children of `shallow` (a relative directory, '' for the root), and a
 * multiply-linked file throws NeedsFullWalk (its first name may live in a directory not re-read), or
 * with `linksAsFiles` (a target's listing, compared by type, size and mtime) is listed as a file.
 */
export function* scanTree(root: string, report: ScanReport, normalize: 'none' | 'nfc' = 'none', shallow?: Buffer, o: { linksAsFiles?: boolean } = {}): Generator<ManifestEntry & { abs: Buffer }> {
  const rootBuf = Buffer.from(root);
  const firstName = new Map<string, Buffer>(); // dev:ino → first path of a multiply-linked inode
  const nonRoot = typeof process.getuid === 'function' && process.getuid() !== 0;
  const stack: Array<{ rel: Buffer; target: Buffer; names: Buffer[]; i: number }> = [];
  const open = (rel: Buffer, target: Buffer): void => {
    const abs = rel.length ? joinRel(rootBuf, rel) : rootBuf;
    let names: Buffer[];
    youngGenerationTick();
    try {
      names = readdirSync(abs, { encoding: 'buffer' });
    } catch (e) {
      if (errCode(e) === 'ENOENT' || errCode(e) === 'ENOTDIR') return; // gone, or no longer a directory: its parent's entry says what it is
      if (errCode(e) === 'EACCES') { add(report.refused, `directory ${showPath(rel) || '.'}: no read permission (r) for ferry's user`); return; }
      throw e;
    }
    names.sort(Buffer.compare);
    const folded = new Map<string, Buffer>();
    for (const n of names) {
      const ascii = isAscii(n); // most names: valid UTF-8 and NFC already, no decoding round trip
      const s = n.toString(ascii ? 'latin1' : 'utf8');
      if (!ascii && !Buffer.from(s, 'utf8').equals(n)) { add(report.notUtf8, showPath(joinRel(rel, n))); continue; }
      const key = (ascii ? s : s.normalize('NFC')).toLowerCase();
      const other = folded.get(key);
      if (other) add(report.caseCollisions, `${showPath(joinRel(rel, other))} and ${showPath(joinRel(rel, n))}`);
      else folded.set(key, n);
    }
    stack.push({ rel, target, names, i: 0 });
  };
  if (shallow && normalize !== 'none') throw new NeedsFullWalk('normalised names');
  // A re-read directory is listed only while it is a real directory (readdir would follow a link there).
  if (!shallow?.length || lstatSync(joinRel(rootBuf, shallow), { throwIfNoEntry: false })?.isDirectory()) open(shallow ?? Buffer.alloc(0), shallow ?? Buffer.alloc(0));
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    if (top.i >= top.names.length) { stack.pop(); continue; }
    const name = top.names[top.i++]!;
    if (top.rel.length === 0 && name.equals(STAGING)) continue;
    const path = joinRel(top.rel, name);
    const abs = joinRel(rootBuf, path);
    let st: Stats;
    try {
      st = lstatSync(abs);
    } catch (e) {
      if (errCode(e) === 'ENOENT') continue; // removed while walking: the quiet check catches a live tree
      if (errCode(e) === 'EACCES') { add(report.refused, `${showPath(path)}: no search permission (x) on its directory for ferry's user`); continue; }
      throw e;
    }
    if (isJunkName(name)) { add(report.excluded, showPath(path)); report.excluded.bytes += st.isFile() ? st.size : 0; continue; }
    const nfc = isAscii(name) ? undefined : nfcOf(name);
    if (nfc) add(report.nfd, showPath(path));
    const target = normalize === 'nfc' && (nfc || top.target !== top.rel) ? joinRel(top.target, nfc ?? name) : path;
    const base = {
      path, abs, size: 0, mode: st.mode & 0o7777, mtimeMs: Math.floor(st.mtimeMs), uid: st.uid, gid: st.gid,
      ...(target.equals(path) ? {} : { targetPath: target }),
    };
    if (st.isDirectory()) {
      if (nonRoot && !canAccess(abs, constants.R_OK | constants.X_OK)) { add(report.refused, `directory ${showPath(path)}: no read and search permission (r-x) for ferry's user`); continue; }
      report.dirs++;
      yield { ...base, type: 'dir' };
      if (!shallow) open(path, target);
    } else if (st.isFile()) {
      if (nonRoot && !canAccess(abs, constants.R_OK)) { add(report.refused, `file ${showPath(path)}: no read permission (r) for ferry's user`); continue; }
      if (st.nlink > 1 && !(shallow && o.linksAsFiles)) {
        if (shallow && !o.linksAsFiles) throw new NeedsFullWalk(`hard link ${showPath(path)}`);
        const key = `${st.dev}:${st.ino}`;
        const first = firstName.get(key);
        if (first) { report.hardlinks++; yield { ...base, type: 'hardlink', size: st.size, link: first }; continue; }
        firstName.set(key, path);
      }
      report.files++;
      report.bytes += st.size;
      const sparse = st.size > 0 && st.blocks * 512 < st.size;
      yield { ...base, type: 'file', size: st.size, ino: st.ino, ...(sparse ? { sparse } : {}) };
    } else if (st.isSymbolicLink()) {
      const link = readlinkSync(abs, { encoding: 'buffer' });
      const escape = linkEscapes(path, link);
      if (escape) { add(report.refused, `symlink ${showPath(path)} → ${showPath(link)}: ${escape}`); continue; }
      report.symlinks++;
      yield { ...base, type: 'symlink', link };
    } else {
      const kind = st.isSocket() ? 'socket' : st.isFIFO() ? 'FIFO' : st.isBlockDevice() ? 'block device' : 'character device';
      add(report.refused, `${kind} ${showPath(path)}: not data (a ${kind} cannot be copied)`);
    }
  }
}

const STAGING = Buffer.from(STAGING_DIR);

function isAscii(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i]! >= 0x80) return false;
  return true;
}

function canAccess(abs: Buffer, mode: number): boolean {
  try { accessSync(abs, mode); return true; } catch { return false; }
}

/** Why a symlink would lead out of the tree (absolute, or climbing above the root), else undefined. */
export function linkEscapes(path: Buffer, link: Buffer): string | undefined {
  const l = link.toString('latin1'); // one char per byte: path arithmetic stays byte-exact
  if (l.startsWith('/')) return 'an absolute link leads out of the tree (and breaks inside the container)';
  const resolved = posix.normalize(posix.join(posix.dirname(path.toString('latin1')), l));
  if (resolved === '..' || resolved.startsWith('../')) return 'the link leads out of the tree';
  return undefined;
}

/** Stream the manifest of `root`, filling `report` as it goes. */
export async function* walkTree(root: string, report: ScanReport, opts: WalkOptions): AsyncGenerator<ManifestEntry> {
  const prev = opts.previous ? (typeof opts.previous === 'string' ? readManifest(opts.previous) : opts.previous)[Symbol.asyncIterator]() : undefined;
  let prevHead: ManifestEntry | undefined;
  let prevDone = !prev;
  const previousOf = async (path: Buffer): Promise<ManifestEntry | undefined> => {
    while (!prevDone) {
      if (!prevHead) {
        const r = await prev!.next();
        if (r.done) { prevDone = true; return undefined; }
        prevHead = r.value;
      }
      const c = comparePaths(prevHead.path, path);
      if (c === 0) return prevHead;
      if (c > 0) return undefined;
      prevHead = undefined;
    }
    return undefined;
  };
  const raw = scanTree(root, report, opts.normalize ?? 'none');
  if (!prev && opts.hash !== true) {
    // Nothing to hash and no hash to carry over: the entries as the scan reads them (no per-entry promise).
    for (const e of raw) {
      opts.signal?.throwIfAborted();
      if (opts.fingerprint) fingerprintEntry(opts.fingerprint, e);
      const { abs: _abs, ...entry } = e;
      yield entry;
    }
    return;
  }
  async function* withPrevious(): AsyncGenerator<[ManifestEntry & { abs: Buffer }, ManifestEntry | undefined]> {
    for (const e of raw) {
      opts.signal?.throwIfAborted();
      if (opts.fingerprint) fingerprintEntry(opts.fingerprint, e);
      yield [e, opts.hash && e.type === 'file' ? await previousOf(e.path) : undefined];
    }
  }
  const hashed = orderedMap(withPrevious(), opts.concurrency ?? 8, async ([e, p]): Promise<ManifestEntry | undefined> => {
    const { abs, ...entry } = e;
    if (!opts.hash || e.type !== 'file') return entry;
    if (p && p.type === 'file' && p.size === e.size && p.mtimeMs === e.mtimeMs && p.ino === e.ino && p.sha256) return { ...entry, sha256: p.sha256 };
    if (opts.hash === 'reuse') return entry;
    try {
      const sha256 = await hashFile(abs, e.size, opts.signal);
      opts.onHashed?.(e.size);
      return { ...entry, sha256 };
    } catch (err) {
      if (errCode(err) === 'ENOENT') return undefined;
      if (errCode(err) === 'EACCES') { add(report.refused, `file ${showPath(e.path)}: no read permission (r) for ferry's user`); return undefined; }
      throw err;
    }
  });
  try {
    for await (const e of hashed) if (e) yield e;
  } finally {
    await prev?.return?.(undefined); // a previous manifest not read to its end is closed
  }
}
