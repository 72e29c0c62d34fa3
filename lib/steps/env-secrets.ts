/**
 * The secret files of the env-transform step: `<appDir>/secrets/<name>.txt`, files 0600 in a 0700
 * directory, mounted by compose as `/run/secrets/<name>`.
 */
import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FerryError } from '../core/errors.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';

/** The secret files' suffix (`secrets/<name>.txt`), as compose/docker-compose.yml and lib/compose/layout.ts expect. */
export const SECRET_FILE_SUFFIX = '.txt';
export const secretsDirOf = (appDir: string): string => join(appDir, 'secrets');
export const secretFileOf = (appDir: string, name: string): string => join(secretsDirOf(appDir), `${name}${SECRET_FILE_SUFFIX}`);

const exists = (path: string) => stat(path).then(() => true, () => false);

/** Paths among the secrets dir and files that do not exist yet (what the step would create). */
export async function missingSecretPaths(appDir: string, names: readonly string[]): Promise<string[]> {
  const files = names.map((n) => secretFileOf(appDir, n));
  const missing = [];
  for (const f of files) if (!(await exists(f))) missing.push(f);
  // The directory last, so undo removes it after its files.
  if (!(await exists(secretsDirOf(appDir)))) missing.push(secretsDirOf(appDir));
  return missing;
}

/**
 * Write each secret (0600, directory 0700). A file the step did not create (`ours`) that holds a
 * different value is refused rather than overwritten.
 */
export async function writeSecretFiles(appDir: string, secrets: Readonly<Record<string, string>>, ours: ReadonlySet<string>): Promise<void> {
  await assertNoSecretConflict(appDir, secrets, ours);
  const dir = secretsDirOf(appDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  for (const [name, value] of Object.entries(secrets)) {
    const path = secretFileOf(appDir, name);
    if ((await readFile(path, 'utf8').catch(() => undefined)) !== value) await writeFileAtomic(path, value, 0o600);
    await chmod(path, 0o600);
  }
}

/** Refuse (before anything is written) a secret file the step did not create that holds another value. */
export async function assertNoSecretConflict(appDir: string, secrets: Readonly<Record<string, string>>, ours: ReadonlySet<string>): Promise<void> {
  for (const [name, value] of Object.entries(secrets)) {
    const path = secretFileOf(appDir, name);
    const current = await readFile(path, 'utf8').catch(() => undefined);
    if (current !== undefined && current !== value && !ours.has(path)) {
      throw new FerryError('E_ENV_SECRET_CONFLICT', `${path} already exists with a different value`, {
        hint: `move ${path} aside (ferry never overwrites a secret it did not write) and re-run`,
      });
    }
  }
}

/** Findings for secret files that are missing, differ from `expected` (when given) or have loose modes. */
export async function secretFileFindings(appDir: string, names: readonly string[], expected?: Readonly<Record<string, string>>): Promise<string[]> {
  const findings: string[] = [];
  const dir = await stat(secretsDirOf(appDir)).catch(() => undefined);
  if (names.length && !dir) return [`${secretsDirOf(appDir)} is missing`];
  if (dir && (dir.mode & 0o777) !== 0o700) findings.push(`${secretsDirOf(appDir)} has mode ${(dir.mode & 0o777).toString(8)}, expected 700`);
  for (const name of names) {
    const path = secretFileOf(appDir, name);
    const s = await stat(path).catch(() => undefined);
    if (!s) { findings.push(`${path} is missing`); continue; }
    if ((s.mode & 0o777) !== 0o600) findings.push(`${path} has mode ${(s.mode & 0o777).toString(8)}, expected 600`);
    if (expected?.[name] !== undefined && (await readFile(path, 'utf8')) !== expected[name]) findings.push(`${path} does not hold the expected value`);
  }
  return findings;
}
