/**
 * The manifest's sha256 per file, computed while copying (from the same read as the copy): the export
 * only stats, the import hashes what it copies and appends `{path, size, mtime, ino, sha256}` lines in
 * tree order to `hashes.ndjson.part` beside the manifest (no rewrite per file, no fsync per file),
 * renamed to `hashes.ndjson` once the copy is complete. A killed copy's partial log is kept as
 * `hashes.prev.ndjson` and read by the resumed run for the files it skips. A hash applies to a manifest
 * entry only when path, size, mtime (and inode, when both know it) agree: a stale log adds nothing.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { entryToLine, HASHES_FILE, lineBlocks, lineToEntry, pathOfLine, readManifest, writeManifest, type ManifestEntry } from './manifest.ts';
import { ExternalSort } from './external-sort.ts';
import { comparePaths } from './paths.ts';
import { hashIn, SortedLines } from './manifest-delta.ts';

export { HASHES_FILE };
const PART = `${HASHES_FILE}.part`;
const PREV = 'hashes.prev.ndjson';

/** True when `h` is the hash record of `e` (same path, size, mtime, and inode when both carry one). */
function matches(e: ManifestEntry, h: ManifestEntry): boolean {
  return h.size === e.size && h.mtimeMs === e.mtimeMs && (h.ino === undefined || e.ino === undefined || h.ino === e.ino) && h.sha256 !== undefined;
}

/**
 * A manifest-format file's entries, parsed a read (256 KiB) at a time: one await per batch, not one
 * per line through nested generators (the hash join of 100k lines cost 3x the parse that way).
 * `tolerant`: a torn last line (a killed writer) ends it.
 */
export async function* manifestBatches(file: string, tolerant = false): AsyncGenerator<ManifestEntry[]> {
  for await (const b of manifestLineBatches(file, tolerant)) yield b.entries;
}

/** As manifestBatches, with each entry's line as read (written back as is when nothing in it changes). */
export async function* manifestLineBatches(file: string, tolerant = false): AsyncGenerator<{ entries: ManifestEntry[]; lines: string[] }> {
  for await (const text of lineBlocks(file)) {
    const out = { entries: [] as ManifestEntry[], lines: [] as string[] };
    let ok = true;
    for (const line of text.split('\n')) {
      if (!line) continue;
      try { out.entries.push(lineToEntry(line)); out.lines.push(line); } catch (e) { if (tolerant && e instanceof SyntaxError) { ok = false; break; } throw e; }
    }
    if (out.entries.length) yield out;
    if (!ok) return;
  }
}

/** A forward-only reader of a sorted hash log; a torn last line (a killed writer) ends it. */
export class HashCursor {
  private readonly it: AsyncIterator<ManifestEntry[]> | undefined;
  private batch: ManifestEntry[] = [];
  private pos = 0;
  private done = false;
  constructor(file: string | undefined) { this.it = file ? manifestBatches(file, true)[Symbol.asyncIterator]() : undefined; this.done = !file; }
  static async open(file: string): Promise<HashCursor> {
    return new HashCursor(await stat(file).then(() => file, () => undefined));
  }
  /** Stop reading (closes the file when it was not read to its end). */
  async close(): Promise<void> { this.done = true; await this.it?.return?.(undefined); }

  /** The sha256 recorded for `e`, if any (entries must be asked in tree order). */
  async hashOf(e: ManifestEntry): Promise<string | undefined> {
    while (!this.done) {
      if (this.pos >= this.batch.length) {
        const r = await this.it!.next();
        if (r.done) { this.done = true; return undefined; }
        this.batch = r.value;
        this.pos = 0;
        continue;
      }
      const h = this.batch[this.pos]!;
      const c = comparePaths(h.path, e.path);
      if (c > 0) return undefined;
      this.pos++;
      if (c === 0) return matches(e, h) ? h.sha256 : undefined;
    }
    return undefined;
  }
}

interface HashLookup { hashOf(e: ManifestEntry): Promise<string | undefined>; close(): Promise<void> }

/** A sorted hash log searched by path (manifest-delta.ts SortedLines); a torn last line (a killed writer) holds no hash. */
class HashSearch implements HashLookup {
  private readonly lines: SortedLines | undefined;
  private constructor(lines: SortedLines | undefined) { this.lines = lines; }
  static async open(file: string): Promise<HashSearch> {
    return new HashSearch(await stat(file).then(() => new SortedLines(file), () => undefined));
  }
  async hashOf(e: ManifestEntry): Promise<string | undefined> {
    if (!this.lines) return undefined;
    try { return hashIn(this.lines, e); } catch (err) { if (err instanceof SyntaxError) return undefined; throw err; }
  }
  async close(): Promise<void> { this.lines?.close(); }
}

/** The manifest's entries with sha256 filled from the hash log where the manifest has none. */
export async function* withHashes(entries: AsyncIterable<ManifestEntry>, artifactDir: string): AsyncGenerator<ManifestEntry> {
  const cur = await HashCursor.open(join(artifactDir, HASHES_FILE));
  try {
    for await (const e of entries) {
      if (e.type !== 'file' || e.sha256) { yield e; continue; }
      const h = await cur.hashOf(e);
      yield h ? { ...e, sha256: h } : e;
    }
  } finally {
    await cur.close();
  }
}

/** The manifest with its hashes: what the target must hold, in tree order (read a batch at a time). */
export async function* readHashedManifest(manifest: string, artifactDir: string): AsyncGenerator<ManifestEntry> {
  const cur = await HashCursor.open(join(artifactDir, HASHES_FILE));
  try {
    for await (const batch of manifestBatches(manifest)) {
      for (const e of batch) {
        // Entries fresh from the parse: filled in place (no copy per entry).
        if (e.type === 'file' && !e.sha256) { const h = await cur.hashOf(e); if (h) (e as { sha256?: string }).sha256 = h; }
        yield e;
      }
    }
  } finally {
    await cur.close();
  }
}

/**
 * The manifest with its hashes, each entry with its line: a hash joined from the log is appended to the
 * line (`,"h":…` before its closing brace: a key's place in the object does not matter to the reader).
 */
export async function* readHashedLines(manifest: string, artifactDir: string): AsyncGenerator<readonly [ManifestEntry, string]> {
  const cur = await HashCursor.open(join(artifactDir, HASHES_FILE));
  try {
    for await (const { entries, lines } of manifestLineBatches(manifest)) {
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i]!;
        let line = lines[i]!;
        if (e.type === 'file' && !e.sha256) {
          const h = await cur.hashOf(e);
          if (h) { (e as { sha256?: string }).sha256 = h; line = `${line.slice(0, -1)},"h":"${h}"}`; }
        }
        yield [e, line];
      }
    }
  } finally {
    await cur.close();
  }
}

/** Where a manifest line's path ends (`{"p":"…"` or `{"p64":"…"`): the index of its `,"t":` (a quote inside a JSON string is escaped). */
const keyEnd = (line: string): number => line.indexOf(',"t":');
const HASH_FIELD = ',"h":"';

/**
 * The manifest's lines with the copy's hashes folded in, a block of lines at a time: what writing
 * readHashedManifest's entries again gives (the same hash for the same entry, each line as entryToLine
 * writes it), without parsing a line or making an entry where it needs not. The hash log is the
 * manifest's files in its order, each written from the manifest's entry with its hash (HashLog.add): where
 * the log's line less its `"h"` field is the manifest's line, the log's line is the folded one. Anything
 * else (a manifest line with a link or target name, a log of another export, a torn last line) is
 * parsed and matched as readHashedManifest does. At 100k files the fold was 1-2 CPU-s of a first
 * copy (two parses, an entry and a serialization per line, and the garbage of it). `counted.unhashed`:
 * the files left without a hash.
 */
export async function* foldedManifestLines(manifest: string, artifactDir: string, counted: { unhashed: number }): AsyncGenerator<string> {
  const log = await stat(join(artifactDir, HASHES_FILE)).then(() => lineBlocks(join(artifactDir, HASHES_FILE))[Symbol.asyncIterator](), () => undefined);
  let hashLines: string[] = [], k = 0, logDone = log === undefined;
  /** The log's current line, or undefined at its end. */
  const current = async (): Promise<string | undefined> => {
    while (k >= hashLines.length) {
      if (logDone) return undefined;
      const r = await log!.next();
      if (r.done) { logDone = true; return undefined; }
      hashLines = r.value.split('\n').filter((l) => l.length > 0);
      k = 0;
    }
    return hashLines[k];
  };
  const parsed = (line: string): ManifestEntry | undefined => { try { return lineToEntry(line); } catch (e) { if (e instanceof SyntaxError) return undefined; throw e; } };
  /** The folded line of the manifest's file line `m` that has no hash, given the log's line `h` at the same path. */
  const fold = (m: string, h: string): string | undefined => {
    const at = h.indexOf(HASH_FIELD);
    if (at > 0 && h.length > at + HASH_FIELD.length + 65 && h.slice(0, at) + h.slice(at + HASH_FIELD.length + 65) === m) return h;
    const e = lineToEntry(m), he = parsed(h);
    return he && matches(e, he) ? entryToLine({ ...e, sha256: he.sha256! }) : undefined;
  };
  try {
    for await (const text of lineBlocks(manifest)) {
      const out: string[] = [];
      for (const m of text.split('\n')) {
        if (!m) continue;
        const ke = keyEnd(m);
        if (ke < 0 || !m.startsWith(',"t":"f"', ke) || m.includes(HASH_FIELD)) { out.push(m); continue; }
        let folded: string | undefined;
        for (let h = await current(); h !== undefined; h = await current()) {
          const he = keyEnd(h);
          if (he === ke && h.startsWith(m.slice(0, ke))) { k++; folded = fold(m, h); break; }
          // Written otherwise: the same path (matched by parsing), the log's behind (skipped) or ahead (this file has no hash in it).
          let c: number;
          try { c = comparePaths(pathOfLine(h), pathOfLine(m)); } catch (e) { if (e instanceof SyntaxError) { logDone = true; hashLines = []; break; } throw e; }
          if (c > 0) break;
          k++;
          if (c === 0) { folded = fold(m, h); break; }
        }
        if (folded === undefined) counted.unhashed++;
        out.push(folded ?? m);
      }
      if (out.length) yield out.join('\n');
    }
  } finally {
    await log?.return?.(undefined);
  }
}

/** The hash log of one copy: known hashes to reuse (manifest, finished log, a killed run's log), and the new log. */
export class HashLog {
  private readonly out: WriteStream;
  private buf = '';
  private readonly known: HashLookup[];
  private readonly dir: string;
  private readonly sparse: boolean;
  private constructor(dir: string, known: HashLookup[], sparse: boolean) {
    this.dir = dir;
    this.known = known;
    this.sparse = sparse;
    this.out = createWriteStream(join(dir, PART), { flags: 'w', highWaterMark: 1 << 20 });
  }

  /**
   * `sparse`: a scoped pass. Few entries will be asked: the logs are searched (O(log n) reads each), not
   * read forward from their start (O(tree) for an entry near the end). And the log holds only the hashes
   * the manifest lacks (its readers ask it only for files without one): `add` drops the others.
   */
  static async start(artifactDir: string, o: { sparse?: boolean } = {}): Promise<HashLog> {
    // A killed run's partial log becomes the resumed run's source of hashes for the files it skips.
    const part = join(artifactDir, PART);
    if (await stat(part).then(() => true, () => false)) await rename(part, join(artifactDir, PREV));
    const files = [join(artifactDir, HASHES_FILE), join(artifactDir, PREV)];
    return new HashLog(artifactDir, await Promise.all(files.map((f) => (o.sparse ? HashSearch.open(f) : HashCursor.open(f)))), o.sparse ?? false);
  }

  /** A hash already known for `e` (not read again). Ask in tree order. */
  async knownHash(e: ManifestEntry): Promise<string | undefined> {
    if (e.sha256) return e.sha256; // the logs are not read for it (a cursor skips past it when next asked)
    for (const c of this.known) { const h = await c.hashOf(e); if (h) return h; }
    return undefined;
  }

  private last: Buffer | undefined;
  private ordered = true;

  /** Record `e`'s hash (in tree order; another order — NFC target names — is sorted at the end). */
  async add(e: ManifestEntry, sha256: string): Promise<void> {
    if (this.sparse && sha256 === e.sha256) return;
    if (this.last && comparePaths(e.path, this.last) <= 0) this.ordered = false;
    this.last = e.path;
    this.buf += entryToLine({ path: e.path, type: 'file', size: e.size, mode: e.mode, mtimeMs: e.mtimeMs, uid: e.uid, gid: e.gid, sha256, ...(e.ino !== undefined ? { ino: e.ino } : {}) }) + '\n';
    if (this.buf.length > 1 << 16) await this.flush();
  }

  private async flush(): Promise<void> {
    if (!this.buf) return;
    const b = this.buf;
    this.buf = '';
    if (!this.out.write(b)) await once(this.out, 'drain');
  }

  /** The log is complete: fsync it and make it the manifest's hashes. */
  async finish(): Promise<void> {
    for (const c of this.known) await c.close();
    await this.flush();
    await new Promise<void>((res, rej) => this.out.end((err?: Error | null) => (err ? rej(err) : res())));
    const part = join(this.dir, PART);
    if (!this.ordered) {
      const sorter = new ExternalSort({ tmpDir: this.dir });
      for await (const e of readManifest(part)) await sorter.add(e);
      await writeManifest(part, sorter.sorted());
    }
    const fh = await open(part, 'r+');
    try { await fh.sync(); } finally { await fh.close(); }
    await rename(part, join(this.dir, HASHES_FILE));
    await rm(join(this.dir, PREV), { force: true });
  }

  /** Stop writing (an error): the partial log stays for the next run. */
  async abandon(): Promise<void> {
    for (const c of this.known) await c.close().catch(() => undefined);
    await this.flush().catch(() => undefined);
    await new Promise<void>((res) => this.out.end(() => res()));
  }
}
