/**
 * A named volume's listing (and hashes) as a stream in tree order, in bounded memory: the helper's
 * `find -printf` records (and `sha256sum -z` lines) are parsed as they arrive, sorted externally
 * (runs spilled to disk), hashes joined by path, hard links named by their first name in tree order.
 */
import type { ManifestEntry } from './manifest.ts';
import { ExternalSort } from './external-sort.ts';
import { paxMs } from './tar-read.ts';
import { comparePaths } from './paths.ts';

const FIELDS = 11;
/** Entries per sorted run of a volume's listing and of its hashes (spilled to disk beyond). */
export const LISTING_RUN = 5_000;

/** Incremental parser of the helper's output: `find -printf` records, an `X` record, then `sha256sum -z` lines. */
export class FindParser {
  private rest: Buffer = Buffer.alloc(0);
  private hashes = false;
  private readonly onStat: (e: ManifestEntry) => void;
  private readonly onHash: (path: Buffer, sha256: string) => void;
  /** Called with the line before the first record (e.g. `df`'s free bytes), when asked for. */
  private preamble: ((line: Buffer) => void) | undefined;
  constructor(onStat: (e: ManifestEntry) => void, onHash: (path: Buffer, sha256: string) => void, preamble?: (line: Buffer) => void) {
    this.onStat = onStat;
    this.onHash = onHash;
    this.preamble = preamble;
  }

  push(chunk: Buffer): void {
    const buf = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    let i = 0;
    if (this.preamble) {
      const nl = buf.indexOf(0x0a);
      if (nl < 0) { this.rest = Buffer.from(buf); return; }
      this.preamble(buf.subarray(0, nl));
      this.preamble = undefined;
      i = nl + 1;
    }
    for (;;) {
      if (this.hashes) {
        const j = buf.indexOf(0, i);
        if (j < 0) break;
        // `<64 hex>  ./<path>`
        this.onHash(Buffer.from(buf.subarray(i + 68, j)), buf.toString('latin1', i, i + 64));
        i = j + 1;
        continue;
      }
      const first = buf.indexOf(0, i);
      if (first < 0) break;
      if (first - i === 1 && buf[i] === 0x58) { this.hashes = true; i = first + 1; continue; }
      const ends: number[] = [first];
      for (let k = first + 1; ends.length < FIELDS;) { const z = buf.indexOf(0, k); if (z < 0) break; ends.push(z); k = z + 1; }
      if (ends.length < FIELDS) break;
      const start = (n: number) => (n === 0 ? i : ends[n - 1]! + 1);
      const str = (n: number) => buf.toString('latin1', start(n), ends[n]!);
      const num = (n: number) => Number(str(n));
      const type = str(0);
      this.onStat(toEntry(type, Buffer.from(buf.subarray(start(10), ends[10]!)), {
        size: num(1), mtimeMs: paxMs(str(2)), mode: parseInt(str(3), 8), uid: num(4), gid: num(5),
        ino: num(6), nlink: num(7), sparseness: num(8), link: type === 'l' ? Buffer.from(buf.subarray(start(9), ends[9]!)) : EMPTY,
      }));
      i = ends[FIELDS - 1]! + 1;
    }
    this.rest = Buffer.from(buf.subarray(i));
  }
}

const EMPTY = Buffer.alloc(0);

function toEntry(type: string, path: Buffer, s: { size: number; mtimeMs: number; mode: number; uid: number; gid: number; ino: number; nlink: number; sparseness: number; link: Buffer }): ManifestEntry {
  const { mode, mtimeMs, uid, gid, ino } = s;
  if (type === 'd') return { path, type: 'dir', size: 0, mode, mtimeMs, uid, gid, ino };
  if (type === 'l') return { path, type: 'symlink', size: 0, mode, mtimeMs, uid, gid, ino, link: s.link };
  if (type === 'f') {
    const e: { -readonly [K in keyof ManifestEntry]: ManifestEntry[K] } = { path, type: 'file', size: s.size, mode, mtimeMs, uid, gid, ino };
    if (s.size > 0 && s.sparseness < 1) e.sparse = true;
    if (s.nlink > 1) e.nlink = s.nlink;
    return e;
  }
  return { path, type: 'file', size: -1, mode, mtimeMs, uid, gid, ino, sha256: `not a regular file (find type ${type})` };
}

/** Collects a listing (and hashes) from the helper's stdout; `entries()` streams them in tree order. */
export class VolumeListing {
  private readonly stats: ExternalSort;
  private readonly sums: ExternalSort;
  private readonly pending: Promise<void>[] = [];
  readonly parser: FindParser;
  constructor(tmpDir?: string, preamble?: (line: Buffer) => void) {
    // Small runs: the live set (two runs of parsed entries) is what the heap grows to, and V8 keeps
    // the heap it grew (20k-entry runs left RSS at ~256 MB over 100k files; 5k: far fewer live objects).
    const o = { runSize: LISTING_RUN, ...(tmpDir ? { tmpDir } : {}) };
    this.stats = new ExternalSort(o);
    this.sums = new ExternalSort(o);
    const pending = this.pending;
    this.parser = new FindParser(
      (e) => { pending.push(this.stats.add(e)); },
      (path, sha256) => { pending.push(this.sums.add({ path, type: 'file', size: 0, mode: 0, mtimeMs: 0, uid: 0, gid: 0, sha256 })); },
      preamble,
    );
  }

  /** Feed the helper's stdout (awaits each spill, so memory stays bounded). */
  async consume(stdout: AsyncIterable<Buffer>): Promise<void> {
    for await (const chunk of stdout) {
      this.parser.push(chunk);
      const p = this.pending.splice(0);
      await Promise.all(p);
    }
  }

  /** The entries in tree order, with sha256 joined and hard links named (by their first name's path). */
  async *entries(): AsyncGenerator<ManifestEntry> {
    const sums = this.sums.sorted()[Symbol.asyncIterator]();
    let sum = await sums.next();
    const firstName = new Map<number, Buffer>();
    try {
      for await (const e of this.stats.sorted()) {
        let out = e;
        if (e.type === 'file' && e.size >= 0) {
          while (!sum.done && comparePaths(sum.value.path, e.path) < 0) sum = await sums.next();
          if (!sum.done && comparePaths(sum.value.path, e.path) === 0) { out = { ...e, sha256: sum.value.sha256! }; sum = await sums.next(); }
          if (e.nlink !== undefined && e.ino !== undefined) {
            const first = firstName.get(e.ino);
            if (first) { const { sha256: _h, sparse: _s, nlink: _n, ...rest } = out; out = { ...rest, type: 'hardlink', link: first }; } else firstName.set(e.ino, e.path);
          }
        }
        yield out;
      }
    } finally {
      await sums.return?.(undefined);
    }
  }
}
