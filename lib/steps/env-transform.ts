/**
 * Step `env-transform`: emit the app container's environment from the app's .env, which is only read
 * (byte for byte untouched). Into the compose directory go `app.env` (canonical `KEY=value` lines,
 * the app service's `env_file`), `docker-compose.app-env.yml` (the `environment:` values the
 * canonical form cannot carry, `extra_hosts`, the app's secrets) and `secrets/<name>.txt` (0600 in
 * 0700, owned by the container user; listed in .gitignore and .dockerignore). Rules: lib/env/transform.ts.
 * The original's bytes and checksum are kept in `<stateDir>/env/` with the list of files the step
 * created; `undo` removes exactly those (the rollback playbook also puts the .env back if it changed).
 * The app's further env files (`app.envFiles`) go the same way, each into its own `app.<name>.env`
 * that the override adds to the services loading it (lib/steps/env-files.ts).
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
import { crossFileFindings, envFileBackupDir, loadEnvFiles, readEnvFile } from './env-files.ts';
import type { EnvFileState } from './env-files.ts';
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

interface State {
  envPath: string; original: Buffer; result: TransformResult; override: string; services: readonly string[]; notes: string[];
  /** The app's further env files, transformed. */
  files: EnvFileState[];
  /** Every secret of every file (name → value). */
  secrets: Record<string, string>;
  /** What makes the files unusable together (no values). */
  problems: string[];
}

/** Read and transform the original, and register every secret before anything logs. Writes nothing. */
async function load(p: P): Promise<State> {
  const envPath = envPathOf(p);
  const { original, text } = await readEnvFile(envPath, 'set app.envFile in the config to the file the app loads, and check ctx.appDir');
  const result = transformEnv(text, optionsOf(p));
  p.ctx.redactor.add(...Object.values(result.secrets));
  const services = await appServicesOf(p);
  const stackFiles = stackFilesFor(p.config, ENV_OVERRIDE_FILE);
  const files = await loadEnvFiles({
    files: p.config.app.envFiles, servicesOf: p.config.app.envFileServices, mainText: text, mainSecrets: result.secrets, appServices: services,
    transform: optionsOf(p), composeDir: p.ctx.composeDir, stackFiles,
  });
  for (const f of files) p.ctx.redactor.add(...Object.values(f.result.secrets));
  const secrets: Record<string, string> = Object.assign({}, ...files.map((f) => f.result.secrets), result.secrets);
  // A service whose own compose files do not load the canonical env yet gets it from the override (compose appends env_file).
  const loading = await envFilesOf(p.ctx.composeDir, stackFiles, services);
  const loadsMain = (service: string) => loading.some((e) => e.service === service && e.envFiles.some((f) => basename(f) === CONTAINER_ENV_FILE || f.includes('VEDFOLNIR_ENV_FILE')));
  const override = composeOverride({
    load: { envFile: `./${CONTAINER_ENV_FILE}`, services: services.filter((x) => !loadsMain(x)) },
    file: basename(envPath), services, environment: result.environment, extraHosts: result.extraHosts,
    secrets: Object.keys(result.secrets), secretFile: (n) => `./secrets/${n}${SECRET_FILE_SUFFIX}`,
    envFiles: files.map((f) => ({ envFile: `./${f.name}`, services: f.services, environment: f.result.environment, extraHosts: f.result.extraHosts, secrets: Object.keys(f.result.secrets) })),
  });
  const cross = crossFileFindings({ path: envPath, result }, files);
  // The stack's own files (not the generated override) may set app variables compose prefers to app.env's.
  const allServices = [...new Set([...services, ...files.flatMap((f) => f.services)])];
  const carried = new Set([result, ...files.map((f) => f.result)].flatMap((r) => [...r.env.split('\n').map((l) => l.slice(0, l.indexOf('='))), ...Object.keys(r.environment)]));
  const notes = (await shadowedKeys(p.ctx.composeDir, stackFiles, allServices)).filter((s) => carried.has(s.key) || carried.has(`${s.key}_FILE`))
    .map((s) => `${s.key} is also set by ${s.file}'s environment: for ${s.service}; compose prefers that to ${CONTAINER_ENV_FILE}, so the app sees the stack's value`);
  notes.push(...cross.warnings);
  // compose appends env_file entries of overrides, so only the stack's own file can stop loading the original.
  const emitted = new Set([CONTAINER_ENV_FILE, ...files.map((f) => f.name)]);
  for (const e of await envFilesOf(p.ctx.composeDir, stackFiles, allServices)) {
    const other = e.envFiles.filter((f) => !emitted.has(basename(f)) && !f.includes('VEDFOLNIR_ENV_FILE'));
    for (const f of other) {
      const target = files.find((x) => basename(x.path) === basename(f))?.name ?? CONTAINER_ENV_FILE;
      notes.push(`${e.service} also loads ${f} (${e.file} env_file:): point it at ./${target}, or the container gets that file's values (the host's meaning, secrets in clear)`);
    }
  }
  if (services.length === 0) notes.push(`no compose service loads an env file: name the app's services in app.appServices to give them ${CONTAINER_ENV_FILE}`);
  const problems = [...cross.problems, ...files.flatMap((f) => f.result.problems.map((x) => x.message))];
  return { envPath, original, result, override, services, notes, files, secrets, problems };
}

/** The emitted canonical file of each further env file. */
const emittedPathOf = (p: P, f: EnvFileState) => join(p.ctx.composeDir, f.name);

const owner = (p: P) => secretOwnerFor(p.config.app.containerUser);
const readText = (path: string) => readFile(path, 'utf8').catch(() => undefined);

/** What on disk differs from the transform's output (empty when the step's effect is in place). */
async function findings(p: P, s: State): Promise<string[]> {
  const dir = p.ctx.composeDir;
  const out: string[] = [];
  if ((await readText(containerEnvPath(dir))) !== s.result.env) out.push(`${containerEnvPath(dir)} is missing or out of date`);
  for (const f of s.files) if ((await readText(emittedPathOf(p, f))) !== f.result.env) out.push(`${emittedPathOf(p, f)} (from ${f.path}) is missing or out of date`);
  // An empty override means no file (compose v1 cannot merge `services: {}`).
  if (((await readText(envOverridePath(dir))) ?? '') !== s.override) out.push(`${envOverridePath(dir)} is ${s.override ? 'missing or out of date' : 'left over: no service loads the env'}`);
  out.push(...await secretFileFindings(dir, Object.keys(s.secrets), s.secrets, owner(p)));
  if (Object.keys(s.secrets).length) out.push(...(await missingIgnoreEntries(dir)).map((f) => `${f} does not list the secrets`));
  return out.map((f) => p.ctx.redactor.redact(f));
}

/** The report's lines: every rewritten host, moved secret, mapped path, dropped key, ambiguous line (no values). */
const reportLines = (s: State) => [
  ...s.result.changes.map((c) => `${s.envPath}:${c.line} ${c.key} [${c.kind}] ${c.what}`),
  ...s.result.warnings.map((w) => `warning: ${w}`),
  ...s.files.flatMap((f) => [
    `${f.path} → ${f.name}, loaded by ${f.services.join(', ') || 'no service'}`,
    ...f.result.changes.map((c) => `${f.path}:${c.line} ${c.key} [${c.kind}] ${c.what}`),
    ...f.result.warnings.map((w) => `warning: ${w}`),
  ]),
  ...s.notes.map((w) => `warning: ${w}`),
];

/** The env step's own report: what the container gets, and why, with every secret masked. */
export const envReportPath = (stateDir: string): string => join(envBackupDir(stateDir), 'report.md');

function reportText(p: P, s: State, sha: string): string {
  const dir = p.ctx.composeDir;
  return [
    "# The app container's environment", '',
    `Read (untouched): \`${s.envPath}\` (sha256 ${sha})`, ...s.files.map((f) => `Read (untouched): \`${f.path}\` (sha256 ${sha256(f.original)})`), '',
    'Emitted:', `- \`${containerEnvPath(dir)}\` (env_file)`, ...s.files.map((f) => `- \`${emittedPathOf(p, f)}\` (env_file of ${f.services.join(', ') || 'no service'})`),
    `- \`${envOverridePath(dir)}\` (after the stack's compose files)`,
    ...Object.keys(s.secrets).map((n) => `- \`${secretFileOf(dir, n)}\` (0600)`), '',
    '## Changes, moved secrets, mapped paths, dropped keys, ambiguous lines', '', ...reportLines(s).map((l) => `- ${l}`), '',
    '## Diff (python-dotenv\'s reading → the container)', '', '```diff', s.result.diff.trimEnd() || '(none)', '```', '',
    ...s.files.flatMap((f) => [`### ${f.path}`, '', '```diff', f.result.diff.trimEnd() || '(none)', '```', '']),
  ].join('\n');
}

export default defineStep<Config, FerryContext>({
  id: 'env-transform',
  title: "Emit the app container's env (canonical env file, compose override, secret files)",
  async fingerprint(p) {
    const s = await load(p);
    // From the original and the config only: the directories (a rehearsal's scratch copies) do not change the meaning.
    const files = s.files.map((f) => [f.path, sha256(f.original), f.services]);
    return sha256(`${sha256(s.original)}:${JSON.stringify({ app: p.config.app, services: s.services, stores: storeRulesOf(p), ...(files.length ? { files } : {}) })}`);
  },
  async check(p) {
    const s = await load(p);
    const f = await findings(p, s);
    return { done: f.length === 0, reason: f.length ? f.join('; ') : `${containerEnvPath(p.ctx.composeDir)} and its override match ${s.envPath}` };
  },
  async plan(p) {
    const s = await load(p);
    const dir = p.ctx.composeDir;
    const files = Object.keys(s.secrets).map((n) => secretFileOf(dir, n));
    const details = [
      s.result.diff || '(the container gets exactly what python-dotenv loads)',
      ...s.files.map((f) => f.result.diff || `(${f.name}: the container gets exactly what python-dotenv loads from ${f.path})`),
      ...reportLines(s),
      ...(files.length ? ['secret files (0600, directory 0700):', ...files.map((f) => `  ${f}`)] : []),
      ...s.result.problems.map((x) => `problem: ${x.message}`),
      ...s.problems.map((x) => `problem: ${x}`),
    ].join('\n');
    return {
      reads: [s.envPath, ...s.files.map((f) => f.path)],
      changes: [containerEnvPath(dir), ...s.files.map((f) => emittedPathOf(p, f)), envOverridePath(dir), ...files, ...(files.length ? await missingIgnoreEntries(dir) : [])],
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
    if (s.problems.length) {
      const secret = s.problems.find((x) => x.startsWith('the secret '));
      throw new FerryError(secret ? 'E_ENV_SECRET_CONFLICT' : 'E_ENV_INVALID', secret ?? s.problems[0] as string, {
        hint: secret ? 'give the variable one value in every env file (or another name in one of them) and re-run; nothing was written'
          : 'add or fix the variable in that env file (or the transform rules) and re-run; nothing was written',
        detail: s.problems.join('\n'),
      });
    }
    const stateDir = envBackupDir(p.config.stateDir);
    let backup = await readEnvBackup(stateDir);
    await assertNoSecretConflict(dir, s.secrets, new Set(backup?.manifest.created ?? []));
    const mode = (await stat(envPath)).mode & 0o777;
    // The original is never written; the backup records what the emitted files were made from.
    const previous = backup?.manifest.created ?? [];
    if (!backup || !backup.original.equals(s.original)) backup = await writeEnvBackup(stateDir, envPath, s.original, mode);
    for (const f of s.files) {
      const dirOf = envFileBackupDir(stateDir, f.name);
      const b = await readEnvBackup(dirOf);
      if (!b || !b.original.equals(f.original) || b.manifest.envPath !== f.path) await writeEnvBackup(dirOf, f.path, f.original, (await stat(f.path)).mode & 0o777);
    }
    const missing = async (path: string) => ((await readText(path)) === undefined ? [path] : []);
    const secretNames = Object.keys(s.secrets);
    // Recorded before anything is created, so a run killed half-way still undoes what it made.
    backup = await recordCreated(stateDir, backup, [
      ...previous,
      ...await missing(containerEnvPath(dir)), ...(await Promise.all(s.files.map((f) => missing(emittedPathOf(p, f))))).flat(), ...await missing(envOverridePath(dir)),
      ...(secretNames.length ? [...await missingSecretPaths(dir, secretNames), ...(await Promise.all(['.gitignore', '.dockerignore'].map((f) => missing(join(dir, f))))).flat()] : []),
    ]);
    if (secretNames.length) {
      await writeSecretFiles(dir, s.secrets, new Set(backup.manifest.created), owner(p));
      await ensureIgnored(dir);
    }
    if ((await readText(containerEnvPath(dir))) !== result.env) await writeFileAtomic(containerEnvPath(dir), result.env, 0o644);
    for (const f of s.files) if ((await readText(emittedPathOf(p, f))) !== f.result.env) await writeFileAtomic(emittedPathOf(p, f), f.result.env, 0o644);
    if (!s.override) await rm(envOverridePath(dir), { force: true });
    else if ((await readText(envOverridePath(dir))) !== s.override) await writeFileAtomic(envOverridePath(dir), s.override, 0o644);
    for (const line of reportLines(s)) p.log.info(line);
    await writeFileAtomic(envReportPath(p.config.stateDir), p.ctx.redactor.redact(reportText(p, s, backup.manifest.sha256)), 0o600);
    const kinds: Record<string, number> = {};
    for (const c of [result, ...s.files.map((f) => f.result)].flatMap((r) => r.changes)) kinds[c.kind] = (kinds[c.kind] ?? 0) + 1;
    return {
      artifacts: [{ path: backup.path, sha256: backup.manifest.sha256, bytes: backup.manifest.bytes }],
      data: {
        envPath, containerEnv: containerEnvPath(dir), override: envOverridePath(dir), report: envReportPath(p.config.stateDir), created: backup.manifest.created,
        secrets: secretNames, extraHosts: [...new Set([result, ...s.files.map((f) => f.result)].flatMap((r) => r.extraHosts))], changes: kinds,
        changeList: result.changes.map((c) => ({ line: c.line, key: c.key, kind: c.kind, what: c.what })), warnings: [...result.warnings, ...s.files.flatMap((f) => f.result.warnings), ...s.notes],
        envFiles: s.files.map((f) => ({ path: f.path, containerEnv: emittedPathOf(p, f), services: f.services, secrets: Object.keys(f.result.secrets), changes: f.result.changes.length })),
      },
    };
  },
  async verify(p) {
    const s = await load(p);
    const f = await findings(p, s);
    const backup = await readEnvBackup(envBackupDir(p.config.stateDir));
    if (backup && !backup.original.equals(s.original)) f.push(`${s.envPath} changed since the container env was emitted from it`);
    for (const x of s.files) {
      const b = await readEnvBackup(envFileBackupDir(envBackupDir(p.config.stateDir), x.name));
      if (!b) f.push(`${x.path} has no backup`);
      else if (!b.original.equals(x.original)) f.push(`${x.path} changed since the container env was emitted from it`);
    }
    for (const path of [containerEnvPath(p.ctx.composeDir), ...s.files.map((x) => emittedPathOf(p, x))]) {
      const written = await readText(path) ?? '';
      for (const [i, line] of written.split('\n').slice(0, -1).entries()) {
        const eq = line.indexOf('=');
        if (eq < 1 || !isCanonicalKey(line.slice(0, eq)) || !isCanonicalValue(line.slice(eq + 1))) f.push(`${path}:${i + 1} is not a canonical KEY=value line`);
      }
    }
    return {
      ok: f.length === 0, findings: f.map((x) => p.ctx.redactor.redact(x)),
      report: { envPath: s.envPath, containerEnv: containerEnvPath(p.ctx.composeDir), secrets: Object.keys(s.secrets), ...(s.files.length ? { envFiles: s.files.map((x) => ({ path: x.path, containerEnv: emittedPathOf(p, x) })) } : {}) },
    };
  },
  async undo(p) {
    // The .env was never written: undo leaves it as it is (an edit made since is the operator's).
    const removed = await removeCreatedFiles(envBackupDir(p.config.stateDir));
    p.log.info(`removed ${removed.length} file(s) ferry created; ${envPathOf(p)} untouched`);
  },
});
