/**
 * The env-transform step on a scratch app directory (also the compose directory): plan changes
 * nothing, run leaves the original byte for byte and emits the golden app.env, the override and 0600
 * secrets owned by the container user, check/verify see it, a second run changes nothing, a killed run
 * resumes, undo removes only what the step created.
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
import step, { CONTAINER_ENV_FILE, ENV_OVERRIDE_FILE, envBackupDir } from '../../../lib/steps/env-transform.ts';
import { readEnvBackup, recordCreated, restoreEnvFromBackup, writeEnvBackup } from '../../../lib/steps/env-backup.ts';
import { missingSecretPaths } from '../../../lib/steps/env-secrets.ts';
import { snapshotTree } from '../../support/tree-snapshot.ts';

const FIXTURES = join(import.meta.dirname, '../../../fixtures/env');
const fixture = (c: string, f: string) => readFile(join(FIXTURES, c, f));

let root: string;
let appDir: string;
let logs: LogRecord[];
let p: StepParams<Config, FerryContext>;

function params(overrides: { secretKeys?: string[]; pathMappings?: Record<string, string> } = {}): StepParams<Config, FerryContext> {
  const redactor = new Redactor();
  const config = { ...configSchema.parse({ source: {}, app: { envFile: '/Users/me/vedfolnir/.env', ...overrides }, target: { composeDir: '.', project: 'test' } }), stateDir: join(root, 'state') } as Config;
  const ctx = { mode: 'migrate', redactor, source: {}, target: {}, services: {}, artifactsDir: join(root, 'state/artifacts'), project: 'test', composeDir: appDir, appDir } as FerryContext;
  return { config, ctx, signal: new AbortController().signal, log: createLogger((r) => logs.push(r), redactor), progress: noProgress, previous: undefined, outputs: new Map(), stateDir: join(root, 'state/steps/env-transform') };
}

const snapshot = snapshotTree;

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
  const emitted = () => readFile(join(appDir, CONTAINER_ENV_FILE));

  it('plans without changing anything and shows no secret', async () => {
    const before = await snapshot(root);
    const plan = await step.plan(p);
    expect(await snapshot(root)).toEqual(before);
    expect(plan.pending).toBe(true);
    expect(plan.changes).toEqual(expect.arrayContaining([join(appDir, CONTAINER_ENV_FILE), join(appDir, ENV_OVERRIDE_FILE), join(appDir, 'secrets/mysql_password.txt'), join(appDir, '.gitignore')]));
    expect(plan.changes).not.toContain(join(appDir, '.env'));
    expect(plan.details).toContain('+DB_HOST=mysql');
    expect(plan.details).toContain('OLLAMA_URL [host] host localhost:11434 → host.docker.internal:11434');
    for (const v of Object.values(await secretsOf('vedfolnir-macos'))) if (v.length >= 4) expect(plan.details).not.toContain(v);
  });

  it('leaves the original untouched and emits the golden app.env, the override and 0600 secrets the app user owns', async () => {
    const original = await readFile(join(appDir, '.env'));
    expect((await step.check!(p)).done).toBe(false);
    const out = await step.run(p);
    expect(await readFile(join(appDir, '.env'))).toEqual(original);
    expect((await stat(join(appDir, '.env'))).mode & 0o777).toBe(0o640);
    expect(await emitted()).toEqual(await fixture('vedfolnir-macos', 'expected.env'));
    const override = await readFile(join(appDir, ENV_OVERRIDE_FILE), 'utf8');
    // No compose file here loads app.env: the override adds it (compose appends env_file entries).
    expect(override).toContain('  "vedfolnir":\n    env_file:\n      - "./app.env"\n    environment:\n      "CAPTION_PROMPT": "Describe this image for a screen reader user.\\nBe concise');
    expect(override).toContain('    extra_hosts:\n      - "host.docker.internal:host-gateway"');
    expect(override).toContain('  "redis_password":\n    file: "./secrets/redis_password.txt"');
    expect((await stat(join(appDir, 'secrets'))).mode & 0o777).toBe(0o700);
    for (const [name, value] of Object.entries(await secretsOf('vedfolnir-macos'))) {
      const file = join(appDir, 'secrets', `${name}.txt`);
      expect(await readFile(file, 'utf8')).toBe(value);
      const s = await stat(file);
      expect(s.mode & 0o777).toBe(0o600);
      if (process.platform === 'linux') expect([s.uid, s.gid]).toEqual([10001, 10001]);
    }
    expect(await readFile(join(appDir, '.gitignore'), 'utf8')).toContain('\n/secrets/\n');
    expect(await readFile(join(appDir, '.dockerignore'), 'utf8')).toContain('\nsecrets\n');
    expect(out?.artifacts?.[0]?.path).toBe(join(root, 'state/env/original.env'));
    expect(await readFile(join(root, 'state/env/original.env.sha256'), 'utf8')).toMatch(new RegExp(`^${out?.artifacts?.[0]?.sha256}  original.env\n$`, 'u'));
    expect(await step.check!(params())).toMatchObject({ done: true });
    expect(await step.verify!(params())).toMatchObject({ ok: true, findings: [] });
    expect(await step.plan(params())).toMatchObject({ pending: false });
    const report = await readFile(join(root, 'state/env/report.md'), 'utf8');
    expect(report).toContain(`- ${join(appDir, '.env')}:33 OLLAMA_URL [host] host localhost:11434 → host.docker.internal:11434 (ollama)`);
    expect(report).toContain('-FLASK_SECRET_KEY=•••\n+FLASK_SECRET_KEY_FILE=/run/secrets/flask_secret_key');
    for (const v of Object.values(await secretsOf('vedfolnir-macos'))) expect(report).not.toContain(v.length >= 4 ? v : `:${v}@`);
    const logged = logs.map((l) => l.message).join('\n');
    expect(logged).toContain(`${join(appDir, '.env')}:17 DATABASE_URL [url-password] password → secret mysql_password`);
    expect(logged).toContain('CAPTION_PROMPT [environment]');
    for (const v of Object.values(await secretsOf('vedfolnir-macos'))) expect(logged).not.toContain(v.length >= 4 ? v : `:${v}@`);
  });

  it('changes nothing when run a second time', async () => {
    await step.run(p);
    const after = await snapshot(root);
    await step.run(params());
    expect(await snapshot(root)).toEqual(after);
  });

  it('undo removes only what it created (the original never changed); twice is safe', async () => {
    await mkdir(join(appDir, 'secrets'), { mode: 0o700 });
    await writeFile(join(appDir, 'secrets/unrelated.txt'), 'keep me');
    await writeFile(join(appDir, 'secrets/mysql_password.txt'), 'p@ss', { mode: 0o600 }); // same value: not ours, kept
    await writeFile(join(appDir, '.gitignore'), 'node_modules\n');
    await step.run(p);
    await step.undo!(params());
    const after = await snapshot(appDir);
    expect(Object.keys(after).sort()).toEqual(['.env', '.gitignore', 'secrets', 'secrets/mysql_password.txt', 'secrets/unrelated.txt']);
    expect(await readFile(join(appDir, '.gitignore'), 'utf8')).toBe('node_modules\n# ferry: secret files (0600)\n/secrets/\n'); // appended, kept
    await step.undo!(params());
    expect(await snapshot(appDir)).toEqual(after);
  });

  it("undo never writes the .env: an edit made since the run is the operator's", async () => {
    await step.run(p);
    await writeFile(join(appDir, '.env'), 'EDITED=1\n');
    await step.undo!(params());
    expect(await readFile(join(appDir, '.env'), 'utf8')).toBe('EDITED=1\n');
    expect(await readdir(appDir)).toEqual(['.env']);
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
    expect(await emitted()).toEqual(await fixture('vedfolnir-macos', 'expected.env'));
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

  it('writes nothing for a secret it cannot place, and names the key only', async () => {
    await writeFile(join(appDir, '.env'), await fixture('bad-secret-unplaceable', 'input.env'));
    const before = await snapshot(root);
    const e = await step.run(p).catch((x: unknown) => x);
    expect(isFerryError(e) && e.code).toBe('E_ENV_SECRET_PLACE');
    expect((e as Error).message).toContain('payment-gateway_TOKEN');
    expect(JSON.stringify(e)).not.toContain('tok_abcdef');
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

  it('follows an original edited after the run: check sees it, a re-run emits from the new bytes', async () => {
    await step.run(p);
    const edited = `${(await fixture('vedfolnir-macos', 'input.env')).toString()}EXTRA=1\n`;
    await writeFile(join(appDir, '.env'), edited);
    expect((await step.check!(params())).done).toBe(false);
    expect((await step.verify!(params())).findings).toContain(`${join(appDir, '.env')} changed since the container env was emitted from it`);
    await step.run(params());
    expect((await emitted()).toString()).toMatch(/\nEXTRA=1\n$/u);
    expect(await readFile(join(appDir, '.env'), 'utf8')).toBe(edited);
    expect(await step.verify!(params())).toMatchObject({ ok: true });
  });

  it('verify reports loose modes, a wrong owner, missing secret files and a non-canonical line', async () => {
    await step.run(p);
    await chmod(join(appDir, 'secrets/flask_secret_key.txt'), 0o644);
    await rm(join(appDir, 'secrets/redis_password.txt'));
    await writeFile(join(appDir, CONTAINER_ENV_FILE), `${(await emitted()).toString()}BAD="quoted"\n`);
    const v = await step.verify!(params());
    expect(v.ok).toBe(false);
    expect(v.findings).toEqual(expect.arrayContaining([
      `${join(appDir, 'secrets/flask_secret_key.txt')} has mode 644, expected 600`,
      `${join(appDir, 'secrets/redis_password.txt')} is missing`,
      `${join(appDir, CONTAINER_ENV_FILE)}:29 is not a canonical KEY=value line`,
    ]));
  });

  it('restoreEnvFromBackup works from the backup alone and refuses a corrupt one', async () => {
    const original = await readFile(join(appDir, '.env'));
    await step.run(p);
    const dir = envBackupDir(p.config.stateDir);
    expect((await readEnvBackup(dir))?.manifest.envPath).toBe(join(appDir, '.env'));
    await writeFile(join(dir, 'original.env'), 'tampered');
    const e = await restoreEnvFromBackup(dir).catch((x: unknown) => x);
    expect(isFerryError(e) && e.code).toBe('E_ENV_BACKUP_CORRUPT');
    await writeFile(join(dir, 'original.env'), original);
    expect(await restoreEnvFromBackup(dir)).toMatchObject({ restored: false });
    expect(await readFile(join(appDir, '.env'))).toEqual(original);
    expect(await readdir(appDir)).toEqual(['.env']);
  });

  it('keeps its fingerprint across the run (it is computed from the original)', async () => {
    const before = await step.fingerprint!(p);
    await step.run(p);
    expect(await step.fingerprint!(params())).toBe(before);
    expect(await step.fingerprint!(params({ secretKeys: ['OLLAMA_MODEL'] }))).not.toBe(before);
  });

  it('refuses a .env that is not UTF-8 rather than misread it', async () => {
    await writeFile(join(appDir, '.env'), Buffer.from('DATABASE_URL=mysql://u@localhost/d\nNAME=caf\xe9\n', 'latin1'));
    const before = await snapshot(root);
    const e = await step.run(p).catch((x: unknown) => x);
    expect(isFerryError(e) && e.code).toBe('E_ENV_ENCODING');
    expect(await snapshot(root)).toEqual(before);
  });

  it("reports app variables the stack's own environment: shadows (compose prefers it to app.env)", async () => {
    await writeFile(join(appDir, 'docker-compose.yml'), 'x-env: &env\n  OLLAMA_URL: ${OLLAMA_URL:-http://host.docker.internal:11434}\nservices:\n  vedfolnir:\n    environment:\n      <<: *env\n      RQ_INTEGRATED_WORKERS: "true"\n      FLASK_SECRET_KEY: x\n  redis:\n    environment: [LOG_LEVEL=debug]\n');
    const plan = await step.plan(p);
    expect(plan.details).toContain("warning: OLLAMA_URL is also set by docker-compose.yml's environment: for vedfolnir; compose prefers that to app.env, so the app sees the stack's value");
    expect(plan.details).toContain('warning: FLASK_SECRET_KEY is also set by docker-compose.yml');
    expect(plan.details).not.toContain('warning: RQ_INTEGRATED_WORKERS'); // not in the .env: nothing shadowed
    expect(plan.details).not.toContain('warning: LOG_LEVEL'); // another service
  });

  it("an app configured by stores: each store's server becomes its service and port, a server no store moves stays on the host, a files store's directory maps to its container path", async () => {
    await writeFile(join(appDir, '.env'), [
      'DATABASE_URL=mysql://shop@localhost:3307/shop', 'REPORTS_URL=mysql://shop@127.0.0.1:3306/reports', 'CACHE_URL=redis://localhost:6380/0',
      'UPLOAD_DIR=/Users/me/shop/uploads/incoming', 'SECRET_KEY=shop-secret-key', '',
    ].join('\n'));
    const config = { ...configSchema.parse({
      source: {}, app: { envFile: '/Users/me/shop/.env' },
      target: { composeDir: '.', project: 'test', appServices: ['web', 'worker'] },
      stores: [
        { id: 'shop-db', engine: 'mysql', source: 'mysql://root@127.0.0.1:3307', target: { service: 'db', containerPort: 3306 } },
        { id: 'cache', engine: 'redis', source: 'redis://127.0.0.1:6380', target: { service: 'cache' } },
        { id: 'uploads', engine: 'files', source: '/Users/me/shop/uploads', target: { service: 'web', containerPath: '/srv/uploads' } },
      ],
    }), stateDir: join(root, 'state') } as Config;
    await step.run({ ...p, config });
    expect((await emitted()).toString()).toBe([
      'DATABASE_URL=mysql://shop@db:3306/shop', 'REPORTS_URL=mysql://shop@host.docker.internal:3306/reports', 'CACHE_URL=redis://cache:6379/0',
      'UPLOAD_DIR=/srv/uploads/incoming', 'SECRET_KEY_FILE=/run/secrets/secret_key', '',
    ].join('\n'));
    const override = await readFile(join(appDir, ENV_OVERRIDE_FILE), 'utf8');
    expect(override).toContain('  "web":\n    env_file:\n      - "./app.env"\n    extra_hosts:');
    expect(override).toContain('  "worker":\n    env_file:\n      - "./app.env"\n    extra_hosts:');
  });

  it("without app services named, a stores app's env goes to the compose services that load an env file and hold no store", async () => {
    await writeFile(join(appDir, 'docker-compose.yml'), [
      'services:', '  web: { image: shop, env_file: [.env] }', '  worker: { image: shop, env_file: .env }', '  nginx: { image: nginx }',
      '  db: { image: mysql, env_file: [db.env] }', '',
    ].join('\n'));
    await writeFile(join(appDir, '.env'), 'DATABASE_URL=mysql://shop@localhost:3307/shop\nSMTP_HOST=localhost\n');
    const config = { ...configSchema.parse({
      source: {}, app: { envFile: '/Users/me/shop/.env' }, target: { composeDir: '.', project: 'test' },
      stores: [{ id: 'shop-db', engine: 'mysql', source: 'mysql://root@127.0.0.1:3307', target: { service: 'db' } }],
    }), stateDir: join(root, 'state') } as Config;
    await step.run({ ...p, config });
    const override = await readFile(join(appDir, ENV_OVERRIDE_FILE), 'utf8');
    expect([...override.matchAll(/^ {2}"([^"]+)":$/gmu)].map((m) => m[1])).toEqual(['web', 'worker']);
    const logged = logs.map((l) => l.message).join('\n');
    expect(logged).toContain("warning: web also loads .env (docker-compose.yml env_file:): point it at ./app.env, or the container gets that file's values (the host's meaning, secrets in clear)");
    expect(logged).toContain('warning: worker also loads .env');
  });

  it('moves the configured extra secret keys and maps the configured host paths', async () => {
    await writeFile(join(appDir, '.env'), `${(await fixture('vedfolnir-macos', 'input.env')).toString()}SENTRY_DSN=https://abcd1234@sentry.example/1\nEXPORTS=/Volumes/data/exports/x\nUPLOADS=/Users/me/vedfolnir/storage/uploads\n`);
    const q = params({ secretKeys: ['SENTRY_*'], pathMappings: { '/Volumes/data/exports': '/app/exports' } });
    await step.run(q);
    expect(await readFile(join(appDir, 'secrets/sentry_dsn.txt'), 'utf8')).toBe('https://abcd1234@sentry.example/1');
    const env = (await emitted()).toString();
    expect(env).toContain('SENTRY_DSN_FILE=/run/secrets/sentry_dsn\n');
    expect(env).toContain('EXPORTS=/app/exports/x\n');
    expect(env).toContain('UPLOADS=/app/storage/uploads\n'); // the design's ./storage volume, from app.envFile's directory
    expect(await readFile(join(appDir, ENV_OVERRIDE_FILE), 'utf8')).toContain('"sentry_dsn"');
  });
});
