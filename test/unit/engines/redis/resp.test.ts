import { describe, expect, it } from 'vitest';
import { encodeCommands, parseReply, RespError } from '../../../../lib/engines/redis/resp.ts';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('lean RESP pipeline codec', () => {
  it('encodes commands as arrays of bulk strings, binary-safe, multi-byte strings by byte length', () => {
    expect(encodeCommands([['SET', b('k\r\n\0'), 'é'], ['PING']]).toString('latin1'))
      .toBe('*3\r\n$3\r\nSET\r\n$4\r\nk\r\n\0\r\n$2\r\n\xc3\xa9\r\n*1\r\n$4\r\nPING\r\n');
    const long = Buffer.alloc(12345, 0x61);
    expect(encodeCommands([[long]]).subarray(0, 12).toString('latin1')).toBe('*1\r\n$12345\r\n');
  });

  it('parses every RESP2 reply type and says when a reply is incomplete', () => {
    const all = b('+OK\r\n-ERR wrong\r\n:-42\r\n$5\r\na\r\nbc\r\n$-1\r\n*2\r\n:1\r\n*1\r\n$0\r\n\r\n*-1\r\n');
    const out: unknown[] = [];
    for (let at = 0; at < all.length;) {
      const r = parseReply(all, at);
      if (typeof r === 'symbol') throw new Error('incomplete');
      out.push(r[0]); at = r[1];
    }
    expect(out).toEqual([b('OK'), new RespError('ERR wrong'), -42, b('a\r\nbc'), null, [1, [b('')]], null]);
    for (let cut = 0; cut < all.length; cut++) {
      const r = parseReply(all.subarray(0, cut), 0);
      if (cut < 5) expect(typeof r).toBe('symbol');
    }
    expect(typeof parseReply(b('$5\r\nab'), 0)).toBe('symbol');
    expect(typeof parseReply(b('*2\r\n:1\r\n'), 0)).toBe('symbol');
  });
});
