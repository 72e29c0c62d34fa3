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

/** Secret files the data services need, generated when absent. */
export const DATA_SECRETS = ['mysql_root_password', 'mysql_password', 'redis_password', 'grafana_admin_password'] as const;

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

export async function prepareLayout(composeDir: string, secrets: readonly string[] = DATA_SECRETS): Promise<LayoutResult> {
  const createdDirs: string[] = [];
  for (const d of LAYOUT_DIRS) {
    const path = join(composeDir, d);
    if (!(await exists(path))) { await mkdir(path, { recursive: true }); createdDirs.push(d); }
  }
  await chmod(join(composeDir, 'secrets'), 0o700);
  const createdSecrets: string[] = [];
  for (const name of secrets) {
    const path = join(composeDir, 'secrets', name);
    if (await exists(path)) continue;
    // 0644 inside a 0700 folder: compose bind-mounts the file as it is, and the official mysql image
    // reads *_FILE after dropping to uid 999; the folder keeps other host users out.
    await writeFileAtomic(path, generatePassword(), 0o644);
    createdSecrets.push(name);
  }
  return { createdDirs, createdSecrets };
}
