/**
 * compose/app/entrypoint-secrets.sh, run with /bin/sh against a scratch secrets directory: it must
 * agree with `rebuildSecretUrls`, and transform → entrypoint must give the app its original values
 * (hosts moved to the stack, URL passwords percent-encoded exactly as before).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseEnv, rebuildSecretUrls, resolveEnv, transformEnv } from '../../../lib/env/index.ts';

const ROOT = join(import.meta.dirname, '../../..');
const SCRIPT = join(ROOT, 'compose/app/entrypoint-secrets.sh');
const dir = mkdtempSync(join(tmpdir(), 'ferry-entrypoint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The environment the app process sees after the entrypoint ran with `env` and `secrets`. */
function runEntrypoint(env: Record<string, string>, secrets: Record<string, string>, tag: string) {
  const secretsDir = join(dir, tag);
  rmSync(secretsDir, { recursive: true, force: true });
  spawnSync('mkdir', ['-p', secretsDir]);
  for (const [name, value] of Object.entries(secrets)) writeFileSync(join(secretsDir, name), value);
  const r = spawnSync('sh', [SCRIPT, process.execPath, '-e', 'process.stdout.write(JSON.stringify(process.env))'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', FERRY_SECRETS_DIR: secretsDir, ...env },
  });
  return { status: r.status, stderr: r.stderr.toString(), env: r.status === 0 ? (JSON.parse(r.stdout.toString()) as Record<string, string>) : {} };
}

const loaded = (text: string) => Object.fromEntries([...resolveEnv(parseEnv(text))].map(([k, v]) => [k, v ?? '']));

describe('entrypoint-secrets.sh', () => {
  it('gives the app every value python-dotenv loads from the original, hosts moved to the stack', () => {
    for (const c of ['vedfolnir-macos', 'quoting-and-comments', 'secret-shapes', 'crlf-bom', 'interpolation', 'percent-encoding']) {
      const input = readFileSync(join(ROOT, 'fixtures/env', c, 'input.env'), 'utf8');
      const r = transformEnv(input);
      const { env, status, stderr } = runEntrypoint({ ...loaded(r.env), ...r.environment }, r.secrets, c);
      expect(status, stderr).toBe(0);
      const seen = Object.fromEntries(Object.entries(env).filter(([k]) => !['PATH', 'FERRY_SECRETS_DIR', 'PWD', 'SHLVL', '_'].includes(k) && !(k.endsWith('_FILE') && k.slice(0, -5) in r.secretFiles)));
      expect(seen, c).toEqual(r.containerEnv);
      const before = loaded(input);
      const rewritten = new Set(r.changes.filter((x) => !['ambiguous', 'duplicate', 'environment', 'secret'].includes(x.kind)).map((x) => x.key));
      for (const [key, value] of Object.entries(before)) if (!rewritten.has(key)) expect(env[key], `${c}: ${key}`).toBe(value);
    }
  });

  it('passes names a shell cannot hold (a-b, x.y), multi-line values too, through to the app', () => {
    const r = runEntrypoint({ 'a-b': 'x y', 'x.y': 'multi\nline\n', '9lives': 'cat', PLAIN: 'p' }, {}, 'names');
    expect(r.status, r.stderr).toBe(0);
    expect(r.env).toMatchObject({ 'a-b': 'x y', 'x.y': 'multi\nline\n', '9lives': 'cat', PLAIN: 'p' });
  });

  it('stops the start, naming the variable and file, when a secret file cannot be read', () => {
    const r = spawnSync('sh', [SCRIPT, 'true'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', FERRY_SECRETS_DIR: join(dir, 'none'), FLASK_SECRET_KEY_FILE: '/run/secrets/flask_secret_key' } });
    expect(r.status).toBe(64);
    expect(r.stderr.toString()).toMatch(/FLASK_SECRET_KEY_FILE names .*flask_secret_key, which uid \d+ cannot read/u);
  });

  it('agrees with rebuildSecretUrls, also on non-ASCII and reserved characters and multi-line secrets', () => {
    const secrets = { db_password: 'p@ss wörd/ü:%?#&+', flask_secret_key: 'line1\nline2\n', unused: 'x' };
    const env = {
      DATABASE_URL: 'mysql://u:__FERRY_SECRET_DB_PASSWORD__@mysql:3306/d?x=__FERRY_SECRET_DB_PASSWORD__',
      FLASK_SECRET_KEY_FILE: '/run/secrets/flask_secret_key',
      ALREADY_SET_FILE: '/run/secrets/db_password', ALREADY_SET: 'kept',
    };
    const shell = runEntrypoint(env, secrets, 'agree');
    expect(shell.status).toBe(0);
    const expected = rebuildSecretUrls(env, (n) => secrets[n as keyof typeof secrets]);
    for (const key of Object.keys(expected)) expect(shell.env[key], key).toBe(expected[key]);
    expect(shell.env.DATABASE_URL).toBe('mysql://u:p%40ss%20w%C3%B6rd%2F%C3%BC%3A%25%3F%23%26%2B@mysql:3306/d?x=p%40ss%20w%C3%B6rd%2F%C3%BC%3A%25%3F%23%26%2B');
    expect(shell.env.FLASK_SECRET_KEY).toBe('line1\nline2\n');
    expect(shell.env.ALREADY_SET).toBe('kept');
  });

  it('refuses to start when a placeholder has no secret file, naming the file but no value', () => {
    const r = runEntrypoint({ DATABASE_URL: 'mysql://u:__FERRY_SECRET_DB_PASSWORD__@mysql/d', OTHER_SECRET: 'topsecretvalue' }, {}, 'missing');
    expect(r.status).toBe(64);
    expect(r.stderr).toMatch(/DATABASE_URL needs the secret file .*\/db_password/u);
    expect(r.stderr).not.toContain('topsecretvalue');
  });
});
