/**
 * Does a server hold a chunk? A chunk exported as server-built lines (identity `lines`) is held when the
 * server's lines of its key range, read exactly as the export read them (row-stream.ts), hash to the
 * chunk's sha256; one exported value by value (no primary key, or a column type the server cannot put in
 * a line) keeps its server-side checksum (checksum.ts). The first difference is found by comparing the
 * lines with the chunk file in order: the row's key and the column, never the values.
 */
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { PoolConnection } from 'mysql2/promise';
import { storedColumns, type TableInfo } from './catalog.ts';
import { keyColumns, rangeChecksum, type KeyRange } from './checksum.ts';
import { lineQuery, rangeSql, streamLines, withBinaryResults, type LineSink } from './row-stream.ts';
import { parseRows } from './tsv.ts';
import { showRowKey } from './load-warnings.ts';
import { BLOCK_BYTES } from './chunk-io.ts';
import type { ChunkEntry } from './manifest.ts';
import type { ValueDifference } from './bisect.ts';

export interface Held {
  /** Rows the server holds in the chunk's range. */
  readonly rows: number;
  /** The server holds exactly the chunk. */
  readonly same: boolean;
}

/** Whether `c` (its own uncommitted rows included) holds `chunk` of `t`. */
export async function holdsChunk(c: PoolConnection, t: TableInfo, chunk: KeyRange & Pick<ChunkEntry, 'rows' | 'checksum' | 'identity'>): Promise<Held> {
  if (chunk.identity !== 'lines') {
    const now = await rangeChecksum(c, t, chunk);
    return { rows: now.rows, same: now.rows === chunk.rows && now.sum === chunk.checksum };
  }
  const hash = createHash('sha256');
  const sink: LineSink = { push: (line) => { hash.update(line); return false; }, due: false, flush: async () => undefined };
  const lq = lineQuery(t);
  const r = await withBinaryResults(c, () => streamLines(c, t, lq, rangeSql(t, lq, chunk), sink));
  return { rows: r.rows, same: r.rows === chunk.rows && hash.digest('hex') === chunk.checksum };
}

/**
 * Compare the lines `c` holds in `range` (its own uncommitted load included) with the chunk file, in
 * order; the first difference, or undefined when they are equal.
 */
export async function firstLineDifference(c: PoolConnection, t: TableInfo, range: KeyRange, file: string): Promise<ValueDifference | undefined> {
  const cmp = new FileCompare(file);
  try {
    const lq = lineQuery(t);
    await withBinaryResults(c, () => streamLines(c, t, lq, rangeSql(t, lq, range), cmp));
    const at = cmp.diff ?? (cmp.atEnd() ? undefined : { offset: cmp.offset, line: null });
    return at && (await describe(t, file, at.offset, at.line));
  } finally {
    cmp.close();
  }
}

/** The file's row at `offset` against the server's line there (null: the server has no more rows). */
async function describe(t: TableInfo, file: string, offset: number, line: Buffer | null): Promise<ValueDifference> {
  const cols = storedColumns(t);
  const kIdx = keyColumns(t).map((k) => cols.indexOf(k));
  const first = async (src: AsyncIterable<Buffer>) => { for await (const row of parseRows(src)) return row; return undefined; };
  const want = await first(createReadStream(file, { start: offset }));
  const got = line && (await first((async function* () { yield line; })()));
  const keyOf = (row: ReadonlyArray<Buffer | null>) => showRowKey(t, kIdx.map((i) => row[i] ?? null));
  if (!want) return { key: got ? keyOf(got) : '?', column: cols[kIdx[0] ?? 0]!.name, detail: 'an extra row on the target' };
  const key = keyOf(want);
  if (!got || kIdx.some((i) => !equal(want[i] ?? null, got[i] ?? null))) return { key, column: cols[kIdx[0] ?? 0]!.name, detail: 'the row is missing on the target' };
  const size = (v: Buffer | null) => (v === null ? 'NULL' : `${v.length} bytes`);
  const i = cols.findIndex((_, j) => !equal(want[j] ?? null, got[j] ?? null));
  if (i < 0) return { key, column: cols[0]!.name, detail: 'the same values written differently' };
  return { key, column: cols[i]!.name, detail: `${size(want[i] ?? null)} in the export, ${size(got[i] ?? null)} on the target` };
}

const equal = (a: Buffer | null, b: Buffer | null) => (a === null || b === null ? a === b : a.equals(b));

/** Compares pushed lines with a file's bytes in order, through a 1 MiB window; keeps the first differing line. */
class FileCompare implements LineSink {
  readonly due = false;
  readonly #fd: number;
  readonly #size: number;
  #win = Buffer.allocUnsafe(BLOCK_BYTES);
  #winAt = 0;
  #winLen = 0;
  offset = 0;
  diff: { offset: number; line: Buffer } | undefined;
  constructor(path: string) {
    this.#fd = openSync(path, 'r');
    this.#size = fstatSync(this.#fd).size;
  }
  push(line: Buffer): boolean {
    if (this.diff) return false;
    if (!this.#matches(line)) this.diff = { offset: this.offset, line: Buffer.from(line) };
    else this.offset += line.length;
    return false;
  }
  async flush(): Promise<void> { /* nothing queued */ }
  atEnd(): boolean { return this.offset === this.#size; }
  close(): void { closeSync(this.#fd); }
  #matches(line: Buffer): boolean {
    if (this.offset + line.length > this.#size) return false;
    if (this.offset < this.#winAt || this.offset + line.length > this.#winAt + this.#winLen) {
      if (line.length > this.#win.length) this.#win = Buffer.allocUnsafe(line.length);
      this.#winAt = this.offset;
      this.#winLen = readSync(this.#fd, this.#win, 0, this.#win.length, this.offset);
    }
    const at = this.offset - this.#winAt;
    return line.compare(this.#win, at, at + line.length) === 0;
  }
}
