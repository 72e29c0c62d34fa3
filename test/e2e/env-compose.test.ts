/**
 * The app container's environment, as real compose CLIs build it from the emitted files, equals what
 * the real python-dotenv loads from the original .env, with ferry's reported rewrites applied — for
 * every golden case and 400 generated hostile files.
 * - `config` (one call over all cases, one service each) proves compose reads app.env and the
 *   override as intended, and that the entrypoint's substitutions give the container env;
 * - `run --rm` (every golden case and a sample of the hostile ones) starts a stand-in app (the test
 *   bed's redis image running `env -0` behind compose/app/entrypoint-secrets.sh) as uid 10001 with the
 *   0600 secret files: what it prints is compared whole.
 * docker-compose v1 here; `docker compose` v2 too where it is installed.
 * The migrate playbook itself then starts the stack's app service (a stand-in image) after cutover, and
 * the environment its process runs with is asserted; rollback puts every env file back.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { chown, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { composeOverride, parseEnv, rebuildSecretUrls, resolveEnv, transformEnv } from '../../lib/env/index.ts';
import type { TransformOptions, TransformResult } from '../../lib/env/index.ts';
import { writeSecretFiles } from '../../lib/steps/env-secrets.ts';
import envTransform, { ENV_OVERRIDE_FILE, containerEnvPath } from '../../lib/steps/env-transform.ts';
import type { FerryContext } from '../../lib/steps/context.ts';
import { configSchema } from '../../lib/config/schema.ts';
import type { Config } from '../../lib/config/schema.ts';
import { createLogger } from '../../lib/core/logger.ts';
import { noProgress } from '../../lib/core/progress.ts';
import type { StepParams } from '../../lib/core/step.ts';
import { Redactor } from '../../lib/util/redact.ts';
import { generateHostileEnvFile, prng } from '../unit/env/generate.ts';
import { testImages } from '../support/images.ts';
import { startSeededSource, type SeededSource } from '../support/seeded-source.ts';
import { runPlaybookProcess, whyFailed } from '../support/playbook-process.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');
const ENTRYPOINT = join(ROOT, 'compose/app/entrypoint-secrets.sh');
const GOLDEN = join(ROOT, 'fixtures/env');
const HOSTILE = 400;
const APP_USER = { uid: 10001, gid: 10001 };
const REWRITES = new Set(['host', 'bind', 'socket', 'path', 'reference', 'url-password']);

interface Case { readonly id: string; readonly service: string; readonly input: string; readonly r: TransformResult; python: Record<string, string | null> }
interface Cli { readonly name: string; readonly cmd: string; readonly args: readonly string[] }

const clis: Cli[] = [
  ...(spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0 ? [{ name: 'compose v2', cmd: 'docker', args: ['compose'] }] : []),
  ...(spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0 ? [{ name: 'docker-compose v1', cmd: 'docker-compose', args: [] }] : []),
];

let work: string;
const project = `ferryenv${process.pid}`;
const cases: Case[] = [];

/** The service of one case: the stand-in app behind the real entrypoint, as the app's uid. */
const serviceYaml = (c: Case) => [
  `  ${c.service}:`, `    image: ${JSON.stringify(testImages().redis)}`, '    user: "10001:10001"',
  '    entrypoint: ["/bin/sh", "/ferry/entrypoint-secrets.sh"]', '    command: ["env", "-0"]',
  `    env_file: ["./${c.service}/app.env"]`, `    volumes: [${JSON.stringify(`${ENTRYPOINT}:/ferry/entrypoint-secrets.sh:ro`)}]`,
].join('\n');

async function addCase(id: string, input: string, options: TransformOptions): Promise<void> {
  const service = `s${cases.length}`;
  const dir = join(work, service);
  const r = transformEnv(input, options);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'input.env'), input);
  await writeFile(join(dir, 'app.env'), r.env);
  await writeSecretFiles(dir, r.secrets, new Set(), APP_USER);
  await writeFile(join(dir, 'override.yml'), composeOverride({
    file: `${id}.env`, services: [service], environment: r.environment, extraHosts: r.extraHosts,
    secrets: Object.keys(r.secrets), secretFile: (n) => `./${service}/secrets/${n}.txt`,
  }));
  const c: Case = { id, service, input, r, python: {} };
  await writeFile(join(dir, 'base.yml'), `services:\n${serviceYaml(c)}\n`);
  cases.push(c);
}

/** python-dotenv's own reading of every original (utf-8-sig: a BOM dropped, as compose v1 reads env files). */
async function readWithPython(): Promise<void> {
  const py = 'import sys, json\nfrom dotenv import dotenv_values\nprint(json.dumps([dotenv_values(f, encoding="utf-8-sig") for f in sys.argv[1:]]))';
  const { stdout } = await run('python3', ['-c', py, ...cases.map((c) => join(work, c.service, 'input.env'))], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, maxBuffer: 64 << 20 });
  (JSON.parse(stdout) as Array<Record<string, string | null>>).forEach((values, i) => { (cases[i] as Case).python = values; });
}

const compose = (cli: Cli, files: readonly string[], args: readonly string[]) =>
  run(cli.cmd, [...cli.args, '--project-directory', work, '-p', project, ...files.flatMap((f) => ['-f', f]), ...args], { cwd: work, maxBuffer: 256 << 20 });

/** The checks against the real python-dotenv: same keys (bare keys and dropped sockets left out), same values unless rewritten. */
function expectPythonReading(c: Case, seen: Record<string, string>): void {
  const rewritten = new Set(c.r.changes.filter((x) => REWRITES.has(x.kind)).map((x) => x.key));
  const dropped = new Set(c.r.changes.filter((x) => x.kind === 'dropped').map((x) => x.key));
  const expected = Object.keys(c.python).filter((k) => c.python[k] !== null && !dropped.has(k)).sort();
  expect(Object.keys(seen).sort(), c.id).toEqual(expected);
  for (const [key, value] of Object.entries(c.python)) {
    if (value === null || dropped.has(key)) continue;
    if (!rewritten.has(key)) expect(seen[key], `${c.id}: ${key}`).toBe(value);
    else expect(seen[key], `${c.id}: ${key} still points at this machine`).not.toMatch(/(\/\/|@)(localhost|127\.0\.0\.1|\[::1\]|0\.0\.0\.0)[:/]/u);
  }
}

describe.skipIf(clis.length === 0)('the container env from real compose equals python-dotenv\'s reading of the original, rewrites applied', { timeout: 30 * 60_000 }, () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'ferry-env-compose-'));
    for (const c of readdirSync(GOLDEN).sort()) {
      if (c.startsWith('bad-') || !existsSync(join(GOLDEN, c, 'input.env'))) continue;
      const options = existsSync(join(GOLDEN, c, 'options.json')) ? JSON.parse(readFileSync(join(GOLDEN, c, 'options.json'), 'utf8')) as TransformOptions : {};
      await addCase(c, readFileSync(join(GOLDEN, c, 'input.env'), 'utf8'), options);
    }
    const rand = prng(1313);
    for (let i = 0; i < HOSTILE; i++) await addCase(`hostile-${i}`, generateHostileEnvFile(rand), {});
    await writeFile(join(work, 'all.yml'), `services:\n${cases.map(serviceYaml).join('\n')}\n`);
    await readWithPython();
  });

  afterAll(async () => {
    for (const cli of clis) await compose(cli, ['all.yml'], ['down', '--remove-orphans']).catch(() => undefined);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('the cases exercise every hostile construct', () => {
    const all = cases.filter((c) => c.id.startsWith('hostile-')).map((c) => c.input).join('\n');
    expect(all).toContain('\r\n');
    expect(all).toContain('\uFEFF');
    expect(all).toMatch(/^export /mu);
    expect(all).toMatch(/:pa\$\$?w/u);
    const kinds = new Set(cases.flatMap((c) => c.r.changes.map((x) => x.kind)));
    for (const k of ['host', 'bind', 'path', 'reference', 'secret', 'url-password', 'dropped', 'duplicate', 'environment', 'ambiguous']) expect(kinds, k).toContain(k);
    expect(cases.length).toBeGreaterThan(HOSTILE + 20);
  });

  for (const cli of clis) {
    it(`${cli.name} config: every case's environment is app.env + the override, and the entrypoint's secrets make it python-dotenv's reading`, async () => {
      const files = ['all.yml', ...cases.map((c) => `${c.service}/override.yml`)];
      const t0 = Date.now();
      const { stdout } = await compose(cli, files, ['config']);
      const config = parseYaml(stdout) as { services: Record<string, { environment?: Record<string, string | null> | string[] }> };
      for (const c of cases) {
        const raw = config.services[c.service]?.environment ?? {};
        const environment: Record<string, string> = Array.isArray(raw)
          ? Object.fromEntries(raw.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))
          : Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v ?? '']));
        // compose prints a literal `$` as `$$` (its own escape).
        for (const k of Object.keys(environment)) environment[k] = (environment[k] as string).replace(/\$\$/gu, '$');
        const emitted = { ...Object.fromEntries([...resolveEnv(parseEnv(c.r.env))].map(([k, v]) => [k, v ?? ''])), ...c.r.environment };
        expect(environment, c.id).toEqual(emitted);
        const app = rebuildSecretUrls(environment, (n) => c.r.secrets[n]);
        for (const key of Object.keys(c.r.secretFiles)) delete app[`${key}_FILE`];
        expect(app, c.id).toEqual(c.r.containerEnv);
        expectPythonReading(c, app);
      }
      console.log(`${cli.name} config over ${cases.length} cases: ${Date.now() - t0} ms`);
    });

    it(`${cli.name} run: the stand-in app, started as uid 10001 behind the entrypoint, sees exactly python-dotenv's reading with the rewrites`, async () => {
      const { stdout: bare } = await run('docker', ['run', '--rm', '--user', '10001:10001', '--entrypoint', 'env', testImages().redis, '-0']);
      const baseline = new Set(bare.split('\0').filter(Boolean).map((l) => l.slice(0, l.indexOf('='))));
      // already-transformed names /run/secrets files it does not carry (an older ferry's output): config checks it, run cannot.
      const sample = cases.filter((c) => (c.id.startsWith('hostile-') ? Number(c.id.slice(8)) % 20 === 0 : c.id !== 'already-transformed'));
      const t0 = Date.now();
      for (const c of sample) {
        const { stdout } = await compose(cli, [`${c.service}/base.yml`, `${c.service}/override.yml`], ['run', '--rm', '-T', c.service]);
        const seen: Record<string, string> = {};
        for (const entry of stdout.split('\0').filter(Boolean)) {
          const key = entry.slice(0, entry.indexOf('='));
          if ((baseline.has(key) || key === 'PWD') && !(key in c.r.containerEnv)) continue;
          if (key.endsWith('_FILE') && key.slice(0, -5) in c.r.secretFiles) continue;
          seen[key] = entry.slice(entry.indexOf('=') + 1);
        }
        expect(seen, c.id).toEqual(c.r.containerEnv);
        expectPythonReading(c, seen);
      }
      console.log(`${cli.name} run for ${sample.length} cases: ${Date.now() - t0} ms`);
      expect(sample.length).toBeGreaterThan(30);
    });

    it(`${cli.name} run: a 0600 secret file the app's uid does not own stops the start, naming the variable (why ferry chowns them)`, async () => {
      const c = cases.find((x) => x.id === 'vedfolnir-macos') as Case;
      const file = join(work, c.service, 'secrets', 'flask_secret_key.txt');
      await chown(file, 0, 0);
      try {
        const e = await compose(cli, [`${c.service}/base.yml`, `${c.service}/override.yml`], ['run', '--rm', '-T', c.service]).then(() => undefined, (x: unknown) => x as { stderr: string });
        expect(e?.stderr).toMatch(/FLASK_SECRET_KEY_FILE names \/run\/secrets\/flask_secret_key, which uid 10001 cannot read \(owner and mode: -rw------- 0:0\)/u);
        expect(e?.stderr).not.toContain(c.r.secrets.flask_secret_key);
      } finally {
        await chown(file, APP_USER.uid, APP_USER.gid);
      }
    });
  }
});

describe.skipIf(clis.length === 0)("the stack's app service after the env-transform step (compose/docker-compose.yml, stand-in image)", { timeout: 10 * 60_000 }, () => {
  let root: string;
  let composeDir: string;
  const stackProject = `ferryenvstack${process.pid}`;
  const input = readFileSync(join(GOLDEN, 'vedfolnir-macos/input.env'), 'utf8');

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'ferry-env-stack-'));
    composeDir = join(root, 'compose');
    await cp(join(ROOT, 'compose'), composeDir, { recursive: true });
    await mkdir(join(root, 'app'));
    await writeFile(join(root, 'app/.env'), input, { mode: 0o640 });
  });
  afterAll(async () => {
    for (const cli of clis) await run(cli.cmd, [...cli.args, '-p', stackProject, 'down', '--remove-orphans'], { cwd: composeDir }).catch(() => undefined);
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('the step emits the files, and every compose CLI starts the app with exactly the env python-dotenv reads, rewritten, plus what the stack sets itself', async () => {
    const config = { ...configSchema.parse({ source: {}, app: { envFile: '/Users/me/vedfolnir/.env' }, target: { composeDir, project: stackProject } }), stateDir: join(root, 'state') } as Config;
    const ctx = { mode: 'migrate', redactor: new Redactor(), source: {}, target: {}, services: {}, artifactsDir: join(root, 'state/artifacts'), project: stackProject, composeDir, appDir: join(root, 'app') } as unknown as FerryContext;
    const logs: string[] = [];
    const p = { config, ctx, signal: new AbortController().signal, log: createLogger((r) => logs.push(r.message), ctx.redactor), progress: noProgress, previous: undefined, outputs: new Map(), stateDir: join(root, 'state/steps/env-transform') } as StepParams<Config, FerryContext>;
    await envTransform.run(p);
    expect(await envTransform.verify!(p)).toMatchObject({ ok: true });
    expect(readFileSync(join(root, 'app/.env'), 'utf8')).toBe(input);
    expect(logs.join('\n')).toContain("warning: OLLAMA_URL is also set by docker-compose.yml's environment: for vedfolnir");
    const r = transformEnv(input, { file: '.env' });
    // compose/docker-compose.yml's own environment: for vedfolnir (OLLAMA_URL from the operator's shell, here unset).
    const expected = { ...r.containerEnv, RQ_INTEGRATED_WORKERS: 'true', OLLAMA_URL: 'http://host.docker.internal:11434' };
    const { stdout: bare } = await run('docker', ['run', '--rm', '--user', '10001:10001', '--entrypoint', 'env', testImages().redis, '-0']);
    const baseline = new Set(bare.split('\0').filter(Boolean).map((l) => l.slice(0, l.indexOf('='))));
    for (const cli of clis) {
      // As compose-cutover runs it: the canonical env through VEDFOLNIR_ENV_FILE, the generated override after the stack's files.
      const { stdout } = await run(cli.cmd, [...cli.args, '-p', stackProject, '-f', 'docker-compose.yml', '-f', ENV_OVERRIDE_FILE, 'run', '--rm', '--no-deps', '-T', 'vedfolnir', 'env', '-0'], {
        cwd: composeDir, env: { ...process.env, VEDFOLNIR_IMAGE: testImages().redis, VEDFOLNIR_ENV_FILE: containerEnvPath(composeDir) }, maxBuffer: 16 << 20,
      });
      const seen: Record<string, string> = {};
      for (const entry of stdout.split('\0').filter(Boolean)) {
        const key = entry.slice(0, entry.indexOf('='));
        if ((baseline.has(key) || key === 'PWD') && !(key in expected)) continue;
        if (key.endsWith('_FILE') && key.slice(0, -5) in r.secretFiles) continue;
        seen[key] = entry.slice(entry.indexOf('=') + 1);
      }
      expect(seen, cli.name).toEqual(expected);
      expect(seen.FLASK_SECRET_KEY).toBe("k9#Jf2!qL7xV0pZr3mW8sT1yB6nC4hD5"); // byte-identical: sessions survive
      expect(seen.PLATFORM_ENCRYPTION_KEY).toBe('Zq3vN8pL2xR7tY1wK5mB9cF4hJ6sD0gA_e2Rk8Wq1Ts=');
      expect(seen.CAPTION_PROMPT).toBe('Describe this image for a screen reader user.\nBe concise: one or two sentences.\nDo not start with "This image shows".');
    }
  });
});

describe.skipIf(clis.length === 0)('several env files (app.envFiles): each service starts with the env files it used, transformed', { timeout: 10 * 60_000 }, () => {
  let root: string;
  let composeDir: string;
  const filesProject = `ferryenvfiles${process.pid}`;
  const main = `${readFileSync(join(GOLDEN, 'vedfolnir-macos/input.env'), 'utf8')}REDIS_PASSWORD=wk-redis-pw\n`;
  const worker = "export WORKER_REDIS_URL=redis://:${REDIS_PASSWORD}@${REDIS_HOST}:${REDIS_PORT}/2\r\nWORKER_CONCURRENCY=4\r\nWEBHOOK_SECRET='whsec_9f8e7d6c5b4a39281706'\r\nOLLAMA_URL=http://localhost:11434\r\nWORKER_DEBUG\r\n";
  const stub = (name: string) => [
    `  ${name}:`, `    image: ${JSON.stringify(testImages().redis)}`, '    user: "10001:10001"',
    '    entrypoint: ["/bin/sh", "/ferry/entrypoint-secrets.sh"]', '    command: ["env", "-0"]', '    env_file: ["./app.env"]',
    `    volumes: [${JSON.stringify(`${ENTRYPOINT}:/ferry/entrypoint-secrets.sh:ro`)}]`,
  ].join('\n');

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'ferry-env-files-'));
    composeDir = join(root, 'compose');
    await mkdir(composeDir);
    await mkdir(join(root, 'app'));
    await writeFile(join(root, 'app/.env'), main);
    await writeFile(join(root, 'app/.env.worker'), worker);
    // The operator's stack: both services already load the canonical app.env; only the worker used .env.worker.
    await writeFile(join(composeDir, 'docker-compose.yml'), `services:\n${stub('web')}\n${stub('worker')}\n`);
  });
  afterAll(async () => {
    for (const cli of clis) await run(cli.cmd, [...cli.args, '-p', filesProject, 'down', '--remove-orphans'], { cwd: composeDir }).catch(() => undefined);
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('web sees the main file\'s env; worker sees both, its own file\'s values re-resolved against the moved hosts and its secrets from files', async () => {
    const workerPath = join(root, 'app/.env.worker');
    const config = { ...configSchema.parse({
      source: {}, app: { envFile: join(root, 'app/.env'), envFiles: [workerPath], appServices: ['web', 'worker'], envFileServices: { [workerPath]: ['worker'] } },
      target: { composeDir, project: filesProject },
    }), stateDir: join(root, 'state') } as Config;
    const ctx = { mode: 'migrate', redactor: new Redactor(), source: {}, target: {}, services: {}, artifactsDir: join(root, 'state/artifacts'), project: filesProject, composeDir, appDir: join(root, 'app') } as unknown as FerryContext;
    const p = { config, ctx, signal: new AbortController().signal, log: createLogger(() => undefined, ctx.redactor), progress: noProgress, previous: undefined, outputs: new Map(), stateDir: join(root, 'state/steps/env-transform') } as StepParams<Config, FerryContext>;
    await envTransform.run(p);
    expect(await envTransform.verify!(p)).toMatchObject({ ok: true });

    // What python-dotenv gives the worker: load_dotenv(.env) then load_dotenv(.env.worker, override=True) (compose: the later env_file wins).
    const py = 'import sys, json, os\nfrom dotenv import load_dotenv\nbase = dict(os.environ)\nload_dotenv(sys.argv[1])\nload_dotenv(sys.argv[2], override=True)\nprint(json.dumps({k: v for k, v in os.environ.items() if base.get(k) != v}))';
    const { stdout: pyOut } = await run('python3', ['-c', py, join(root, 'app/.env'), workerPath], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    const python = JSON.parse(pyOut) as Record<string, string>;
    const environ = Object.fromEntries([...resolveEnv(parseEnv(main))].filter(([, v]) => v !== undefined)) as Record<string, string>;
    const rMain = transformEnv(main, { file: '.env' });
    const rWorker = transformEnv(worker, { file: '.env.worker', environ, required: [] });
    const expected = { web: rMain.containerEnv, worker: { ...rMain.containerEnv, ...rWorker.containerEnv } };
    const secretKeys = new Set([...Object.keys(rMain.secretFiles), ...Object.keys(rWorker.secretFiles)]);
    const { stdout: bare } = await run('docker', ['run', '--rm', '--user', '10001:10001', '--entrypoint', 'env', testImages().redis, '-0']);
    const baseline = new Set(bare.split('\0').filter(Boolean).map((l) => l.slice(0, l.indexOf('='))));
    for (const cli of clis) {
      for (const service of ['web', 'worker'] as const) {
        const { stdout } = await run(cli.cmd, [...cli.args, '-p', filesProject, '-f', 'docker-compose.yml', '-f', ENV_OVERRIDE_FILE, 'run', '--rm', '-T', service], { cwd: composeDir, maxBuffer: 16 << 20 });
        const seen: Record<string, string> = {};
        for (const entry of stdout.split('\0').filter(Boolean)) {
          const key = entry.slice(0, entry.indexOf('='));
          if ((baseline.has(key) || key === 'PWD') && !(key in expected[service])) continue;
          if (key.endsWith('_FILE') && secretKeys.has(key.slice(0, -5))) continue;
          seen[key] = entry.slice(entry.indexOf('=') + 1);
        }
        expect(seen, `${cli.name} ${service}`).toEqual(expected[service]);
      }
      const w = expected.worker;
      expect(w.WORKER_REDIS_URL).toBe('redis://:wk-redis-pw@redis:6379/2'); // follows the moved REDIS_HOST, password from its secret file
      expect(w.OLLAMA_URL).toBe('http://host.docker.internal:11434');
      expect(w).not.toHaveProperty('WORKER_DEBUG'); // unset stays unset
      for (const k of ['WORKER_CONCURRENCY', 'WEBHOOK_SECRET', 'FLASK_SECRET_KEY', 'CAPTION_PROMPT']) expect(w[k], k).toBe(python[k]);
    }
    expect(readFileSync(workerPath, 'utf8')).toBe(worker);
    expect(readFileSync(join(composeDir, 'app.worker.env'), 'utf8')).not.toContain('whsec_');
  });
});

describe.skipIf(clis.length === 0)('the migrate playbook starts the app service with the transformed env files (stand-in image), rollback restores them', { timeout: 15 * 60_000 }, () => {
  let src: SeededSource | undefined;
  afterAll(async () => { await src?.stop(); });

  it('after cutover the vedfolnir service\'s process sees python-dotenv\'s reading of .env and .env.worker, rewritten, secrets from files', async () => {
    src = await startSeededSource({ redisPassword: 'env-e2e-redis-pw', bigHash: false });
    const { sb } = src;
    const main = readFileSync(sb.envPath, 'utf8');
    const workerPath = join(sb.dir, 'app', '.env.worker');
    const worker = "WORKER_REDIS_URL=redis://:pw@${REDIS_HOST}:${REDIS_PORT}/3\nWORKER_CONCURRENCY=4\nMAILER_URL=smtp://localhost:1025\nWEBHOOK_SECRET='whsec_e2e_5b4a39281706'\nJOBS_URL=redis://:other-redis-pw@127.0.0.1:6379/4\nUNSET_ME\n";
    writeFileSync(workerPath, worker, { mode: 0o640 });
    // The app service runs a stand-in (the test bed's redis image: sh, sleep) behind the stack's entrypoint.
    writeFileSync(join(sb.composeDir, 'docker-compose.app-stub.yml'), [
      'services:', '  vedfolnir:', `    image: ${JSON.stringify(testImages().redis)}`, '    command: ["sleep", "infinity"]',
      '    healthcheck: { test: ["CMD", "true"], interval: 1s, start_period: 0s }', '',
    ].join('\n'));
    const config = JSON.parse(readFileSync(sb.configPath, 'utf8')) as { app: Record<string, unknown>; target: { files: string[] } };
    config.app = { ...config.app, envFiles: [workerPath], envFileServices: { [workerPath]: ['vedfolnir'] }, appServices: ['vedfolnir'] };
    config.target.files = [...config.target.files, 'docker-compose.app-stub.yml'];
    writeFileSync(sb.configPath, JSON.stringify(config, null, 2));
    const env = { ...sb.env, MYSQL_IMAGE: testImages().mysql, REDIS_IMAGE: testImages().redis };

    const migrate = await runPlaybookProcess('migrate', ['--config', sb.configPath, '--json'], env);
    expect(migrate.stderr.split('\n').filter((l) => l.includes('✖')).join('\n')).toBe('');
    expect(migrate.exitCode, JSON.stringify(migrate.events.filter((e) => e.type === 'step-fail')).slice(0, 3000)).toBe(0);
    expect(migrate.stderr).not.toMatch(/DeprecationWarning|Unhandled error event|\(node:\d+\)/u);

    const { stdout: ids } = await run('docker', ['ps', '-q', '--filter', `label=com.docker.compose.project=${sb.project}`, '--filter', 'label=com.docker.compose.service=vedfolnir']);
    const id = ids.trim().split('\n')[0] as string;
    expect(id).toMatch(/^[0-9a-f]+$/u);
    const { stdout: environ } = await run('docker', ['exec', id, 'cat', '/proc/1/environ'], { maxBuffer: 16 << 20 });
    const hostValues = Object.fromEntries([...resolveEnv(parseEnv(main))].filter(([, v]) => v !== undefined)) as Record<string, string>;
    const rMain = transformEnv(main, { file: '.env' });
    const rWorker = transformEnv(worker, { file: '.env.worker', environ: hostValues, required: [] });
    // compose/docker-compose.yml's own environment: for vedfolnir (OLLAMA_URL from the operator's shell, here unset).
    const expected: Record<string, string> = { ...rMain.containerEnv, ...rWorker.containerEnv, RQ_INTEGRATED_WORKERS: 'true', OLLAMA_URL: 'http://host.docker.internal:11434' };
    const secretKeys = new Set([...Object.keys(rMain.secretFiles), ...Object.keys(rWorker.secretFiles)]);
    const { stdout: bare } = await run('docker', ['run', '--rm', '--user', '10001:10001', '--entrypoint', 'env', testImages().redis, '-0']);
    const baseline = new Set(bare.split('\0').filter(Boolean).map((l) => l.slice(0, l.indexOf('='))));
    const seen: Record<string, string> = {};
    for (const entry of environ.split('\0').filter(Boolean)) {
      const key = entry.slice(0, entry.indexOf('='));
      if ((baseline.has(key) || key === 'PWD') && !(key in expected)) continue;
      if (key.endsWith('_FILE') && secretKeys.has(key.slice(0, -5))) continue;
      seen[key] = entry.slice(entry.indexOf('=') + 1);
    }
    expect(seen).toEqual(expected);
    expect(seen.WORKER_REDIS_URL).toBe('redis://:pw@redis:6379/3'); // follows the moved REDIS_HOST; the password from the one redis_password file
    expect(seen.MAILER_URL).toBe('smtp://host.docker.internal:1025');
    expect(seen.JOBS_URL).toBe('redis://:other-redis-pw@redis:6379/4'); // another password than the main file's: a secret file of its own
    expect(seen.WEBHOOK_SECRET).toBe('whsec_e2e_5b4a39281706');
    expect(seen).not.toHaveProperty('UNSET_ME');
    expect(readFileSync(join(sb.composeDir, 'app.worker.env'), 'utf8')).not.toContain('whsec_');
    expect(readFileSync(workerPath, 'utf8')).toBe(worker);

    // Rollback puts an env file edited since the migration back, byte for byte.
    writeFileSync(workerPath, 'EDITED_AFTER_CUTOVER=1\n');
    const rollback = await runPlaybookProcess('rollback', ['--config', sb.configPath, '--json'], env);
    expect(rollback.exitCode, whyFailed(rollback)).toBe(0);
    expect(rollback.events.some((e) => e.type === 'step-done' && e.step === 'rollback-restore-env')).toBe(true);
    expect(readFileSync(workerPath, 'utf8')).toBe(worker);
    expect(readFileSync(sb.envPath, 'utf8')).toBe(main);
  });
});
