/**
 * The .env backup the env-transform step keeps in `<stateDir>/env/`: the original bytes
 * (`original.env`), their checksum (`original.env.sha256`, sha256sum format) and a manifest naming the
 * .env and every file the step created. `restoreEnvFromBackup` needs nothing else, so the rollback
 * playbook can call it on its own. Each of the app's further env files has a backup of its own in
 * `files/<name>/` (same layout, nothing created); `envBackupDirs` lists them all.
 */
import { createHash } from 'node:crypto';
import { chmod, readFile, readdir, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FerryError } from '../core/errors.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';

export interface EnvBackupManifest {
  readonly version: 1;
  /** Absolute path of the .env the backup belongs to. */
  readonly envPath: string;
  readonly sha256: string;
  readonly bytes: number;
  /** Permission bits of the original file, restored with it. */
  readonly mode: number;
  /** Files and directories the step created (directories after their files); undo removes only these. */
  readonly created: readonly string[];
}

export interface EnvBackup {
  readonly manifest: EnvBackupManifest;
  readonly original: Buffer;
  readonly path: string;
}

export const sha256 = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

const files = (dir: string) => ({ original: join(dir, 'original.env'), sum: join(dir, 'original.env.sha256'), manifest: join(dir, 'manifest.json') });

async function readOrUndefined(path: string): Promise<Buffer | undefined> {
  try { return await readFile(path); } catch (e) { if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined; throw e; }
}

/** The backup in `dir`, checksum verified; undefined when there is none. */
export async function readEnvBackup(dir: string): Promise<EnvBackup | undefined> {
  const f = files(dir);
  const manifestBytes = await readOrUndefined(f.manifest);
  if (!manifestBytes) return undefined;
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as EnvBackupManifest;
  const original = await readOrUndefined(f.original);
  const sum = (await readOrUndefined(f.sum))?.toString('utf8').split(/\s/u)[0];
  if (!original || sha256(original) !== manifest.sha256 || sum !== manifest.sha256) {
    throw new FerryError('E_ENV_BACKUP_CORRUPT', `the .env backup ${f.original} is missing or does not match its checksum`, {
      hint: `restore ${manifest.envPath} by hand from a copy you trust; ferry will not restore an unverified backup`,
    });
  }
  return { manifest, original, path: f.original };
}

/** Back up `original` (the bytes of `envPath`) once: original, checksum, then the manifest that makes it count. */
export async function writeEnvBackup(dir: string, envPath: string, original: Buffer, mode: number): Promise<EnvBackup> {
  const f = files(dir);
  const manifest: EnvBackupManifest = { version: 1, envPath, sha256: sha256(original), bytes: original.length, mode, created: [] };
  await writeFileAtomic(f.original, original, 0o600);
  await writeFileAtomic(f.sum, `${manifest.sha256}  original.env\n`, 0o600);
  await writeFileAtomic(f.manifest, `${JSON.stringify(manifest, null, 2)}\n`, 0o600);
  return { manifest, original, path: f.original };
}

/** Record paths the step is about to create (before creating them, so a crash still undoes them). */
export async function recordCreated(dir: string, backup: EnvBackup, paths: readonly string[]): Promise<EnvBackup> {
  const created = [...new Set([...backup.manifest.created, ...paths])];
  if (created.length === backup.manifest.created.length) return backup;
  const manifest = { ...backup.manifest, created };
  await writeFileAtomic(files(dir).manifest, `${JSON.stringify(manifest, null, 2)}\n`, 0o600);
  return { ...backup, manifest };
}

export interface RestoreResult {
  /** False when the .env already held the original bytes (or there is no backup). */
  readonly restored: boolean;
  readonly removed: readonly string[];
}

/**
 * Put the original .env back byte for byte (checksum verified) and remove only the files the step
 * created. Safe to call twice; a no-op without a backup.
 */
export async function restoreEnvFromBackup(dir: string): Promise<RestoreResult> {
  const backup = await readEnvBackup(dir);
  if (!backup) return { restored: false, removed: [] };
  const { envPath, mode } = backup.manifest;
  const current = await readOrUndefined(envPath);
  const restored = !current || !current.equals(backup.original);
  if (restored) { await writeFileAtomic(envPath, backup.original, mode); await chmod(envPath, mode); }
  return { restored, removed: await removeCreated(backup) };
}

/** Remove only the files and (empty) directories the step created; the .env is left as it is. Safe to call twice. */
export async function removeCreatedFiles(dir: string): Promise<readonly string[]> {
  const backup = await readEnvBackup(dir);
  return backup ? removeCreated(backup) : [];
}

async function removeCreated(backup: EnvBackup): Promise<string[]> {
  const removed: string[] = [];
  for (const path of backup.manifest.created) {
    const s = await stat(path).catch(() => undefined);
    if (!s) continue;
    if (s.isDirectory()) await rmdir(path).then(() => removed.push(path), () => undefined);
    else { await rm(path, { force: true }); removed.push(path); }
  }
  return removed;
}

/** The main backup directory and those of the app's further env files (`<dir>/files/<name>/`), in that order. */
export async function envBackupDirs(dir: string): Promise<string[]> {
  const names = await readdir(join(dir, 'files')).catch(() => [] as string[]);
  return [dir, ...names.sort().map((n) => join(dir, 'files', n))];
}
