/**
 * The manifest of a tree: one NDJSON line per entry, in tree order (see comparePaths), written and read
 * as streams so memory stays flat however many files the tree holds.
 */
import { createWriteStream, lstatSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { comparePaths, decodePath, encodePath } from './paths.ts';
import { fsyncDir } from '../../util/atomic-write.ts';
import { dirname, join } from 'node:path';

export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink';

export interface ManifestEntry {
  /** Relative path, raw bytes. */
  readonly path: Buffer;
  readonly type: EntryType;
  /** Bytes (regular files and hard links); 0 otherwise. */
  readonly size: number;
  /** Permission bits (07777). */
  readonly mode: number;
  /** Modification time, whole milliseconds. */
  readonly mtimeMs: number;
  readonly uid: number;
  readonly gid: number;
  /** sha256 (hex) of a regular file's content. */
  readonly sha256?: string;
  /** A symlink's target, or for a hard link the path of the first name of the inode. */
  readonly link?: Buffer;
  /** A regular file with holes (fewer blocks than its size needs). */
  readonly sparse?: boolean;
  /** The name on the target when `normalize: "nfc"` changed it. */
  readonly targetPath?: Buffer;
  /** Inode number, to reuse a hash when size, mtime and inode are unchanged. */
  readonly ino?: number;
  /** Link count, when above 1 (a target's listing, before its hard links are named). */
  readonly nlink?: number;
}

const TYPE_CODE: Record<EntryType, string> = { file: 'f', dir: 'd', symlink: 'l', hardlink: 'h' };
const CODE_TYPE: Record<string, EntryType> = { f: 'file', d: 'dir', l: 'symlink', h: 'hardlink' };

export function entryToLine(e: ManifestEntry): string {
  const o: Record<string, unknown> = { ...encodePath(e.path), t: TYPE_CODE[e.type], s: e.size, m: e.mode, mt: e.mtimeMs, u: e.uid, g: e.gid };
  if (e.sha256) o.h = e.sha256;
  if (e.link) { const l = encodePath(e.link); o.l = 'p' in l ? l.p : undefined; o.l64 = 'p64' in l ? l.p64 : undefined; }
  if (e.sparse) o.sp = 1;
  if (e.targetPath) { const n = encodePath(e.targetPath); o.n = 'p' in n ? n.p : undefined; o.n64 = 'p64' in n ? n.p64 : undefined; }
  if (e.ino !== undefined) o.i = e.ino;
  if (e.nlink !== undefined && e.nlink > 1) o.k = e.nlink;
  return JSON.stringify(o);
}

export function lineToEntry(line: string): ManifestEntry {
  const o = JSON.parse(line) as { t: string; s: number; m: number; mt: number; u: number; g: number; h?: string; l?: string; l64?: string; sp?: number; n?: string; n64?: string; i?: number; k?: number; p?: string; p64?: string };
  const type = CODE_TYPE[o.t];
  if (!type) throw new TypeError(`manifest line has an unknown type \`${String(o.t)}\``);
  // One object, fields set in place (no spread per optional field: manifests are read by the 100k).
  const e: { -readonly [K in keyof ManifestEntry]: ManifestEntry[K] } = { path: decodePath(o), type, size: o.s, mode: o.m, mtimeMs: o.mt, uid: o.u, gid: o.g };
  if (o.h) e.sha256 = o.h;
  if (o.l !== undefined || o.l64 !== undefined) e.link = decodePath({ p: o.l, p64: o.l64 });
  if (o.sp) e.sparse = true;
  if (o.n !== undefined || o.n64 !== undefined) e.targetPath = decodePath({ p: o.n, p64: o.n64 });
  if (o.i !== undefined) e.ino = o.i;
  if (o.k !== undefined) e.nlink = o.k;
  return e;
}

/** The path an entry has on the target. */
export function targetPathOf(e: ManifestEntry): Buffer {
  return e.targetPath ?? e.path;
}

/**
 * Stream a manifest file's entries in order. Pull-based (a read per `bufferBytes`, 256 KiB, as lines are asked for):
 * readline's async iterator reads ahead of a slow consumer and would queue the whole manifest.
 */
export async function* readManifest(file: string, bufferBytes = 1 << 18): AsyncGenerator<ManifestEntry> {
  yield* readManifestSkipping(file, undefined, bufferBytes) as AsyncGenerator<ManifestEntry>;
}

/** Stands for a line `readManifestSkipping` did not parse. */
export const SKIPPED: unique symbol = Symbol('skipped manifest line');

/**
 * The manifest's entries, except that a line whose path (plain ASCII, read without parsing the line)
 * `skip` accepts is not parsed: SKIPPED stands in its place, so positions stay aligned. Any other path
 * (escaped, non-ASCII, base64) is parsed as usual.
 */
export async function* readManifestSkipping(file: string, skip: ((path: string) => boolean) | undefined, bufferBytes = 1 << 18): AsyncGenerator<ManifestEntry | typeof SKIPPED> {
  const entry = (line: string): ManifestEntry | typeof SKIPPED => {
    if (skip && line.startsWith('{"p":"')) {
      const end = line.indexOf('"', 6);
      const path = line.slice(6, end);
      if (end > 6 && /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/.test(path) && skip(path)) return SKIPPED;
    }
    return lineToEntry(line);
  };
  for await (const text of lineBlocks(file, bufferBytes)) for (const line of text.split('\n')) if (line) yield entry(line);
}

/**
 * A manifest-format file's text a read at a time, each block ending at a newline (the newline not
 * included): bytes after the last newline of a read wait for the next and are decoded once whole (a
 * UTF-8 sequence may be cut); the file's last line comes last, with or without its newline. One await
 * per block, not per line. A manifest with a delta (see DELTA_SUFFIX) reads merged with it: every reader
 * sees the one view, and so does one whose base was written anew beside it (see baseFileOf).
 */
export async function* lineBlocks(file: string, bufferBytes = 1 << 18): AsyncGenerator<string> {
  const fh = await open(baseFileOf(file), 'r');
  try {
    const delta = readDelta(file, await fh.stat());
    const blocks = rawBlocks(fh, bufferBytes);
    yield* delta?.length ? mergeDelta(blocks, delta) : blocks;
  } finally {
    await fh.close();
  }
}

async function* rawBlocks(fh: FileHandle, bufferBytes: number): AsyncGenerator<string> {
  // One buffer: the part line a read ends with moves to its start and the next read follows it (no
  // concatenation per read); each block's whole lines are decoded straight from it.
  let buf = Buffer.allocUnsafe(bufferBytes);
  let have = 0;
  for (;;) {
    if (have === buf.length) { const b = Buffer.allocUnsafe(buf.length * 2); buf.copy(b, 0, 0, have); buf = b; } // a line longer than the buffer
    const { bytesRead } = await fh.read(buf, have, buf.length - have, null);
    if (bytesRead === 0) break;
    const end = have + bytesRead;
    const nl = buf.lastIndexOf(0x0a, end - 1);
    if (nl < 0) { have = end; continue; }
    const text = buf.toString('utf8', 0, nl);
    have = buf.copy(buf, 0, nl + 1, end);
    yield text;
  }
  if (have) yield buf.toString('utf8', 0, have);
}

/**
 * The final pass's changes to a manifest, beside it (`manifest.ndjson.delta`): a header line naming the
 * base file it applies to (inode:size:mtime), then lines in tree order, each a manifest line (the entry
 * at that path, new or replacing the base's) or a removal (`{"p":…,"x":1}`). A pass that changed 5
 * entries writes this small file (atomically), not the whole manifest again; a base written anew
 * (another inode) leaves a delta of the old one ignored. See manifest-delta.ts.
 */
export const DELTA_SUFFIX = '.delta';

/** One line of a delta: the entry's path and its line, or no line (removed). */
export interface DeltaLine { readonly path: Buffer; readonly line: string | undefined }

/**
 * The base's record beside the manifest (`manifest.ndjson.base.json`): the base file it describes
 * (inode:size:mtime) and how many of its files lack a hash; and, when the base was written anew after
 * the export (the copy's hashes folded in, a final pass compacted), that file's name (`file`, beside
 * the manifest) and the identity of the manifest it replaces (`of`). The manifest itself is the export
 * step's artifact (its sha256 is journaled, and the import's input): nothing after the export rewrites
 * it, so a resumed run never sees it changed and never runs the export and the whole copy again. The
 * record is the one point where a base written beside takes over: written (atomically) after the file,
 * and the file it named before removed after it, so a kill at any point leaves a base that is whole.
 */
export const BASE_SUFFIX = '.base.json';

export interface BaseRecord { readonly base: string; readonly unhashed: number; readonly file?: string; readonly of?: string }

/** The prefix of a base written beside the manifest (a unique suffix follows). */
export const BESIDE_INFIX = '.base-';

/** The copy's hash log, beside the manifest (hashes.ts; named here so a record of it needs not load the log's code). */
export const HASHES_FILE = 'hashes.ndjson';

/** The file readers of `manifest` read as its base: the base written beside it when the record binds one to this manifest, else the manifest. */
export function baseFileOf(manifest: string): string {
  let r: BaseRecord;
  try { r = JSON.parse(readFileSync(manifest + BASE_SUFFIX, 'utf8')) as BaseRecord; } catch { return manifest; }
  if (!r.file || r.file.includes('/')) return manifest;
  const f = join(dirname(manifest), r.file);
  const m = lstatSync(manifest, { throwIfNoEntry: false }), b = lstatSync(f, { throwIfNoEntry: false });
  return m && b && r.of === baseIdOf(m) && r.base === baseIdOf(b) ? f : manifest;
}

/** The identity a delta is bound to: the base file's inode, size and mtime. */
export function baseIdOf(st: { ino: number; size: number; mtimeMs: number }): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}`;
}

/** The delta of `manifest` whose base is the file `st` describes, in tree order; undefined: none (or another base's). */
export function readDelta(manifest: string, st: { ino: number; size: number; mtimeMs: number }): DeltaLine[] | undefined {
  let text: string;
  try { text = readFileSync(manifest + DELTA_SUFFIX, 'utf8'); } catch { return undefined; }
  const lines = text.split('\n');
  const head = JSON.parse(lines[0] ?? '{}') as { base?: string };
  if (head.base !== baseIdOf(st)) return undefined;
  const out: DeltaLine[] = [];
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!;
    if (!l) continue;
    const gone = l.endsWith(',"x":1}');
    out.push({ path: pathOfLine(l), line: gone ? undefined : l });
  }
  return out;
}

/** A manifest line's path (read without parsing the line when it is plain). */
export function pathOfLine(line: string): Buffer {
  if (line.startsWith('{"p":"')) {
    const end = line.indexOf('"', 6);
    const s = line.slice(6, end);
    if (end > 6 && !s.includes('\\')) return Buffer.from(s, 'utf8');
  }
  return decodePath(JSON.parse(line) as { p?: string; p64?: string });
}

/** Base blocks merged with a delta: a block wholly before the next delta path passes as it is (one path read per block). */
async function* mergeDelta(blocks: AsyncIterable<string>, delta: readonly DeltaLine[]): AsyncGenerator<string> {
  let k = 0;
  for await (const text of blocks) {
    if (k >= delta.length) { yield text; continue; }
    const last = text.slice(text.lastIndexOf('\n') + 1);
    if (last && comparePaths(delta[k]!.path, pathOfLine(last)) > 0) { yield text; continue; }
    const out: string[] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      if (k >= delta.length) { out.push(line); continue; }
      const p = pathOfLine(line);
      while (k < delta.length && comparePaths(delta[k]!.path, p) < 0) { const d = delta[k++]!; if (d.line) out.push(d.line); }
      if (k < delta.length && comparePaths(delta[k]!.path, p) === 0) { const d = delta[k++]!; if (d.line) out.push(d.line); continue; }
      out.push(line);
    }
    if (out.length) yield out.join('\n');
  }
  const tail: string[] = [];
  for (; k < delta.length; k++) if (delta[k]!.line) tail.push(delta[k]!.line!);
  if (tail.length) yield tail.join('\n');
}

/** Write entries to `file` (temp name, fsync, rename): a killed run never leaves half a manifest. */
export async function writeManifest(file: string, entries: AsyncIterable<ManifestEntry>): Promise<{ entries: number }> {
  return { entries: await writeLines(file, lines(entries)) };
}

async function* lines(entries: AsyncIterable<ManifestEntry>): AsyncGenerator<string> {
  for await (const e of entries) yield entryToLine(e);
}

/** Write lines to `file` (a temp name, fsync, rename, fsync of the directory); the number of lines. */
export async function writeLines(file: string, lines: AsyncIterable<string>): Promise<number> {
  const tmp = `${file}.${process.pid}.part`;
  const out = createWriteStream(tmp, { highWaterMark: 1 << 20 });
  let n = 0, buf = '';
  try {
    for await (const l of lines) {
      buf += l + '\n';
      n++;
      if (buf.length > 1 << 16) { if (!out.write(buf)) await once(out, 'drain'); buf = ''; }
    }
    if (buf) out.write(buf);
    await new Promise<void>((res, rej) => out.end((err?: Error | null) => (err ? rej(err) : res())));
  } catch (e) {
    out.destroy();
    await rm(tmp, { force: true });
    throw e;
  }
  const fh = await open(tmp, 'r+');
  try { await fh.sync(); } finally { await fh.close(); }
  await rename(tmp, file);
  await fsyncDir(dirname(file));
  return n;
}
