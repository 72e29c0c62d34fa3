/**
 * Step `env-transform`: emit the app container's environment from the app's .env, which is only read
 * (byte for byte untouched). Into the compose directory go `app.env` (canonical `KEY=value` lines,
 * the app service's `env_file`), `docker-compose.app-env.yml` (the `environment:` values the
 * canonical form cannot carry, `extra_hosts`, the app's secrets) and `secrets/<name>.txt` (0600 in
 * 0700, owned by the container user; listed in .gitignore and .dockerignore). Rules: lib/env/transform.ts.
 * The original's bytes and checksum are kept in `<stateDir>/env/` with the list of files the step
 * created; `undo` removes exactly those (the rollback playbook also puts the .env back if it changed).
 */
import { readFile, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { defineStep } from '../core/step.ts';
import type { StepParams } from '../core/step.ts';
import { FerryError } from '../core/errors.ts';
import type { Config } from '../config/schema.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import type { FerryContext } from './context.ts';
import { composeOverride, isCanonicalKey, isCanonicalValue, transformEnv } from '../env/index.ts';
import type { TransformOptions, TransformResult } from '../env/index.ts';
import { appServicesFor, stackFilesFor, storeRulesFor, transformOptionsFor } from './env-options.ts';
import { readEnvBackup, recordCreated, removeCreatedFiles, sha256, writeEnvBackup } from './env-backup.ts';
import { envFilesOf, shadowedKeys } from './env-shadowed.ts';
import {
  SECRET_FILE_SUFFIX, assertNoSecretConflict, ensureIgnored, missingIgnoreEntries, missingSecretPaths, secretFileFindings, secretFileOf,
  secretOwnerFor, writeSecretFiles,
} from './env-secrets.ts';

type P = StepParams<Config, FerryContext>;

/** The canonical env file the app service loads (`env_file`), in the compose directory. */
export const CONTAINER_ENV_FILE = 'app.env';
/** The generated compose override for the app service(s), in the compose directory. */
export const ENV_OVERRIDE_FILE = 'docker-compose.app-env.yml';
export const containerEnvPath = (composeDir: string): string => join(composeDir, CONTAINER_ENV_FILE);
export const envOverridePath = (composeDir: string): string => join(composeDir, ENV_OVERRIDE_FILE);

/** Where the step keeps the .env backup (the rollback playbook passes this to `restoreEnvFromBackup`). */
export const envBackupDir = (stateDir: string): string => join(stateDir, 'env');
const envPathOf = ({ ctx, config }: P) => join(ctx.appDir, basename(config.app.envFile));
const appServicesOf = ({ config, ctx }: P) => appServicesFor(config, ctx.composeDir, ENV_OVERRIDE_FILE);
const optionsOf = ({ config, ctx }: P): TransformOptions => transformOptionsFor(config, ctx);
const storeRulesOf = ({ config }: P) => storeRulesFor(config);

interface State { envPath: string; original: Buffer; result: TransformResult; override: string; services: readonly string[]; notes: string[] }

/** Read and transform the original, and register every secret before anything logs. Writes nothing. */
async function load(p: P): Promise<State> {
  const envPath = envPathOf(p);
  const original = await readFile(envPath).catch((e: NodeJS.ErrnoException) => {
    throw new FerryError('E_ENV_MISSING', `cannot read the app's .env at ${envPath} (${e.code ?? e.message})`, {
      hint: 'set app.envFile in the config to the file the app loads, and check ctx.appDir', cause: e,
    });
  });
  const text = original.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(original)) {
    throw new FerryError('E_ENV_ENCODING', `${envPath} is not valid UTF-8`, {
      hint: 'python-dotenv reads the file as UTF-8: convert it (iconv -t UTF-8) and re-run; nothing was written',
    });
  }
  const result = transformEnv(text, optionsOf(p));
  p.ctx.redactor.add(...Object.values(result.secrets));
  const services = await appServicesOf(p);
  const override = composeOverride({
    file: basename(envPath), services, environment: result.environment, extraHosts: result.extraHosts,
    secrets: Object.keys(result.secrets), secretFile: (n) => `./secrets/${n}${SECRET_FILE_SUFFIX}`,
  });
  // The stack's own files (not the generated override) may set app variables compose prefers to app.env's.
  const carried = new Set([...result.env.split('\n').map((l) => l.slice(0, l.indexOf('='))), ...Object.keys(result.environment)]);
  const notes = (await shadowedKeys(p.ctx.composeDir, stackFilesFor(p.config, ENV_OVERRIDE_FILE), services)).filter((s) => carried.has(s.key) || carried.has(`${s.key}_FILE`))
    .map((s) => `${s.key} is also set by ${s.file}'s environment: for ${s.service}; compose prefers that to ${CONTAINER_ENV_FILE}, so the app sees the stack's value`);
  // Not carried yet: the order in which the app loads several files decides who wins, and ferry does not know it.
  if (p.config.app.envFiles.length) notes.push(`app.envFiles (${p.config.app.envFiles.join(', ')}) are not carried into the container env: only app.envFile is`);
  // compose appends env_file entries of overrides, so only the stack's own file can stop loading the original.
  for (const e of await envFilesOf(p.ctx.composeDir, stackFilesFor(p.config, ENV_OVERRIDE_FILE), services)) {
    const other = e.envFiles.filter((f) => !f.includes(CONTAINER_ENV_FILE) && !f.includes('VEDFOLNIR_ENV_FILE'));
    if (other.length) notes.push(`${e.service} also loads ${other.join(', ')} (${e.file} env_file:): point it at ./${CONTAINER_ENV_FILE}, or the container gets that file's values (the host's meaning, secrets in clear)`);
  }
  if (services.length === 0) notes.push(`no compose service loads an env file: name the app's services in app.appServices to give them ${CONTAINER_ENV_FILE}`);
  return { envPath, original, result, override, services, notes };
}

const owner = (p: P) => secretOwnerFor(p.config.app.containerUser);
const readText = (path: string) => readFile(path, 'utf8').catch(() => undefined);

/** What on disk differs from the transform's output (empty when the step's effect is in place). */
async function findings(p: P, s: State): Promise<string[]> {
  const dir = p.ctx.composeDir;
  const out: string[] = [];
  if ((await readText(containerEnvPath(dir))) !== s.result.env) out.push(`${containerEnvPath(dir)} is missing or out of date`);
  // An empty override means no file (compose v1 cannot merge `services: {}`).
  if (((await readText(envOverridePath(dir))) ?? '') !== s.override) out.push(`${envOverridePath(dir)} is ${s.override ? 'missing or out of date' : 'left over: no service loads the env'}`);
  out.push(...await secretFileFindings(dir, Object.keys(s.result.secrets), s.result.secrets, owner(p)));
  if (Object.keys(s.result.secrets).length) out.push(...(await missingIgnoreEntries(dir)).map((f) => `${f} does not list the secrets`));
  return out.map((f) => p.ctx.redactor.redact(f));
}

/** The report's lines: every rewritten host, moved secret, mapped path, dropped key, ambiguous line (no values). */
const reportLines = (s: State) => [
  ...s.result.changes.map((c) => `${s.envPath}:${c.line} ${c.key} [${c.kind}] ${c.what}`),
  ...s.result.warnings.map((w) => `warning: ${w}`),
  ...s.notes.map((w) => `warning: ${w}`),
];

/** The env step's own report: what the container gets, and why, with every secret masked. */
export const envReportPath = (stateDir: string): string => join(envBackupDir(stateDir), 'report.md');

function reportText(p: P, s: State, sha: string): string {
  const dir = p.ctx.composeDir;
  return [
    "# The app container's environment", '',
    `Read (untouched): \`${s.envPath}\` (sha256 ${sha})`, '',
    'Emitted:', `- \`${containerEnvPath(dir)}\` (env_file)`, `- \`${envOverridePath(dir)}\` (after the stack's compose files)`,
    ...Object.keys(s.result.secrets).map((n) => `- \`${secretFileOf(dir, n)}\` (0600)`), '',
    '## Changes, moved secrets, mapped paths, dropped keys, ambiguous lines', '', ...reportLines(s).map((l) => `- ${l}`), '',
    '## Diff (python-dotenv\'s reading → the container)', '', '```diff', s.result.diff.trimEnd() || '(none)', '```', '',
  ].join('\n');
}

export default defineStep<Config, FerryContext>({
  id: 'env-transform',
  title: "Emit the app container's env (canonical env file, compose override, secret files)",
  async fingerprint(p) {
    const s = await load(p);
    // From the original and the config only: the directories (a rehearsal's scratch copies) do not change the meaning.
    return sha256(`${sha256(s.original)}:${JSON.stringify({ app: p.config.app, services: s.services, stores: storeRulesOf(p) })}`);
  },
  async check(p) {
    const s = await load(p);
    const f = await findings(p, s);
    return { done: f.length === 0, reason: f.length ? f.join('; ') : `${containerEnvPath(p.ctx.composeDir)} and its override match ${s.envPath}` };
  },
  async plan(p) {
    const s = await load(p);
    const dir = p.ctx.composeDir;
    const files = Object.keys(s.result.secrets).map((n) => secretFileOf(dir, n));
    const details = [
      s.result.diff || '(the container gets exactly what python-dotenv loads)',
      ...reportLines(s),
      ...(files.length ? ['secret files (0600, directory 0700):', ...files.map((f) => `  ${f}`)] : []),
      ...s.result.problems.map((x) => `problem: ${x.message}`),
    ].join('\n');
    return {
      reads: [s.envPath],
      changes: [containerEnvPath(dir), envOverridePath(dir), ...files, ...(files.length ? await missingIgnoreEntries(dir) : [])],
      details: p.ctx.redactor.redact(details),
      pending: (await findings(p, s)).length > 0,
    };
  },
  async run(p) {
    const s = await load(p);
    const { envPath, result } = s;
    const dir = p.ctx.composeDir;
    if (result.problems.length) {
      throw new FerryError('E_ENV_INVALID', result.problems[0]?.message ?? "the app container's env is not usable", {
        hint: 'add or fix the variable in the .env (or the transform rules) and re-run; nothing was written',
        detail: result.problems.map((x) => x.message).join('\n'),
      });
    }
    const stateDir = envBackupDir(p.config.stateDir);
    let backup = await readEnvBackup(stateDir);
    await assertNoSecretConflict(dir, result.secrets, new Set(backup?.manifest.created ?? []));
    const mode = (await stat(envPath)).mode & 0o777;
    // The original is never written; the backup records what the emitted files were made from.
    const previous = backup?.manifest.created ?? [];
    if (!backup || !backup.original.equals(s.original)) backup = await writeEnvBackup(stateDir, envPath, s.original, mode);
    const missing = async (path: string) => ((await readText(path)) === undefined ? [path] : []);
    const secretNames = Object.keys(result.secrets);
    // Recorded before anything is created, so a run killed half-way still undoes what it made.
    backup = await recordCreated(stateDir, backup, [
      ...previous,
      ...await missing(containerEnvPath(dir)), ...await missing(envOverridePath(dir)),
      ...(secretNames.length ? [...await missingSecretPaths(dir, secretNames), ...(await Promise.all(['.gitignore', '.dockerignore'].map((f) => missing(join(dir, f))))).flat()] : []),
    ]);
    if (secretNames.length) {
      await writeSecretFiles(dir, result.secrets, new Set(backup.manifest.created), owner(p));
      await ensureIgnored(dir);
    }
    if ((await readText(containerEnvPath(dir))) !== result.env) await writeFileAtomic(containerEnvPath(dir), result.env, 0o644);
    if (!s.override) await rm(envOverridePath(dir), { force: true });
    else if ((await readText(envOverridePath(dir))) !== s.override) await writeFileAtomic(envOverridePath(dir), s.override, 0o644);
    for (const line of reportLines(s)) p.log.info(line);
    await writeFileAtomic(envReportPath(p.config.stateDir), p.ctx.redactor.redact(reportText(p, s, backup.manifest.sha256)), 0o600);
    const kinds: Record<string, number> = {};
    for (const c of result.changes) kinds[c.kind] = (kinds[c.kind] ?? 0) + 1;
    return {
      artifacts: [{ path: backup.path, sha256: backup.manifest.sha256, bytes: backup.manifest.bytes }],
      data: {
        envPath, containerEnv: containerEnvPath(dir), override: envOverridePath(dir), report: envReportPath(p.config.stateDir), created: backup.manifest.created,
        secrets: secretNames, extraHosts: result.extraHosts, changes: kinds,
        changeList: result.changes.map((c) => ({ line: c.line, key: c.key, kind: c.kind, what: c.what })), warnings: [...result.warnings, ...s.notes],
      },
    };
  },
  async verify(p) {
    const s = await load(p);
    const f = await findings(p, s);
    const backup = await readEnvBackup(envBackupDir(p.config.stateDir));
    if (backup && !backup.original.equals(s.original)) f.push(`${s.envPath} changed since the container env was emitted from it`);
    const written = await readText(containerEnvPath(p.ctx.composeDir)) ?? '';
    for (const [i, line] of written.split('\n').slice(0, -1).entries()) {
      const eq = line.indexOf('=');
      if (eq < 1 || !isCanonicalKey(line.slice(0, eq)) || !isCanonicalValue(line.slice(eq + 1))) f.push(`${containerEnvPath(p.ctx.composeDir)}:${i + 1} is not a canonical KEY=value line`);
    }
    return { ok: f.length === 0, findings: f.map((x) => p.ctx.redactor.redact(x)), report: { envPath: s.envPath, containerEnv: containerEnvPath(p.ctx.composeDir), secrets: Object.keys(s.result.secrets) } };
  },
  async undo(p) {
    // The .env was never written: undo leaves it as it is (an edit made since is the operator's).
    const removed = await removeCreatedFiles(envBackupDir(p.config.stateDir));
    p.log.info(`removed ${removed.length} file(s) ferry created; ${envPathOf(p)} untouched`);
  },
});
