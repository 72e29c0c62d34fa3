/**
 * Step `env-transform`: rewrite the app's .env for the stack (service hosts and ports, secrets moved
 * to `secrets/<name>.txt` as Docker secrets; scheme in lib/env/transform.ts). The original is backed
 * up with its checksum in `<stateDir>/env/` first; `undo` restores it byte for byte and removes only
 * the files the step created. The .env is `<appDir>/<basename of config.app.envFile>`.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { defineStep } from '../core/step.ts';
import type { StepParams } from '../core/step.ts';
import { FerryError } from '../core/errors.ts';
import type { Config } from '../config/schema.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import type { FerryContext } from './context.ts';
import { parseEnv, PLACEHOLDER, SECRETS_MOUNT, secretKeyMatcher, transformEnv, validateEnv } from '../env/index.ts';
import type { TransformOptions, TransformResult } from '../env/index.ts';
import { readEnvBackup, recordCreated, restoreEnvFromBackup, sha256, writeEnvBackup } from './env-backup.ts';
import type { EnvBackup } from './env-backup.ts';
import { assertNoSecretConflict, missingSecretPaths, secretFileFindings, secretFileOf, writeSecretFiles } from './env-secrets.ts';

type P = StepParams<Config, FerryContext>;

/** Where the step keeps the .env backup (the rollback playbook passes this to `restoreEnvFromBackup`). */
export const envBackupDir = (stateDir: string): string => join(stateDir, 'env');
const envPathOf = ({ ctx, config }: P) => join(ctx.appDir, basename(config.app.envFile));
/**
 * Secrets go to the stack's `secrets/` (compose's `secrets:` read `<composeDir>/secrets/<name>.txt`), so the
 * app and the data services share one password file: compose-prepare, which runs after this step, only
 * generates the passwords the app's .env did not already carry.
 */
const secretsBase = ({ ctx }: P) => ctx.composeDir;
const optionsOf = ({ config }: P): TransformOptions => ({
  file: basename(config.app.envFile), extraSecretKeys: config.app.secretKeys, keepUrlPasswords: config.app.keepUrlPasswords,
});

interface State { envPath: string; current: Buffer; backup: EnvBackup | undefined; original: Buffer; result: TransformResult }

/** Read the .env and its backup, transform the original, and register every secret before anything logs. */
async function load(p: P): Promise<State> {
  const envPath = envPathOf(p);
  const current = await readFile(envPath).catch((e: NodeJS.ErrnoException) => {
    throw new FerryError('E_ENV_MISSING', `cannot read the app's .env at ${envPath} (${e.code ?? e.message})`, {
      hint: 'set app.envFile in the config to the file Vedfolnir loads, and check ctx.appDir', cause: e,
    });
  });
  const backup = await readEnvBackup(envBackupDir(p.config.stateDir));
  const original = backup?.original ?? current;
  const text = original.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(original)) {
    throw new FerryError('E_ENV_ENCODING', `${envPath} is not valid UTF-8`, {
      hint: 'python-dotenv reads the file as UTF-8: convert it (iconv -t UTF-8) and re-run; nothing was written',
    });
  }
  const result = transformEnv(text, optionsOf(p));
  p.ctx.redactor.add(...Object.values(result.secrets));
  return { envPath, current, backup, original, result };
}

async function isDone(p: P, s: State): Promise<boolean> {
  if (s.current.toString('utf8') !== s.result.env) return false;
  return (await secretFileFindings(secretsBase(p), Object.keys(s.result.secrets), s.result.secrets)).length === 0;
}

export default defineStep<Config, FerryContext>({
  id: 'env-transform',
  title: "Rewrite the app's .env for the stack (service hosts, Docker secrets)",
  async fingerprint(p) {
    const s = await load(p);
    return sha256(`${sha256(s.original)}:${JSON.stringify(optionsOf(p))}`);
  },
  async check(p) {
    const s = await load(p);
    const done = await isDone(p, s);
    return { done, reason: done ? `${s.envPath} is already in its stack form` : `${s.envPath} still points at host services or holds secrets` };
  },
  async plan(p) {
    const s = await load(p);
    const files = Object.keys(s.result.secrets).map((n) => secretFileOf(secretsBase(p), n));
    const details = [
      s.result.diff || '(no change to the .env)',
      ...(files.length ? ['secret files (0600, directory 0700):', ...files.map((f) => `  ${f}`)] : []),
      ...(s.result.extraHosts.length ? [`app service extra_hosts: ${s.result.extraHosts.join(', ')}`] : []),
      ...s.result.warnings.map((w) => `warning: ${w}`),
      ...s.result.problems.map((x) => `problem: ${x.message}`),
    ].join('\n');
    return {
      reads: [s.envPath],
      changes: [s.envPath, ...files, ...(s.backup ? [] : [join(envBackupDir(p.config.stateDir), 'original.env')])],
      details: p.ctx.redactor.redact(details),
      pending: !(await isDone(p, s)),
    };
  },
  async run(p) {
    const s = await load(p);
    const { envPath, result } = s;
    for (const w of result.warnings) p.log.warn(w);
    if (s.backup && !s.current.equals(s.original) && s.current.toString('utf8') !== result.env) {
      throw new FerryError('E_ENV_CHANGED', `${envPath} was edited since ferry backed it up and transformed it`, {
        hint: `run the rollback (it restores the backup), or delete ${envBackupDir(p.config.stateDir)} to take the current file as the original`,
      });
    }
    if (result.problems.length) {
      throw new FerryError('E_ENV_INVALID', result.problems[0]?.message ?? 'the transformed .env is not usable', {
        hint: 'add or fix the variable in the .env (or the transform rules) and re-run; nothing was written',
        detail: result.problems.map((x) => x.message).join('\n'),
      });
    }
    await assertNoSecretConflict(secretsBase(p), result.secrets, new Set(s.backup?.manifest.created ?? []));
    const mode = (await stat(envPath)).mode & 0o777;
    let backup = s.backup ?? (await writeEnvBackup(envBackupDir(p.config.stateDir), envPath, s.original, mode));
    backup = await recordCreated(envBackupDir(p.config.stateDir), backup, await missingSecretPaths(secretsBase(p), Object.keys(result.secrets)));
    await writeSecretFiles(secretsBase(p), result.secrets, new Set(backup.manifest.created));
    if (s.current.toString('utf8') !== result.env) await writeFileAtomic(envPath, result.env, backup.manifest.mode);
    for (const c of result.changes) p.log.info(`${envPath}:${c.line} ${c.key}: ${c.what}`);
    return {
      artifacts: [{ path: backup.path, sha256: backup.manifest.sha256, bytes: backup.manifest.bytes }],
      data: {
        envPath, backupDir: envBackupDir(p.config.stateDir), created: backup.manifest.created,
        secrets: Object.keys(result.secrets), extraHosts: result.extraHosts, warnings: result.warnings.length,
      },
    };
  },
  async verify(p) {
    const envPath = envPathOf(p);
    const text = await readFile(envPath, 'utf8');
    const doc = parseEnv(text, { file: basename(envPath) });
    const isSecretKey = secretKeyMatcher(optionsOf(p));
    const problems = validateEnv(doc, { file: basename(envPath), isSecretKey }).map((x) => x.message);
    const names = new Set<string>();
    for (const b of doc.bindings) {
      if (b.key?.endsWith('_FILE') && isSecretKey(b.key.slice(0, -5)) && b.value?.startsWith(`${SECRETS_MOUNT}/`)) names.add(b.value.slice(SECRETS_MOUNT.length + 1));
      for (const m of (b.value ?? '').matchAll(PLACEHOLDER)) names.add((m[1] ?? '').toLowerCase());
    }
    const findings = [...problems, ...(await secretFileFindings(secretsBase(p), [...names]))].map((f) => p.ctx.redactor.redact(f));
    return { ok: findings.length === 0, findings, report: { envPath, secrets: [...names] } };
  },
  async undo(p) {
    const r = await restoreEnvFromBackup(envBackupDir(p.config.stateDir));
    p.log.info(r.restored ? `restored the original .env; removed ${r.removed.length} file(s) ferry created` : `the .env already holds the original; removed ${r.removed.length} file(s)`);
  },
});
