/**
 * The chunk file format: LOAD DATA's defaults made explicit. Fields end with TAB, lines with LF, the
 * escape is backslash; NULL is `\N`; backslash, TAB, LF, CR and NUL inside a value are escaped, so NULL,
 * the empty string and the two characters `\N` stay distinct and any byte sequence round-trips.
 * Values are raw bytes (Buffers): the file is loaded with `CHARACTER SET binary`.
 */

/** The LOAD DATA clauses that read this format. */
export const LOAD_DATA_FORMAT = "CHARACTER SET binary FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n'";

const BACKSLASH = 0x5c;
const ESCAPES: Record<number, number> = { 0x00: 0x30, 0x09: 0x74, 0x0a: 0x6e, 0x0d: 0x72, 0x5c: 0x5c };
const NEEDS_ESCAPE = new Uint8Array(256);
for (const k of Object.keys(ESCAPES)) NEEDS_ESCAPE[Number(k)] = 1;
const UNESCAPES: Record<number, number> = { 0x30: 0x00, 0x74: 0x09, 0x6e: 0x0a, 0x72: 0x0d, 0x5c: 0x5c, 0x62: 0x08, 0x5a: 0x1a };

/** One row as one line (trailing LF included). */
export function encodeRow(values: ReadonlyArray<Buffer | null>): Buffer {
  let size = values.length; // separators + LF
  for (const v of values) {
    if (v === null) { size += 2; continue; }
    size += v.length;
    for (let i = 0; i < v.length; i++) size += NEEDS_ESCAPE[v[i]!]!;
  }
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  for (let f = 0; f < values.length; f++) {
    if (f > 0) out[o++] = 0x09;
    const v = values[f]!;
    if (v === null) { out[o++] = BACKSLASH; out[o++] = 0x4e; continue; }
    for (let i = 0; i < v.length; i++) {
      const b = v[i]!;
      if (NEEDS_ESCAPE[b]) { out[o++] = BACKSLASH; out[o++] = ESCAPES[b]!; } else out[o++] = b;
    }
  }
  out[o++] = 0x0a;
  return out;
}

/** Split one line (without its LF) back into values: the inverse of `encodeRow`. */
export function decodeRow(line: Buffer): Array<Buffer | null> {
  const values: Array<Buffer | null> = [];
  let cur: number[] = [];
  let nullMark = false;
  const finish = () => { values.push(nullMark && cur.length === 0 ? null : Buffer.from(cur)); cur = []; nullMark = false; };
  for (let i = 0; i < line.length; i++) {
    const b = line[i]!;
    if (b === 0x09) { finish(); continue; }
    if (b === BACKSLASH && i + 1 < line.length) {
      const n = line[++i]!;
      if (n === 0x4e && cur.length === 0 && (i + 1 === line.length || line[i + 1] === 0x09)) { nullMark = true; continue; }
      cur.push(UNESCAPES[n] ?? n);
      continue;
    }
    cur.push(b);
  }
  finish();
  return values;
}

/** Async-iterate the lines of a byte stream (LF-terminated; escaped LFs never split a line). */
export async function* splitLines(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of source) {
    let buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(0x0a, start); nl !== -1; nl = buf.indexOf(0x0a, start)) {
      yield buf.subarray(start, nl);
      start = nl + 1;
    }
    rest = Buffer.from(buf.subarray(start));
    buf = rest;
  }
  if (rest.length) yield rest;
}
