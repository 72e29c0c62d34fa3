/**
 * The stack's host layout beside docker-compose.yml, and the data services' passwords. Secrets are
 * created only when absent, never overwritten (the env step writes the app's own secrets to the same
 * folder), and the caller learns which files it created so `undo` removes only those.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.ts';

/** Directories beside docker-compose.yml (the design's host layout). */
export const LAYOUT_DIRS = [
  'config', 'data', 'data/mysql', 'data/redis', 'data/vault', 'data/prometheus', 'data/grafana', 'data/loki',
  'storage', 'logs', 'logs/app', 'logs/nginx', 'ssl', 'secrets', 'backups',
] as const;

/** Secrets the data services need, generated when absent (the env step may have written the app's). */
export const DATA_SECRETS = ['mysql_root_password', 'mysql_password', 'redis_password', 'grafana_admin_password'] as const;

/**
 * File modes: 0600 where the image reads the secret as root before dropping privileges (mysql's and
 * redis's entrypoints, healthchecks); 0644 where the service itself runs as a non-root user, because
 * compose bind-mounts file secrets as they are. The 0700 folder keeps other host users out.
 */
const SECRET_MODES: Readonly<Record<string, number>> = { grafana_admin_password: 0o644 };

/** `<composeDir>/secrets/<name>.txt`, the naming the env step uses too. */
export function secretPath(composeDir: string, name: string): string {
  return join(composeDir, 'secrets', `${name}.txt`);
}

export interface LayoutResult {
  readonly createdDirs: readonly string[];
  readonly createdSecrets: readonly string[];
}

/** 32 random bytes, base64url: safe unquoted in redis.conf, mysql option files and URLs. */
export function generatePassword(): string {
  return randomBytes(32).toString('base64url');
}

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, (e: NodeJS.ErrnoException) => { if (e.code === 'ENOENT') return false; throw e; });
}

export async function prepareLayout(composeDir: string, secrets: readonly string[] = DATA_SECRETS, dirs: readonly string[] = LAYOUT_DIRS): Promise<LayoutResult> {
  const createdDirs: string[] = [];
  for (const d of dirs) {
    const path = join(composeDir, d);
    if (!(await exists(path))) { await mkdir(path, { recursive: true }); createdDirs.push(d); }
  }
  await chmod(join(composeDir, 'secrets'), 0o700);
  const createdSecrets: string[] = [];
  for (const name of secrets) {
    const path = secretPath(composeDir, name);
    if (await exists(path)) continue;
    await writeFileAtomic(path, generatePassword(), SECRET_MODES[name] ?? 0o600);
    createdSecrets.push(name);
  }
  return { createdDirs, createdSecrets };
}
