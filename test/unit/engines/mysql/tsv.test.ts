import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { decodeRow, encodeRow, splitLines } from '../../../../lib/engines/mysql/tsv.ts';
import { createRandom } from '../../../../fixtures/mysql/random.ts';

const b = (s: string) => Buffer.from(s, 'utf8');

describe('chunk TSV format', () => {
  it('keeps NULL, the empty string and the two characters \\N apart', () => {
    const line = encodeRow([null, b(''), b('\\N'), b('N')]);
    expect(line.toString('latin1')).toBe('\\N\t\t\\\\N\tN\n');
    expect(decodeRow(line.subarray(0, -1))).toEqual([null, b(''), b('\\N'), b('N')]);
  });

  it('escapes tab, newline, carriage return, NUL and backslash', () => {
    const v = Buffer.from([0x61, 0x09, 0x0a, 0x0d, 0x00, 0x5c, 0x62]);
    expect(encodeRow([v]).toString('latin1')).toBe('a\\t\\n\\r\\0\\\\b\n');
  });

  it('round-trips random bytes through a stream split at arbitrary points', async () => {
    const r = createRandom(7);
    const rows = Array.from({ length: 300 }, (_, i) => [r.bytes(i % 50), i % 7 === 0 ? null : b(r.sentence(3) + '\t🚀\n'), b(String(i))]);
    const file = Buffer.concat(rows.map(encodeRow));
    const pieces: Buffer[] = [];
    for (let at = 0; at < file.length;) { const n = 1 + r.int(0, 97); pieces.push(file.subarray(at, at + n)); at += n; }
    const back: Array<Array<Buffer | null>> = [];
    for await (const line of splitLines(Readable.from(pieces))) back.push(decodeRow(line));
    expect(back).toEqual(rows);
  });
});
