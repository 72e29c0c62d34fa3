import { describe, expect, it } from 'vitest';
import { transformEnv, unifiedDiff } from '../../../lib/env/index.ts';

describe('unifiedDiff', () => {
  it('writes hunks with context and correct ranges', () => {
    const a = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'];
    const b = ['1', '2', '3', 'four', '5', '6', '7', '8', '9', '10', '11'];
    expect(unifiedDiff(a, b, '.env', 1)).toBe([
      '--- a/.env', '+++ b/.env',
      '@@ -3,3 +3,3 @@', ' 3', '-4', '+four', ' 5',
      '@@ -10,1 +10,2 @@', ' 10', '+11', '',
    ].join('\n'));
    expect(unifiedDiff(a, a)).toBe('');
    expect(unifiedDiff([], ['x'])).toBe('--- a/.env\n+++ b/.env\n@@ -0,0 +1,1 @@\n+x\n');
  });
});

describe('the redacted diff of transformEnv', () => {
  it('shows every change and no secret, including short, multi-line and URL-encoded ones', () => {
    const input = [
      'FLASK_SECRET_KEY="multi', 'line-secret-value"', 'PLATFORM_ENCRYPTION_KEY=abc', 'DB_PASSWORD=p@ss',
      'DATABASE_URL=mysql://u:p%40ss@localhost:3306/d', 'REDIS_URL=redis://:pw@127.0.0.1:6379/0', 'GITHUB_TOKEN=ghp_0123456789',
      'A=1', 'NOTE="two\nlines"', 'UNSET', '',
    ].join('\n');
    const r = transformEnv(input);
    for (const secret of ['multi', 'line-secret-value', 'abc', 'p@ss', 'p%40ss', ':pw@', 'ghp_0123456789']) expect(r.diff).not.toContain(secret);
    expect(r.diff).toContain('-FLASK_SECRET_KEY=•••');
    expect(r.diff).toContain('+FLASK_SECRET_KEY_FILE=/run/secrets/flask_secret_key');
    expect(r.diff).toContain('-DATABASE_URL=mysql://u:•••@localhost:3306/d');
    expect(r.diff).toContain('+DATABASE_URL=mysql://u:•••@mysql:3306/d');
    expect(r.diff).toContain('+NOTE="two\\nlines" (compose environment:)');
    expect(r.diff).toContain('-UNSET');
    expect(r.diff).toContain(' A=1');
    expect(transformEnv(r.env).diff).toBe('');
  });
});
