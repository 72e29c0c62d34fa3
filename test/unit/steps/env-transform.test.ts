/**
 * The env-transform step on a scratch app directory: plan changes nothing, run writes the golden
 * .env and 0600 secrets, check/verify see it, a second run changes nothing, a killed run resumes,
 * undo restores the original byte for byte and removes only what the step created.
 */
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../../lib/config/schema.ts';
import type { Config } from '../../../lib/config/schema.ts';
import { isFerryError } from '../../../lib/core/errors.ts';
import { createLogger } from '../../../lib/core/logger.ts';
import type { LogRecord } from '../../../lib/core/logger.ts';
import { noProgress } from '../../../lib/core/progress.ts';
import type { StepParams } from '../../../lib/core/step.ts';
import { Redactor } from '../../../lib/util/redact.ts';
import type { FerryContext } from '../../../lib/steps/context.ts';
import step, { envBackupDir } from '../../../lib/steps/env-transform.ts';
import { readEnvBackup, recordCreated, restoreEnvFromBackup, writeEnvBackup } from '../../../lib/steps/env-backup.ts';
import { missingSecretPaths } from '../../../lib/steps/env-secrets.ts';

const FIXTURES = join(import.meta.dirname, '../../../fixtures/env');
const fixture = (c: string, f: string) => readFile(join(FIXTURES, c, f));

let root: string;
let appDir: string;
let logs: LogRecord[];
let p: StepParams<Config, FerryContext>;

function params(overrides: { secretKeys?: string[] } = {}): StepParams<Config, FerryContext> {
  const redactor = new Redactor();
  const config = { ...configSchema.parse({ source: {}, app: { envFile: '/Users/me/vedfolnir/.env', ...overrides }, target: { composeDir: '.', project: 'test' } }), stateDir: join(root, 'state') } as Config;
  const ctx = { mode: 'migrate', redactor, source: {}, target: {}, services: {}, artifactsDir: join(root, 'state/artifacts'), project: 'test', composeDir: appDir, appDir } as FerryContext;
  return { config, ctx, signal: new AbortController().signal, log: createLogger((r) => logs.push(r), redactor), progress: noProgress, previous: undefined, outputs: new Map(), stateDir: join(root, 'state/steps/env-transform') };
}

/** Every file under `dir` with its bytes and mode, to prove what changed. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir, { recursive: true })).sort()) {
    const s = await stat(join(dir, name));
    out[name] = `${(s.mode & 0o777).toString(8)} ${s.isFile() ? (await readFile(join(dir, name))).toString('base64') : 'dir'}`;
  }
  return out;
}

const secretsOf = async (c: string) => JSON.parse((await fixture(c, 'expected-secrets.json')).toString()) as Record<string, string>;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'ferry-env-step-'));
  appDir = join(root, 'app');
  await mkdir(appDir);
  await writeFile(join(appDir, '.env'), await fixture('vedfolnir-macos', 'input.env'), { mode: 0o640 });
  logs = [];
  p = params();
});
afterEach(() => rm(root, { recursive: true, force: true }));

describe('env-transform', () => {
  it('plans without changing anything and shows no secret', async () => {
    const before = await snapshot(root);
    const plan = await step.plan(p);
    expect(await snapshot(root)).toEqual(before);
    expect(plan.pending).toBe(true);
    expect(plan.changes).toContain(join(appDir, 'secrets/mysql_password.txt'));
    expect(plan.details).toContain('+DB_HOST=mysql');
    expect(plan.details).toContain('extra_hosts: host.docker.internal:host-gateway');
    for (const v of Object.values(await secretsOf('vedfolnir-macos'))) if (v.length >= 4) expect(plan.details).not.toContain(v);
  });

  it('writes the golden .env and 0600 secrets in a 0700 directory, then check and verify hold', async () => {
    expect((await step.check!(p)).done).toBe(false);
    const out = await step.run(p);
    expect(await readFile(join(appDir, '.env'))).toEqual(await fixture('vedfolnir-macos', 'expected.env'));
    expect((await stat(join(appDir, '.env'))).mode & 0o777).toBe(0o640);
    expect((await stat(join(appDir, 'secrets'))).mode & 0o777).toBe(0o700);
    for (const [name, value] of Object.entries(await secretsOf('vedfolnir-macos'))) {
      const file = join(appDir, 'secrets', `${name}.txt`);
      expect(await readFile(file, 'utf8')).toBe(value);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
    }
    expect(out?.artifacts?.[0]?.path).toBe(join(root, 'state/env/original.env'));
    expect(await readFile(join(root, 'state/env/original.env.sha256'), 'utf8')).toMatch(new RegExp(`^${out?.artifacts?.[0]?.sha256}  original.env\n$`, 'u'));
    expect(await step.check!(params())).toMatchObject({ done: true });
    expect(await step.verify!(params())).toMatchObject({ ok: true, findings: [] });
    expect(await step.plan(params())).toMatchObject({ pending: false });
    const logged = logs.map((l) => l.message).join('\n');
    expect(logged).toContain('DATABASE_URL: host localhost:3306 → mysql:3306; password → secret mysql_password');
    for (const v of Object.values(await secretsOf('vedfolnir-macos'))) expect(logged).not.toContain(v.length >= 4 ? v : `:${v}@`);
  });

  it('changes nothing when run a second time', async () => {
    await step.run(p);
    const after = await snapshot(root);
    await step.run(params());
    expect(await snapshot(root)).toEqual(after);
  });

  it('undo restores the original byte for byte and removes only what it created; twice is safe', async () => {
    await mkdir(join(appDir, 'secrets'), { mode: 0o700 });
    await writeFile(join(appDir, 'secrets/unrelated.txt'), 'keep me');
    await writeFile(join(appDir, 'secrets/mysql_password.txt'), 'p@ss', { mode: 0o600 }); // same value: not ours, kept
    const before = await snapshot(appDir);
    await step.run(p);
    await step.undo!(params());
    expect(await snapshot(appDir)).toEqual(before);
    await step.undo!(params());
    expect(await snapshot(appDir)).toEqual(before);
  });

  it('undo removes the secrets directory it created', async () => {
    const before = await snapshot(appDir);
    await step.run(p);
    await step.undo!(params());
    expect(await snapshot(appDir)).toEqual(before);
  });

  it('resumes a run killed after the backup and one secret, to the same end', async () => {
    const dir = envBackupDir(p.config.stateDir);
    const original = await readFile(join(appDir, '.env'));
    const backup = await writeEnvBackup(dir, join(appDir, '.env'), original, 0o640);
    const secrets = await secretsOf('vedfolnir-macos');
    await recordCreated(dir, backup, await missingSecretPaths(appDir, Object.keys(secrets)));
    await mkdir(join(appDir, 'secrets'), { mode: 0o700 });
    await writeFile(join(appDir, 'secrets/mysql_password.txt'), 'p@', { mode: 0o600 }); // torn write of a file the step created
    expect((await step.check!(p)).done).toBe(false);
    await step.run(params());
    expect(await readFile(join(appDir, '.env'))).toEqual(await fixture('vedfolnir-macos', 'expected.env'));
    expect(await step.verify!(params())).toMatchObject({ ok: true });
    expect(await readFile(join(appDir, 'secrets/mysql_password.txt'), 'utf8')).toBe('p@ss');
    await step.undo!(params());
    expect(await readFile(join(appDir, '.env'))).toEqual(original);
    expect(await readdir(appDir)).toEqual(['.env']);
  });

  it('writes nothing for an unparseable line, and names file, line and column', async () => {
    await writeFile(join(appDir, '.env'), await fixture('bad-unterminated-quote', 'input.env'));
    const before = await snapshot(root);
    const e = await step.run(p).catch((x: unknown) => x);
    expect(isFerryError(e) && e.code).toBe('E_ENV_PARSE');
    expect((e as Error).message).toMatch(/^\.env:2:8: /u);
    expect(await snapshot(root)).toEqual(before);
  });

  it('writes nothing when a required variable is missing, and names it and who needs it', async () => {
    await writeFile(join(appDir, '.env'), await fixture('missing-required', 'input.env'));
    const before = await snapshot(root);
    const e = await step.run(p).catch((x: unknown) => x);
    expect(isFerryError(e) && e.code).toBe('E_ENV_INVALID');
    expect((e as Error).message).toBe('.env: REDIS_URL is missing or empty; the app (Flask-Session, RQ) to reach Redis needs it');
    expect(await snapshot(root)).toEqual(before);
    expect(JSON.stringify(e)).not.toContain('missing-req-secret');
  });

  it('refuses a secret file it did not write that holds another value, before writing anything', async () => {
    await mkdir(join(appDir, 'secrets'), { mode: 0o700 });
    await writeFile(join(appDir, 'secrets/mysql_password.txt'), 'other', { mode: 0o600 });
    const before = await snapshot(root);
    const e = await step.run(p).catch((x: unknown) => x);
    expect(isFerryError(e) && e.code).toBe('E_ENV_SECRET_CONFLICT');
    expect(await snapshot(root)).toEqual(before);
  });

  it('refuses to run over a .env edited since the backup', async () => {
    await step.run(p);
    await writeFile(join(appDir, '.env'), 'DATABASE_URL=mysql://x@mysql/d\n');
    const e = await step.run(params()).catch((x: unknown) => x);
    expect(isFerryError(e) && e.code).toBe('E_ENV_CHANGED');
  });

  it('verify reports loose modes and missing secret files', async () => {
    await step.run(p);
    await chmod(join(appDir, 'secrets/flask_secret_key.txt'), 0o644);
    await rm(join(appDir, 'secrets/redis_password.txt'));
    const v = await step.verify!(params());
    expect(v.ok).toBe(false);
    expect(v.findings).toEqual([
      `${join(appDir, 'secrets/flask_secret_key.txt')} has mode 644, expected 600`,
      `${join(appDir, 'secrets/redis_password.txt')} is missing`,
    ]);
  });

  it('restoreEnvFromBackup works from the backup alone and refuses a corrupt one', async () => {
    const original = await readFile(join(appDir, '.env'));
    await step.run(p);
    const dir = envBackupDir(p.config.stateDir);
    expect((await readEnvBackup(dir))?.manifest.envPath).toBe(join(appDir, '.env'));
    await writeFile(join(dir, 'original.env'), 'tampered');
    const e = await restoreEnvFromBackup(dir).catch((x: unknown) => x);
    expect(isFerryError(e) && e.code).toBe('E_ENV_BACKUP_CORRUPT');
    expect(await readFile(join(appDir, '.env'))).toEqual(await fixture('vedfolnir-macos', 'expected.env'));
    await writeFile(join(dir, 'original.env'), original);
    expect(await restoreEnvFromBackup(dir)).toMatchObject({ restored: true });
    expect(await readFile(join(appDir, '.env'))).toEqual(original);
  });

  it('keeps its fingerprint across the run (it is computed from the original)', async () => {
    const before = await step.fingerprint!(p);
    await step.run(p);
    expect(await step.fingerprint!(params())).toBe(before);
    expect(await step.fingerprint!(params({ secretKeys: ['OLLAMA_MODEL'] }))).not.toBe(before);
  });

  it('refuses a .env that is not UTF-8 rather than corrupt it', async () => {
    await writeFile(join(appDir, '.env'), Buffer.from('DATABASE_URL=mysql://u@localhost/d\nNAME=caf\xe9\n', 'latin1'));
    const before = await snapshot(root);
    const e = await step.run(p).catch((x: unknown) => x);
    expect(isFerryError(e) && e.code).toBe('E_ENV_ENCODING');
    expect(await snapshot(root)).toEqual(before);
  });

  it('moves the configured extra secret keys', async () => {
    await writeFile(join(appDir, '.env'), `${(await fixture('vedfolnir-macos', 'input.env')).toString()}SENTRY_DSN=https://abcd1234@sentry.example/1\n`);
    const q = params({ secretKeys: ['SENTRY_DSN'] });
    await step.run(q);
    expect(await readFile(join(appDir, 'secrets/sentry_dsn.txt'), 'utf8')).toBe('https://abcd1234@sentry.example/1');
    expect(await readFile(join(appDir, '.env'), 'utf8')).toContain('SENTRY_DSN_FILE=/run/secrets/sentry_dsn\n');
  });
});
