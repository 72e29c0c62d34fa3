import { describe, expect, it } from 'vitest';
import { printable } from '../../../../lib/engines/redis/rewrite.ts';
import { appCategories } from '../../../../lib/engines/redis/app-checks.ts';
import { expiryCommand } from '../../../../lib/engines/redis/scan.ts';
import { describeEndpoint, toRedisError } from '../../../../lib/engines/redis/connect.ts';

describe('redis helpers', () => {
  it('prints key names readably, binary ones as hex', () => {
    expect(printable(Buffer.from('session:abc'))).toBe('`session:abc`');
    expect(printable(Buffer.from([0xff, 0x00, 0x41]))).toBe('0xff0041');
  });
  it('escapes glob characters of the session prefix', () => {
    expect(appCategories('sess[1]*:').sessions).toBe('sess\\[1\\]\\*:*');
    expect(appCategories('session:')['rq jobs']).toBe('rq:job:*');
  });
  it('turns PTTL into an absolute expiry on servers without PEXPIRETIME', () => {
    expect(expiryCommand(true).toAbs(1_800_000_000_000, 5)).toBe(1_800_000_000_000);
    const ex = expiryCommand(false);
    expect(ex.cmd).toBe('PTTL');
    expect(ex.toAbs(1500, 1_000_000)).toBe(1_001_500);
    expect(ex.toAbs(-1, 1_000_000)).toBe(-1);
    expect(ex.toAbs(-2, 1_000_000)).toBe(-2);
  });
  it('names the endpoint and user in auth errors, never the password', () => {
    const ep = { host: '127.0.0.1', port: 6380, username: 'app', password: 'sekrit-pass', databases: [] };
    const e = toRedisError(new Error('WRONGPASS invalid username-password pair or user is disabled.'), ep);
    expect(e.code).toBe('E_REDIS_AUTH');
    expect(e.message).toBe(`Redis at ${describeEndpoint(ep)} refused the credentials`);
    expect(e.message).toContain('user app');
    expect(`${e.message} ${e.hint}`).not.toContain('sekrit-pass');
    expect(toRedisError(new Error('NOPERM this user has no permissions to run the \'sync\' command'), ep).code).toBe('E_REDIS_PERMISSION');
  });
});
