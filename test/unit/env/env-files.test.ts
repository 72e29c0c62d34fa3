/**
 * The app's further env files (`app.envFiles`): each is transformed into its own `app.<name>.env`
 * (references to the main file re-resolved against the moved hosts), its secrets split into the shared
 * secrets/ directory, its original backed up and put back by rollback-restore-env, and loaded (the
 * override's `env_file:`) by the services that used it; a second run changes nothing; undo removes
 * only what the step created. Config: envFiles/envFileServices validated.
 */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configSchema } from '../../../lib/config/schema.ts';
import type { Config } from '../../../lib/config/schema.ts';
import { normalizeConfig } from '../../../lib/config/index.ts';
import { isFerryError } from '../../../lib/core/errors.ts';
import { createLogger } from '../../../lib/core/logger.ts';
import type { LogRecord } from '../../../lib/core/logger.ts';
import { noProgress } from '../../../lib/core/progress.ts';
import type { StepParams } from '../../../lib/core/step.ts';
import { Redactor } from '../../../lib/util/redact.ts';
import type { FerryContext } from '../../../lib/steps/context.ts';
import step, { ENV_OVERRIDE_FILE, envBackupDir } from '../../../lib/steps/env-transform.ts';
import restore from '../../../lib/steps/rollback-restore-env.ts';
import { emittedEnvName } from '../../../lib/steps/env-files.ts';
import { snapshotTree } from '../../support/tree-snapshot.ts';

const MAIN = join(import.meta.dirname, '../../../fixtures/env/vedfolnir-macos/input.env');
// The worker's own file: a URL assembled from the main file's variables, a secret of its own, the host's Ollama, a bare key.
const WORKER = [
  '# the RQ worker loads .env, then this file',
  'export WORKER_REDIS_URL=redis://:${REDIS_PASSWORD}@${REDIS_HOST}:${REDIS_PORT}/2',
  'WORKER_CONCURRENCY=4',
  "WEBHOOK_SECRET='whsec_9f8e7d6c5b4a39281706'",
  'OLLAMA_URL=http://localhost:11434',
  'WORKER_DEBUG',
  '',
].join('\r\n');
const REDIS_PASSWORD = 'wk-redis-pw';

let root: string;
let appDir: string;
let logs: LogRecord[];

function params(app: Record<string, unknown> = {}): StepParams<Config, FerryContext> {
  const redactor = new Redactor();
  const config = { ...configSchema.parse({ source: {}, app: { envFile: join(appDir, '.env'), envFiles: [join(appDir, '.env.worker')], ...app }, target: { composeDir: '.', project: 'test' } }), stateDir: join(root, 'state') } as Config;
  const ctx = { mode: 'migrate', redactor, source: {}, target: {}, services: {}, artifactsDir: join(root, 'state/artifacts'), project: 'test', composeDir: appDir, appDir } as FerryContext;
  return { config, ctx, signal: new AbortController().signal, log: createLogger((r) => logs.push(r), redactor), progress: noProgress, previous: undefined, outputs: new Map(), stateDir: join(root, 'state/steps/env-transform') };
}

const snapshot = snapshotTree;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'ferry-env-files-'));
  appDir = join(root, 'app');
  await mkdir(appDir);
  // The main file gives REDIS_PASSWORD a value the worker's URL picks up.
  await writeFile(join(appDir, '.env'), `${await readFile(MAIN, 'utf8')}REDIS_PASSWORD=${REDIS_PASSWORD}\n`, { mode: 0o640 });
  await writeFile(join(appDir, '.env.worker'), WORKER, { mode: 0o600 });
  // The stack: web loads the main env, worker both (the originals: ferry reports them).
  await writeFile(join(appDir, 'docker-compose.yml'), [
    'services:', '  vedfolnir: { image: app, env_file: ["${VEDFOLNIR_ENV_FILE:-.env.docker}"] }', '  worker: { image: app, env_file: [.env.worker] }', '',
  ].join('\n'));
  logs = [];
});
afterEach(() => rm(root, { recursive: true, force: true }));

describe('app.envFiles: every env file of the app', () => {
  it('names the emitted file after the original', () => {
    expect(emittedEnvName('/a/.env.worker')).toBe('app.worker.env');
    expect(emittedEnvName('/a/worker.env')).toBe('app.worker.env');
    expect(emittedEnvName('/a/.env.local')).toBe('app.local.env');
    expect(emittedEnvName('/a/Jobs Settings.env')).toBe('app.jobs-settings.env');
  });

  it('transforms each file into its own canonical file, splits its secrets, and the services that used it load it', async () => {
    const p = params();
    const original = await readFile(join(appDir, '.env.worker'));
    expect((await step.check!(p)).done).toBe(false);
    const out = await step.run(p);
    expect(await readFile(join(appDir, '.env.worker'))).toEqual(original); // only read
    // Re-resolved against the moved hosts; the password inside the URL and the webhook secret leave the env; unset stays unset.
    expect(await readFile(join(appDir, 'app.worker.env'), 'utf8')).toBe([
      'WORKER_REDIS_URL=redis://:__FERRY_SECRET_REDIS_PASSWORD__@redis:6379/2', 'WORKER_CONCURRENCY=4',
      'WEBHOOK_SECRET_FILE=/run/secrets/webhook_secret', 'OLLAMA_URL=http://host.docker.internal:11434', '',
    ].join('\n'));
    expect(await readFile(join(appDir, 'secrets/webhook_secret.txt'), 'utf8')).toBe('whsec_9f8e7d6c5b4a39281706');
    expect((await stat(join(appDir, 'secrets/webhook_secret.txt'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(appDir, 'secrets/redis_password.txt'), 'utf8')).toBe(REDIS_PASSWORD);
    // The worker (whose env_file names .env.worker) loads app.worker.env with its secrets; the main app service does not.
    const doc = parse(await readFile(join(appDir, ENV_OVERRIDE_FILE), 'utf8')) as { services: Record<string, { env_file?: string[]; secrets?: string[]; extra_hosts?: string[] }>; secrets: Record<string, unknown> };
    expect(doc.services.worker?.env_file).toEqual(['./app.worker.env']);
    expect(doc.services.worker?.secrets).toEqual(['redis_password', 'webhook_secret']);
    expect(doc.services.worker?.extra_hosts).toEqual(['host.docker.internal:host-gateway']);
    expect(doc.services.vedfolnir?.env_file).toBeUndefined();
    expect(doc.secrets).toHaveProperty('webhook_secret');
    // Backed up byte for byte; reported without values.
    expect(await readFile(join(envBackupDir(join(root, 'state')), 'files/app.worker.env/original.env'))).toEqual(original);
    const logged = logs.map((l) => l.message).join('\n');
    expect(logged).toContain(`${join(appDir, '.env.worker')} → app.worker.env, loaded by worker`);
    expect(logged).toContain(`${join(appDir, '.env.worker')}:6 WORKER_DEBUG [dropped]`);
    expect(logged).toContain('warning: worker also loads .env.worker (docker-compose.yml env_file:): point it at ./app.worker.env');
    expect(logged).not.toContain('whsec_9f8e7d6c5b4a39281706');
    expect(logged).not.toContain(REDIS_PASSWORD);
    expect(JSON.stringify(out)).not.toContain('whsec_9f8e7d6c5b4a39281706');
    expect(await readFile(join(root, 'state/env/report.md'), 'utf8')).not.toContain('whsec_9f8e7d6c5b4a39281706');
    expect(await step.verify!(p)).toMatchObject({ ok: true });
    expect((await step.check!(p)).done).toBe(true);
    // A second run changes nothing.
    const before = await snapshot(root);
    await step.run(p);
    const after = await snapshot(root);
    delete before['state/env/report.md']; delete after['state/env/report.md'];
    expect(after).toEqual(before);
  });

  it('without compose naming the file, the app services load it; app.envFileServices names them explicitly', async () => {
    await writeFile(join(appDir, 'docker-compose.yml'), 'services:\n  web: { image: app }\n  jobs: { image: app }\n');
    await step.run(params({ appServices: ['web', 'jobs'] }));
    let doc = parse(await readFile(join(appDir, ENV_OVERRIDE_FILE), 'utf8')) as { services: Record<string, { env_file?: string[] }> };
    // Neither loads app.env in the stack's own file: the override gives them both, the main file first.
    expect(doc.services.web?.env_file).toEqual(['./app.env', './app.worker.env']);
    expect(doc.services.jobs?.env_file).toEqual(['./app.env', './app.worker.env']);
    await step.run(params({ appServices: ['web', 'jobs'], envFileServices: { [join(appDir, '.env.worker')]: ['jobs'] } }));
    doc = parse(await readFile(join(appDir, ENV_OVERRIDE_FILE), 'utf8')) as { services: Record<string, { env_file?: string[] }> };
    expect(doc.services.web?.env_file).toEqual(['./app.env']);
    expect(doc.services.jobs?.env_file).toEqual(['./app.env', './app.worker.env']);
  });

  it('rollback-restore-env puts every env file back byte for byte; undo removes the emitted files it created', async () => {
    const p = params();
    const original = await readFile(join(appDir, '.env.worker'));
    await step.run(p);
    await writeFile(join(appDir, '.env.worker'), 'EDITED=1\n');
    const r = { config: p.config, ctx: p.ctx, signal: p.signal, log: p.log, progress: noProgress, previous: undefined, outputs: new Map(), stateDir: join(root, 'state/steps/rollback-restore-env') } as StepParams<Config, FerryContext>;
    expect((await restore.check!(r)).done).toBe(false);
    expect((await restore.plan(r)).changes).toEqual([join(appDir, '.env.worker')]);
    const out = await restore.run(r);
    expect(await readFile(join(appDir, '.env.worker'))).toEqual(original);
    expect((await stat(join(appDir, '.env.worker'))).mode & 0o777).toBe(0o600);
    expect((out as { data?: unknown } | undefined)?.data).toMatchObject({ restored: true, restoredFiles: [join(appDir, '.env.worker')] });
    expect(await restore.verify!(r)).toEqual({ ok: true, findings: [] });
    // The restore removed what the env step created, the worker's emitted file too.
    await expect(stat(join(appDir, 'app.worker.env'))).rejects.toThrow();
    await expect(stat(join(appDir, 'secrets'))).rejects.toThrow();
    expect((await restore.check!(r)).done).toBe(true);
  });

  it('undo removes the worker file it emitted and leaves both originals', async () => {
    const p = params();
    const before = await snapshot(appDir);
    await step.run(p);
    await step.undo!(p);
    expect(await snapshot(appDir)).toEqual(before);
  });

  it('a secret another file gives a different value gets a name of its own (one value, one file), reported without values', async () => {
    await writeFile(join(appDir, '.env.worker'), "FLASK_SECRET_KEY='another-value-entirely-0123456789'\nJOBS_URL=redis://:other-redis-pw@127.0.0.1:6379/4\n");
    await step.run(params());
    expect(await readFile(join(appDir, 'app.worker.env'), 'utf8')).toBe('FLASK_SECRET_KEY_FILE=/run/secrets/flask_secret_key_2\nJOBS_URL=redis://:__FERRY_SECRET_JOBS_URL_PASSWORD__@redis:6379/4\n');
    expect(await readFile(join(appDir, 'secrets/flask_secret_key_2.txt'), 'utf8')).toBe('another-value-entirely-0123456789');
    expect(await readFile(join(appDir, 'secrets/jobs_url_password.txt'), 'utf8')).toBe('other-redis-pw');
    expect(await readFile(join(appDir, 'secrets/flask_secret_key.txt'), 'utf8')).toBe('k9#Jf2!qL7xV0pZr3mW8sT1yB6nC4hD5'); // the main file's, untouched
    const doc = parse(await readFile(join(appDir, ENV_OVERRIDE_FILE), 'utf8')) as { services: Record<string, { secrets?: string[] }> };
    expect(doc.services.worker?.secrets).toEqual(['flask_secret_key_2', 'jobs_url_password']); // only what its file uses
    const logged = logs.map((l) => l.message).join('\n');
    expect(logged).toContain('FLASK_SECRET_KEY differs from the value in secret flask_secret_key: it gets its own secret flask_secret_key_2');
    expect(logged).not.toContain('another-value-entirely');
    expect(logged).not.toContain('other-redis-pw');
    expect(await step.verify!(params())).toMatchObject({ ok: true });
  });

  it('reports a variable two files set differently (which file wins depends on the loading order)', async () => {
    await writeFile(join(appDir, '.env.worker'), 'LOG_LEVEL=DEBUG\n');
    await step.run(params());
    expect(logs.map((l) => l.message).join('\n')).toContain(`warning: LOG_LEVEL is set by ${join(appDir, '.env')} and by ${join(appDir, '.env.worker')} with different values`);
  });

  it('names a missing further env file; nothing written', async () => {
    await rm(join(appDir, '.env.worker'));
    const before = await snapshot(root);
    const e = await step.run(params()).then(() => undefined, (x: unknown) => x);
    expect(isFerryError(e) && e.code).toBe('E_ENV_MISSING');
    expect((e as Error).message).toContain(join(appDir, '.env.worker'));
    expect(await snapshot(root)).toEqual(before);
  });
});

describe('config: app.envFiles and app.envFileServices', () => {
  const base = { source: {}, target: { composeDir: 'stack', project: 'p' } };
  it('resolves both against the config directory', () => {
    const c = normalizeConfig({ ...base, app: { envFile: '.env', envFiles: ['.env.worker'], envFileServices: { '.env.worker': ['worker'] } } }, { baseDir: '/srv/app', env: {} });
    expect(c.app.envFiles).toEqual(['/srv/app/.env.worker']);
    expect(c.app.envFileServices).toEqual({ '/srv/app/.env.worker': ['worker'] });
  });
  it('refuses the main file among envFiles, a file twice, and services for a file envFiles does not list', () => {
    const e = (app: Record<string, unknown>) => { try { normalizeConfig({ ...base, app: { envFile: '.env', ...app } }, { baseDir: '/srv/app', env: {} }); } catch (x) { return x as Error & { detail?: string }; } return undefined; };
    expect(e({ envFiles: ['./.env'] })?.message).toContain('app.envFiles[0]: got "./.env"; expected a file other than app.envFile');
    expect(e({ envFiles: ['a.env', '/srv/app/a.env'] })?.message).toContain('app.envFiles[1]: got "/srv/app/a.env"; expected each file once');
    expect(e({ envFiles: ['a.env'], envFileServices: { 'b.env': ['w'] } })?.message).toContain('app.envFileServices: got "b.env"; expected one of app.envFiles (a.env)');
  });
});
