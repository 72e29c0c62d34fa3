import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { encodeLine, encodeRow, parseRows } from '../../../../lib/engines/mysql/tsv.ts';
import { createRandom } from '../../../../fixtures/mysql/random.ts';

const b = (s: string) => Buffer.from(s, 'utf8');
const parse = async (...pieces: Buffer[]) => { const out: Array<Array<Buffer | null>> = []; for await (const r of parseRows(Readable.from(pieces))) out.push(r); return out; };

describe('chunk file format (QUOTE()-style lines)', () => {
  it('keeps NULL, the empty string and the strings NULL and \\N apart', async () => {
    const line = encodeRow([null, b(''), b('\\N'), b('NULL')]);
    expect(line.toString('latin1')).toBe("NULL\t''\t'\\\\N'\t'NULL'\n");
    expect(await parse(line)).toEqual([[null, b(''), b('\\N'), b('NULL')]]);
  });

  it("escapes backslash, quote, NUL and Ctrl-Z as QUOTE() does; TAB, LF and CR stay literal inside the quotes", () => {
    const v = Buffer.from([0x61, 0x09, 0x0a, 0x0d, 0x00, 0x5c, 0x27, 0x1a, 0x62]);
    expect(encodeRow([v]).toString('latin1')).toBe("'a\t\n\r\\0\\\\\\'\\Zb'\n");
  });

  it('writes numbers and dates bare where the server\'s line does, so a line encoded here equals the server\'s', async () => {
    const values = [b('42'), b("it's"), null, b('2024-01-02 03:04:05'), null, b('-0.5')];
    const line = encodeLine(values, [true, false, false, true, true, true]);
    expect(line.toString('latin1')).toBe("42\t'it\\'s'\tNULL\t2024-01-02 03:04:05\tNULL\t-0.5\n");
    expect(await parse(line)).toEqual([values]);
    expect(encodeLine(values, []).equals(encodeRow(values))).toBe(true);
  });

  it('reads the server-written forms: unquoted numbers and dates, bare NULL, \\N, doubled quotes', async () => {
    expect(await parse(b("12\tNULL\t2024-01-02 03:04:05\t\\N\t'it''s'\t-0.5\n"))).toEqual([[b('12'), null, b('2024-01-02 03:04:05'), null, b("it's"), b('-0.5')]]);
  });

  it('round-trips random bytes through a stream split at arbitrary points', async () => {
    const r = createRandom(7);
    const rows = Array.from({ length: 300 }, (_, i) => [r.bytes(i % 50), i % 7 === 0 ? null : b(r.sentence(3) + "\t🚀\n'\\"), b(String(i)), b("'")]);
    const file = Buffer.concat(rows.map(encodeRow));
    const pieces: Buffer[] = [];
    for (let at = 0; at < file.length;) { const n = 1 + r.int(0, 97); pieces.push(file.subarray(at, at + n)); at += n; }
    expect(await parse(...pieces)).toEqual(rows);
  });
});
