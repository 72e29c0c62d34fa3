/**
 * The secret files of the env-transform step: `<composeDir>/secrets/<name>.txt`, files 0600 in a 0700
 * directory, mounted by compose as `/run/secrets/<name>`, and listed in `.gitignore`/`.dockerignore`.
 *
 * Who can read them: compose (v1 and v2) bind-mounts each file with its host owner and mode, and the
 * app runs as `app.containerUser` (10001:10001), so on Linux a 0600 file owned by the operator is
 * unreadable in the container. ferry chowns each file to the container user instead (it stays 0600;
 * root in the data services' entrypoints reads it anyway). That needs root (or being that uid). On
 * macOS, Docker Desktop's file sharing decides what the container sees, so the files stay the
 * operator's (not verified here; the entrypoint names a file the app cannot read and stops).
 */
import { appendFile, chmod, chown, mkdir, readFile, stat } from 'node:fs/promises';
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

/** The owner a secret file needs so the app container's user can read it at 0600 (undefined: leave it). */
export interface SecretOwner { readonly uid: number; readonly gid: number }

/** The owner for `containerUser` (`uid:gid`) on this platform: Linux only (see the header). */
export function secretOwnerFor(containerUser: string, platform: NodeJS.Platform = process.platform): SecretOwner | undefined {
  const [uid = 0, gid = 0] = containerUser.split(':').map(Number);
  return platform === 'linux' ? { uid, gid } : undefined;
}

/**
 * Write each secret (0600, directory 0700, owned by `owner`). A file the step did not create (`ours`)
 * that holds a different value is refused rather than overwritten.
 */
export async function writeSecretFiles(appDir: string, secrets: Readonly<Record<string, string>>, ours: ReadonlySet<string>, owner?: SecretOwner): Promise<void> {
  await assertNoSecretConflict(appDir, secrets, ours);
  const dir = secretsDirOf(appDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  for (const [name, value] of Object.entries(secrets)) {
    const path = secretFileOf(appDir, name);
    if ((await readFile(path, 'utf8').catch(() => undefined)) !== value) await writeFileAtomic(path, value, 0o600);
    await chmod(path, 0o600);
    if (owner) {
      await chown(path, owner.uid, owner.gid).catch((e: NodeJS.ErrnoException) => {
        throw new FerryError('E_ENV_SECRET_OWNER', `cannot give the secret file ${path} to the app container's user ${owner.uid}:${owner.gid} (${e.code ?? e.message})`, {
          hint: `run ferry as root, or \`sudo chown ${owner.uid}:${owner.gid} ${path}\` and re-run (the app cannot read a 0600 file it does not own)`, cause: e,
        });
      });
    }
  }
}

/** The lines that keep the secrets out of git and out of docker build contexts. */
export const IGNORE_ENTRIES: Readonly<Record<string, string>> = Object.freeze({ '.gitignore': '/secrets/', '.dockerignore': 'secrets' });

/** Ignore files under `dir` that do not list the secrets yet. */
export async function missingIgnoreEntries(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const [file, entry] of Object.entries(IGNORE_ENTRIES)) {
    const text = await readFile(join(dir, file), 'utf8').catch(() => '');
    const listed = text.split(/\r?\n/u).some((l) => [entry, 'secrets', 'secrets/', '/secrets', '/secrets/'].includes(l.trim()));
    if (!listed) out.push(join(dir, file));
  }
  return out;
}

/** Append the secrets' line to each ignore file that lacks it (creating the file when absent). */
export async function ensureIgnored(dir: string): Promise<void> {
  for (const path of await missingIgnoreEntries(dir)) {
    const entry = IGNORE_ENTRIES[path.slice(dir.length + 1)] as string;
    const text = await readFile(path, 'utf8').catch(() => '');
    await appendFile(path, `${text === '' || text.endsWith('\n') ? '' : '\n'}# ferry: secret files (0600)\n${entry}\n`, { mode: 0o644 });
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

/** Findings for secret files that are missing, differ from `expected` (when given), have loose modes or the wrong owner. */
export async function secretFileFindings(appDir: string, names: readonly string[], expected?: Readonly<Record<string, string>>, owner?: SecretOwner): Promise<string[]> {
  const findings: string[] = [];
  const dir = await stat(secretsDirOf(appDir)).catch(() => undefined);
  if (names.length && !dir) return [`${secretsDirOf(appDir)} is missing`];
  if (dir && (dir.mode & 0o777) !== 0o700) findings.push(`${secretsDirOf(appDir)} has mode ${(dir.mode & 0o777).toString(8)}, expected 700`);
  for (const name of names) {
    const path = secretFileOf(appDir, name);
    const s = await stat(path).catch(() => undefined);
    if (!s) { findings.push(`${path} is missing`); continue; }
    if ((s.mode & 0o777) !== 0o600) findings.push(`${path} has mode ${(s.mode & 0o777).toString(8)}, expected 600`);
    if (owner && (s.uid !== owner.uid || s.gid !== owner.gid)) findings.push(`${path} is owned by ${s.uid}:${s.gid}, expected the app container's user ${owner.uid}:${owner.gid}`);
    if (expected?.[name] !== undefined && (await readFile(path, 'utf8')) !== expected[name]) findings.push(`${path} does not hold the expected value`);
  }
  return findings;
}
