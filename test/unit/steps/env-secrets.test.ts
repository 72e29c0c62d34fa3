/**
 * Who may read the secret files: on Linux they are chowned to the app container's uid (compose
 * bind-mounts them with their host owner and mode 0600); elsewhere they stay the operator's. When
 * ferry may not chown, the error names the file and what to run — never the value.
 */
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureIgnored, missingIgnoreEntries, secretOwnerFor, writeSecretFiles } from '../../../lib/steps/env-secrets.ts';

const ROOT = join(import.meta.dirname, '../../..');
let dir: string;
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-env-secrets-')); await chmod(dir, 0o777); });
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('secret files', () => {
  it('are owned by the container user on Linux only', () => {
    expect(secretOwnerFor('10001:10002', 'linux')).toEqual({ uid: 10001, gid: 10002 });
    expect(secretOwnerFor('10001:10001', 'darwin')).toBeUndefined();
  });

  it.skipIf(process.getuid?.() !== 0)('are chowned 0600 to the app uid, directory 0700', async () => {
    await writeSecretFiles(dir, { flask_secret_key: 'k\nwith newline\n' }, new Set(), { uid: 10001, gid: 10001 });
    const s = await stat(join(dir, 'secrets/flask_secret_key.txt'));
    expect([s.uid, s.gid, s.mode & 0o777]).toEqual([10001, 10001, 0o600]);
    expect((await stat(join(dir, 'secrets'))).mode & 0o777).toBe(0o700);
    expect(await readFile(join(dir, 'secrets/flask_secret_key.txt'), 'utf8')).toBe('k\nwith newline\n');
  });

  it.skipIf(process.getuid?.() !== 0)('when ferry may not chown (not root), E_ENV_SECRET_OWNER names the file and the command, not the value', () => {
    const script = [
      `import { writeSecretFiles } from ${JSON.stringify(join(ROOT, 'lib/steps/env-secrets.ts'))};`,
      `try { await writeSecretFiles(${JSON.stringify(dir)}, { api_token: 'tok-not-to-leak' }, new Set(), { uid: 10001, gid: 10001 }); console.log('no error'); }`,
      'catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, hint: e.hint })); }',
    ].join('\n');
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { uid: 65534, gid: 65534, encoding: 'utf8' });
    const out = JSON.parse(r.stdout) as { code: string; message: string; hint: string };
    expect(out.code).toBe('E_ENV_SECRET_OWNER');
    expect(out.message).toContain(`${join(dir, 'secrets/api_token.txt')} to the app container's user 10001:10001 (EPERM)`);
    expect(out.hint).toContain(`sudo chown 10001:10001 ${join(dir, 'secrets/api_token.txt')}`);
    expect(r.stdout).not.toContain('tok-not-to-leak');
  });

  it('are listed in .gitignore and .dockerignore (appended once, created when absent)', async () => {
    expect(await missingIgnoreEntries(dir)).toEqual([join(dir, '.gitignore'), join(dir, '.dockerignore')]);
    await ensureIgnored(dir);
    await ensureIgnored(dir);
    expect(await readFile(join(dir, '.gitignore'), 'utf8')).toBe('# ferry: secret files (0600)\n/secrets/\n');
    expect(await readFile(join(dir, '.dockerignore'), 'utf8')).toBe('# ferry: secret files (0600)\nsecrets\n');
    expect(await missingIgnoreEntries(dir)).toEqual([]);
  });
});
