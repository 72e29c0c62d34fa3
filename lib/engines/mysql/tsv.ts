/**
 * The chunk file format: what MySQL's `QUOTE()` produces, one row per line. Fields end with TAB and lines
 * with LF; a value is enclosed in single quotes with backslash, quote, NUL and Ctrl-Z escaped
 * (`\\`, `\'`, `\0`, `\Z`), so TAB, LF and CR inside a value stay literal bytes between the quotes; NULL
 * is the bare word `NULL`, apart from the quoted string 'NULL' and from ''. Numbers and dates may come
 * unquoted. Values are raw bytes: the file is loaded with `CHARACTER SET binary`.
 *
 * The server writes this format itself (row-line.ts, one linear QUOTE per value: REPLACE is quadratic
 * in the matches), so ferry's process only copies lines; `encodeRow` writes the same bytes for rows the
 * server cannot build, and `parseRows` reads them back for the INSERT path.
 */

/**
 * The LOAD DATA clauses that read this format. Hex literals: a session with NO_BACKSLASH_ESCAPES (the
 * source's sql_mode is replayed) would read '\t' as two characters.
 */
export const LOAD_DATA_FORMAT = "CHARACTER SET binary FIELDS TERMINATED BY X'09' ENCLOSED BY X'27' ESCAPED BY X'5C' LINES TERMINATED BY X'0A'";

const BACKSLASH = 0x5c;
const QUOTE = 0x27;
const TAB = 0x09;
const LF = 0x0a;
/** Bytes QUOTE() escapes, and the letter after the backslash. */
const ESCAPES: Record<number, number> = { 0x5c: 0x5c, 0x27: 0x27, 0x00: 0x30, 0x1a: 0x5a };
const NEEDS_ESCAPE = new Uint8Array(256);
for (const k of Object.keys(ESCAPES)) NEEDS_ESCAPE[Number(k)] = 1;
/** What LOAD DATA reads after a backslash (any other byte stands for itself). */
const UNESCAPES: Record<number, number> = { 0x30: 0x00, 0x5a: 0x1a, 0x74: 0x09, 0x6e: 0x0a, 0x72: 0x0d, 0x62: 0x08 };
const NULL_WORD = Buffer.from('NULL');

/** One row as one line (trailing LF included), exactly as the server's QUOTE() would write it. */
export const encodeRow = (values: ReadonlyArray<Buffer | null>): Buffer => encodeLine(values, []);

/**
 * As `encodeRow`, but a value whose `bare` flag is set is written as it is (a number or a date: the
 * server's line writes those unquoted, row-line.ts), so the line equals the one the server builds.
 */
export function encodeLine(values: ReadonlyArray<Buffer | null>, bare: readonly boolean[]): Buffer {
  let size = values.length; // separators + LF
  for (let f = 0; f < values.length; f++) {
    const v = values[f]!;
    if (v === null) { size += 4; continue; }
    if (bare[f]) { size += v.length; continue; }
    size += v.length + 2;
    for (let i = 0; i < v.length; i++) size += NEEDS_ESCAPE[v[i]!]!;
  }
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  for (let f = 0; f < values.length; f++) {
    if (f > 0) out[o++] = TAB;
    const v = values[f]!;
    if (v === null) { o += NULL_WORD.copy(out, o); continue; }
    if (bare[f]) { o += v.copy(out, o); continue; }
    out[o++] = QUOTE;
    for (let i = 0; i < v.length; i++) {
      const b = v[i]!;
      if (NEEDS_ESCAPE[b]) { out[o++] = BACKSLASH; out[o++] = ESCAPES[b]!; } else out[o++] = b;
    }
    out[o++] = QUOTE;
  }
  out[o++] = LF;
  return out;
}

/**
 * Read rows back (the inverse of `encodeRow`, and of the server's lines), as LOAD DATA does: a quoted
 * value ends at a quote followed by TAB or LF; an unquoted `NULL` (or `\N`) is NULL.
 */
export async function* parseRows(source: AsyncIterable<Buffer>): AsyncGenerator<Array<Buffer | null>> {
  let row: Array<Buffer | null> = [];
  let cur: number[] = [];
  let quoted = false; // inside quotes
  let wasQuoted = false; // the field was quoted (so 'NULL' stays a string)
  let nullMark = false; // an unquoted \N
  let escape = false;
  let closing = false; // a quote inside quotes: it closes the value if TAB or LF follows
  const finish = () => {
    const raw = Buffer.from(cur);
    row.push(!wasQuoted && ((nullMark && !raw.length) || raw.equals(NULL_WORD)) ? null : raw);
    cur = []; wasQuoted = false; nullMark = false;
  };
  for await (const chunk of source) {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (closing) {
        closing = false;
        if (b === TAB || b === LF) quoted = false;
        else { cur.push(QUOTE); if (b === QUOTE) continue; } // '' inside quotes is one quote
      }
      if (escape) {
        escape = false;
        if (!quoted && b === 0x4e && !cur.length) nullMark = true;
        else cur.push(UNESCAPES[b] ?? b);
        continue;
      }
      if (b === BACKSLASH) { escape = true; continue; }
      if (quoted) {
        if (b === QUOTE) closing = true; else cur.push(b);
        continue;
      }
      if (b === TAB) { finish(); continue; }
      if (b === LF) { finish(); yield row; row = []; continue; }
      if (b === QUOTE && !cur.length && !wasQuoted) { quoted = true; wasQuoted = true; continue; }
      cur.push(b);
    }
  }
  if (cur.length || row.length || wasQuoted || nullMark) { finish(); yield row; }
}
