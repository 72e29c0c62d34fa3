/**
 * The manifest as a base and a delta (manifest.ts DELTA_SUFFIX): a pass that changed a few entries
 * writes only those (the delta, rewritten whole: it is small), read merged with the base by every
 * reader; the base is written anew (compacted) only when the delta grows past a fraction of it, or
 * when the base does not carry every file's hash (the copy's hash log of a scoped pass holds only the
 * scope's: a base relying on the log would lose the rest). The pass itself reads only what it changes:
 * a directory's children and a removed subtree come from the sorted base by binary search (O(log n)
 * reads each), not from a walk of its lines.
 *
 * Atomic at every point: the delta is renamed into place (temp, fsync, rename, fsync of the directory);
 * a base written anew has another inode, so a delta left by a kill between that rename and its removal
 * names another base and is ignored; the base's record (`.base.json`: how many files lack a hash) names
 * the base it describes, or is not trusted (the pass compacts). After the export, a base written anew
 * (the copy's hashes folded in, a compaction, a final pass's whole walk) goes beside the manifest file,
 * which is the export step's journaled artifact and stays byte for byte as the export wrote it; the
 * record makes it the base (manifest.ts BaseRecord, baseFileOf).
 */
import { closeSync, fstatSync, lstatSync, openSync, readSync, readFileSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { BASE_SUFFIX, baseFileOf, baseIdOf, BESIDE_INFIX, DELTA_SUFFIX, entryToLine, lineToEntry, pathOfLine, readDelta, writeLines, type BaseRecord, type DeltaLine, type ManifestEntry } from './manifest.ts';
import { comparePaths } from './paths.ts';

export { BASE_SUFFIX, baseFileOf };

/** Past this many delta lines (and past BASE_FRACTION of the base's entries) the next pass compacts. */
export const DELTA_MIN = 2048;
export const BASE_FRACTION = 1 / 16;

/** The identity of what a reader of `manifest` sees (base and delta files), to bind records to. */
export function viewId(manifest: string): string {
  const id = (f: string) => { const s = lstatSync(f, { throwIfNoEntry: false }); return s ? baseIdOf(s) : '-'; };
  return `${id(baseFileOf(manifest))}+${id(manifest + DELTA_SUFFIX)}`;
}

/** Files of the base without a hash (undefined: not known for this base). */
export function baseUnhashed(manifest: string): number | undefined {
  try {
    const r = JSON.parse(readFileSync(manifest + BASE_SUFFIX, 'utf8')) as BaseRecord;
    return r.base === baseIdOf(lstatSync(baseFileOf(manifest))) ? r.unhashed : undefined;
  } catch { return undefined; }
}

/** A new name for a base written beside `manifest` (see BaseRecord). */
export function besideName(manifest: string): string {
  // node:crypto is taken here, not imported with the module: a pass that writes nothing never loads it.
  return `${manifest}${BESIDE_INFIX}${Date.now().toString(36)}-${process.getBuiltinModule('node:crypto').randomBytes(3).toString('hex')}`;
}

/**
 * Write `entries` as the new base (atomically): beside the manifest when there is one (the export's
 * artifact stays byte for byte as the export wrote it, see BaseRecord), else as the manifest. Drops the
 * delta it supersedes (already merged into them) and records how many files lack a hash. The number of entries.
 */
export async function writeBase(manifest: string, entries: AsyncIterable<ManifestEntry>): Promise<{ entries: number; unhashed: number }> {
  let unhashed = 0, n = 0;
  async function* lines(): AsyncGenerator<string> {
    for await (const e of entries) { if (e.type === 'file' && !e.sha256) unhashed++; n++; yield entryToLine(e); }
  }
  await writeBaseLines(manifest, lines(), () => unhashed);
  return { entries: n, unhashed };
}

/** As writeBase, from the lines themselves (each item one or more whole lines, joined by LF); `unhashed` is asked once they are all read. */
export async function writeBaseLines(manifest: string, lines: AsyncIterable<string>, unhashed: () => number): Promise<void> {
  const beside = lstatSync(manifest, { throwIfNoEntry: false }) ? besideName(manifest) : undefined;
  await writeLines(beside ?? manifest, lines);
  await settleBase(manifest, unhashed(), beside);
}

/**
 * After the base was replaced (the manifest itself, or the file `beside` it now read in its place): its
 * record (the commit: until it is written, readers keep the base before), then the old delta and any
 * other base beside the manifest gone.
 */
export async function settleBase(manifest: string, unhashed: number, beside?: string): Promise<void> {
  const r: BaseRecord = beside
    ? { base: baseIdOf(lstatSync(beside)), unhashed, file: basename(beside), of: baseIdOf(lstatSync(manifest)) }
    : { base: baseIdOf(lstatSync(manifest)), unhashed };
  await writeFileAtomic(manifest + BASE_SUFFIX, JSON.stringify(r) + '\n');
  await rm(manifest + DELTA_SUFFIX, { force: true });
  await dropStaleBases(manifest, beside);
}

/** Bases beside `manifest` other than `keep` (left by an earlier pass, or a kill before its record). */
async function dropStaleBases(manifest: string, keep: string | undefined): Promise<void> {
  const prefix = basename(manifest) + BESIDE_INFIX;
  const names = await readdir(dirname(manifest)).catch(() => [] as string[]);
  for (const n of names) if (n.startsWith(prefix) && (!keep || n !== basename(keep))) await rm(join(dirname(manifest), n), { force: true });
}

/** Write the delta (lines in tree order) for the base as it is now. */
export async function writeDelta(manifest: string, delta: readonly DeltaLine[]): Promise<void> {
  const head = JSON.stringify({ base: baseIdOf(lstatSync(baseFileOf(manifest))) });
  async function* lines(): AsyncGenerator<string> {
    yield head;
    for (const d of delta) yield d.line ?? `${JSON.stringify(pathField(d.path)).slice(0, -1)},"x":1}`;
  }
  await writeLines(manifest + DELTA_SUFFIX, lines());
}

function pathField(path: Buffer): { p: string } | { p64: string } {
  const s = path.toString('utf8');
  return Buffer.from(s, 'utf8').equals(path) ? { p: s } : { p64: path.toString('base64') };
}

/** A file of lines sorted by path (a manifest or a hash log), read at offsets (the last block read is kept: lines in a row cost one read per block). */
export class SortedLines {
  private readonly fd: number;
  readonly size: number;
  private readonly buf = Buffer.alloc(1 << 16);
  /** The file's bytes [at, at + len) are in `buf`. */
  private at = 0;
  private len = 0;
  constructor(file: string) { this.fd = openSync(file, 'r'); this.size = fstatSync(this.fd).size; }
  stat() { return fstatSync(this.fd); }
  close(): void { closeSync(this.fd); }

  /** The block holding byte `pos` (read when it is not the kept one). */
  private block(pos: number): Buffer {
    if (pos < this.at || pos >= this.at + this.len) { this.at = pos; this.len = Math.max(0, readSync(this.fd, this.buf, 0, this.buf.length, pos)); }
    return this.buf.subarray(pos - this.at, this.len);
  }

  /** The line starting at `at` (without its newline), undefined at the end. */
  lineAt(at: number): string | undefined {
    if (at >= this.size) return undefined;
    const parts: Buffer[] = [];
    for (let pos = at; pos < this.size;) {
      const b = this.block(pos);
      if (!b.length) break;
      const nl = b.indexOf(0x0a);
      if (nl >= 0) { parts.push(b.subarray(0, nl)); break; }
      parts.push(Buffer.from(b));
      pos += b.length;
    }
    return (parts.length === 1 ? parts[0]! : Buffer.concat(parts)).toString('utf8');
  }

  /** The first line start at or after `at`. */
  private lineStart(at: number): number {
    if (at <= 0) return 0;
    for (let pos = at - 1; pos < this.size;) {
      const b = this.block(pos);
      if (!b.length) break;
      const nl = b.indexOf(0x0a);
      if (nl >= 0) return pos + nl + 1;
      pos += b.length;
    }
    return this.size;
  }

  /** The offset of the first line whose path is not below `key` (the size when none). */
  lowerBound(key: Buffer): number {
    let lo = 0, hi = this.size;
    while (lo < hi) {
      const mid = lo + Math.floor((hi - lo) / 2);
      const s = this.lineStart(mid);
      if (s >= hi) {
        // No line starts in [mid, hi): step over the line at lo.
        const l = this.lineAt(lo)!;
        if (comparePaths(pathOfLine(l), key) >= 0) return lo;
        lo += Buffer.byteLength(l) + 1;
        continue;
      }
      const l = this.lineAt(s)!;
      if (comparePaths(pathOfLine(l), key) < 0) lo = s + Buffer.byteLength(l) + 1; else hi = s;
    }
    return lo;
  }

  /** Lines from `at` on, each with the offset after it. */
  *linesFrom(at: number): Generator<readonly [string, number]> {
    for (let pos = at; pos < this.size;) {
      const l = this.lineAt(pos);
      if (l === undefined) return;
      pos += Buffer.byteLength(l) + 1;
      if (l) yield [l, pos];
    }
  }
}

interface PathLine { readonly path: Buffer; readonly line: string }

/**
 * A directory's line (entryToLine writes the path first, then `"t"`: a JSON string holds no bare `"`,
 * so the first `,"t":"` is the type's).
 */
function isDirLine(l: string): boolean {
  const i = l.indexOf(',"t":"');
  return i >= 0 ? l.charCodeAt(i + 6) === 0x64 /* d */ : lineToEntry(l).type === 'dir';
}

const SLASH = Buffer.from('/');
const NUL = Buffer.from([0]);
const isUnder = (p: Buffer, dir: Buffer) => dir.length === 0 ? p.length > 0 : p.length > dir.length && p[dir.length] === 0x2f && p.subarray(0, dir.length).equals(dir);
const parentOf = (p: Buffer) => { const i = p.lastIndexOf(0x2f); return i < 0 ? Buffer.alloc(0) : p.subarray(0, i); };

/** The manifest as its readers see it (base merged with its delta), read at the places a pass changes. */
export class ManifestView {
  private readonly base: SortedLines;
  /** The delta by path (latin1). */
  readonly delta: Map<string, DeltaLine>;
  readonly baseId: string;
  constructor(manifest: string) {
    this.base = new SortedLines(baseFileOf(manifest));
    const st = this.base.stat();
    this.baseId = baseIdOf(st);
    this.delta = new Map((readDelta(manifest, st) ?? []).map((d) => [d.path.toString('latin1'), d]));
  }
  close(): void { this.base.close(); }

  /** The entries directly in `dir` (relative; empty = the root), in tree order. */
  children(dir: Buffer): ManifestEntry[] {
    return this.childLines(dir).map((c) => lineToEntry(c.line));
  }

  /** As `children`, each entry's line as the manifest holds it (not parsed). */
  childLines(dir: Buffer): PathLine[] {
    const out: PathLine[] = [];
    let pos = dir.length ? this.base.lowerBound(Buffer.concat([dir, SLASH])) : 0;
    for (;;) {
      const l = this.base.lineAt(pos);
      if (l === undefined) break;
      const p = pathOfLine(l);
      if (!isUnder(p, dir)) break;
      pos += Buffer.byteLength(l) + 1;
      if (!parentOf(p).equals(dir)) continue; // not expected (a subtree is skipped below): read past it
      if (!this.delta.has(p.toString('latin1'))) out.push({ path: p, line: l });
      // A subdirectory's subtree is skipped: the next line at or after `path\0` is its next sibling.
      if (isDirLine(l)) pos = this.base.lowerBound(Buffer.concat([p, NUL]));
    }
    for (const d of this.delta.values()) if (d.line && parentOf(d.path).equals(dir)) out.push({ path: d.path, line: d.line });
    return out.sort((a, b) => comparePaths(a.path, b.path));
  }

  /** The line of the entry at `path`, if any. */
  lineAt(path: Buffer): string | undefined {
    const d = this.delta.get(path.toString('latin1'));
    if (d) return d.line;
    const l = this.base.lineAt(this.base.lowerBound(path));
    return l !== undefined && pathOfLine(l).equals(path) ? l : undefined;
  }

  /** The entry at `path`, if any. */
  entryAt(path: Buffer): ManifestEntry | undefined {
    const l = this.lineAt(path);
    return l === undefined ? undefined : lineToEntry(l);
  }

  /** Every entry below `dir` (not `dir` itself), in tree order. */
  subtree(dir: Buffer): ManifestEntry[] {
    const out: ManifestEntry[] = [];
    for (const [l] of this.base.linesFrom(dir.length ? this.base.lowerBound(Buffer.concat([dir, SLASH])) : 0)) {
      const p = pathOfLine(l);
      if (!isUnder(p, dir)) break;
      if (!this.delta.has(p.toString('latin1'))) out.push(lineToEntry(l));
    }
    return this.withDelta(out, (p) => isUnder(p, dir));
  }

  private withDelta(fromBase: ManifestEntry[], wanted: (p: Buffer) => boolean): ManifestEntry[] {
    for (const d of this.delta.values()) if (d.line && wanted(d.path)) fromBase.push(lineToEntry(d.line));
    return fromBase.sort((a, b) => comparePaths(a.path, b.path));
  }
}

/** The hash a sorted hash log records for `e` (same path, size, mtime, and inode when both know it). */
export function hashIn(log: SortedLines, e: ManifestEntry): string | undefined {
  const l = log.lineAt(log.lowerBound(e.path));
  if (l === undefined || !pathOfLine(l).equals(e.path)) return undefined;
  const h = lineToEntry(l);
  return h.size === e.size && h.mtimeMs === e.mtimeMs && (h.ino === undefined || e.ino === undefined || h.ino === e.ino) ? h.sha256 : undefined;
}

/**
 * The part of the manifest a scoped pass can change (copied.ts ScopeRecord): the scoped directories and
 * their direct children, in tree order, written to `out` (read by binary search: O(scope), not O(tree)).
 * The copy given it instead of the whole manifest reads only those lines. The number of entries.
 */
export async function writeScopeManifest(manifest: string, dirs: Iterable<string>, out: string): Promise<number> {
  const view = new ManifestView(manifest);
  try {
    // Lines as the manifest holds them (not parsed and written again: a re-read directory may hold thousands).
    const m = new Map<string, PathLine>();
    for (const d of dirs) {
      const b = Buffer.from(d, 'latin1');
      const self = b.length ? view.lineAt(b) : undefined;
      if (self !== undefined) m.set(d, { path: b, line: self });
      for (const c of view.childLines(b)) m.set(c.path.toString('latin1'), c);
    }
    const sorted = [...m.values()].sort((a, b) => comparePaths(a.path, b.path));
    return await writeLines(out, (async function* () { for (const c of sorted) yield c.line; })());
  } finally {
    view.close();
  }
}
