/**
 * The app's further env files (`app.envFiles`): each is read (never written), transformed like the main
 * one into its own canonical file in the compose directory (`app.<name>.env`), its secrets split into the
 * shared `secrets/` directory, its original backed up under `<stateDir>/env/files/<name>/`, and loaded by
 * the services that used it: `app.envFileServices`, else the services whose `env_file:` names it in the
 * stack's own compose files, else the app's services. References to the main file's variables resolve
 * as python-dotenv's `load_dotenv` reads them when the main file was loaded first.
 */
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { FerryError } from '../core/errors.ts';
import { parseEnv, resolveEnv, transformEnv } from '../env/index.ts';
import type { TransformOptions, TransformResult } from '../env/index.ts';
import { envFilesOf, envFileServices } from './env-shadowed.ts';

/** One further env file, transformed. */
export interface EnvFileState {
  /** The original (absolute; only read). */
  readonly path: string;
  readonly original: Buffer;
  readonly result: TransformResult;
  /** The emitted file's name in the compose directory (`app.worker.env`). */
  readonly name: string;
  /** The services that load the emitted file. */
  readonly services: readonly string[];
}

/** `app.<name>.env` for an original's file name: `.env.worker`, `worker.env` → `app.worker.env`. */
export function emittedEnvName(path: string): string {
  const parts = basename(path).toLowerCase().split('.').filter((x) => x && x !== 'env').map((x) => x.replace(/[^a-z0-9_-]+/gu, '-'));
  return `app.${parts.join('.') || 'env'}.env`;
}

/** The backup directory of one further env file, under the env step's backup directory. */
export const envFileBackupDir = (backupDir: string, name: string): string => join(backupDir, 'files', name);

/** Read an env file as UTF-8, naming it when it is missing or not UTF-8. */
export async function readEnvFile(path: string, hint: string): Promise<{ original: Buffer; text: string }> {
  const original = await readFile(path).catch((e: NodeJS.ErrnoException) => {
    throw new FerryError('E_ENV_MISSING', `cannot read the app's env file ${path} (${e.code ?? e.message})`, { hint, cause: e });
  });
  const text = original.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(original)) {
    throw new FerryError('E_ENV_ENCODING', `${path} is not valid UTF-8`, {
      hint: 'python-dotenv reads the file as UTF-8: convert it (iconv -t UTF-8) and re-run; nothing was written',
    });
  }
  return { original, text };
}

export interface EnvFilesOptions {
  readonly files: readonly string[];
  /** Config `app.envFileServices` (absolute path → services). */
  readonly servicesOf: Readonly<Record<string, readonly string[]>>;
  /** The main file's text: its variables are in the environment when the others are loaded. */
  readonly mainText: string;
  /** The main file's secrets (name → value): a further file's other value under one of these names gets a name of its own. */
  readonly mainSecrets: Readonly<Record<string, string>>;
  /** The services that load the main file (the default for a file no compose file names). */
  readonly appServices: readonly string[];
  readonly transform: TransformOptions;
  readonly composeDir: string;
  /** The stack's own compose files. */
  readonly stackFiles: readonly string[];
}

/** Transform every further env file; throws E_ENV_INVALID when two would emit the same file. */
export async function loadEnvFiles(o: EnvFilesOptions): Promise<EnvFileState[]> {
  if (!o.files.length) return [];
  const environ: Record<string, string> = {};
  for (const [k, v] of resolveEnv(parseEnv(o.mainText))) if (v !== undefined) environ[k] = v;
  const users = await envFilesOf(o.composeDir, o.stackFiles, await envFileServices(o.composeDir, o.stackFiles));
  const out: EnvFileState[] = [];
  const taken: Record<string, string> = { ...o.mainSecrets };
  for (const path of o.files) {
    const name = emittedEnvName(path);
    const clash = out.find((f) => f.name === name);
    if (clash || name === 'app.env') {
      throw new FerryError('E_ENV_INVALID', `${path} and ${clash?.path ?? 'app.envFile'} would both be emitted as ${name}`, {
        hint: 'rename one of the files (the emitted name is app.<name>.env from its file name) and re-run; nothing was written',
      });
    }
    const { original, text } = await readEnvFile(path, `fix app.envFiles in the config: ${path} is one of the files the app loads`);
    // The main file's required variables are its own: a further file need not repeat them.
    const result = transformEnv(text, { ...o.transform, file: basename(path), environ, required: [], secretsTaken: { ...taken } });
    Object.assign(taken, result.secrets);
    const named = users.filter((u) => u.envFiles.some((f) => [basename(path), name].includes(basename(f)))).map((u) => u.service);
    const services = o.servicesOf[path] ?? (named.length ? [...new Set(named)] : o.appServices);
    out.push({ path, original, result, name, services });
  }
  return out;
}

/**
 * Problems between the files (values never named): a secret two files give different values (one secret
 * file holds one value; loadEnvFiles names them apart, so this is a safety net), and, as warnings, a
 * variable two files set differently.
 */
export function crossFileFindings(main: { path: string; result: TransformResult }, files: readonly EnvFileState[]): { problems: string[]; warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  const all = [main, ...files];
  const secretOwner = new Map<string, { path: string; value: string }>();
  const keyOwner = new Map<string, { path: string; value: string }>();
  for (const f of all) {
    for (const [name, value] of Object.entries(f.result.secrets)) {
      const seen = secretOwner.get(name);
      if (seen && seen.value !== value) problems.push(`the secret ${name} has one value in ${seen.path} and another in ${f.path}: secrets/${name}.txt can hold only one`);
      else if (!seen) secretOwner.set(name, { path: f.path, value });
    }
    for (const [key, value] of Object.entries(f.result.containerEnv)) {
      const seen = keyOwner.get(key);
      if (seen && seen.value !== value) {
        warnings.push(`${key} is set by ${seen.path} and by ${f.path} with different values: a service loading both gets ${f.path}'s (compose: the later env_file wins), while python-dotenv's load_dotenv keeps the first file loaded unless override=True; check the order the app loads them`);
      } else if (!seen) keyOwner.set(key, { path: f.path, value });
    }
  }
  return { problems, warnings };
}
