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
  it('gives the app every original value back, hosts moved to the stack', () => {
    const input = readFileSync(join(ROOT, 'fixtures/env/vedfolnir-macos/input.env'), 'utf8');
    const r = transformEnv(input);
    const { env, status } = runEntrypoint(loaded(r.env), r.secrets, 'vedfolnir');
    expect(status).toBe(0);
    const before = loaded(input);
    expect(env.DATABASE_URL).toBe('mysql+pymysql://vedfolnir:p%40ss@mysql:3306/vedfolnir?charset=utf8mb4');
    expect(env.REDIS_URL).toBe('redis://:pw@redis:6379/0');
    expect(env.SESSION_REDIS_URL).toBe('redis://:pw@redis:6379/0');
    for (const key of ['FLASK_SECRET_KEY', 'PLATFORM_ENCRYPTION_KEY', 'DB_PASSWORD', 'CAPTION_PROMPT', 'OLLAMA_MODEL']) expect(env[key], key).toBe(before[key]);
    expect(env.OLLAMA_URL).toBe('http://host.docker.internal:11434');
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
