/**
 * Step `rollback-restore-env`: put the app's original .env — and each of its further env files
 * (`app.envFiles`) — back from the env step's backups, byte for byte, and prove each by its checksum;
 * remove only the files that step created.
 */
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { defineStep } from '../core/step.ts';
import { FerryError } from '../core/errors.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext } from './context.ts';
import { envBackupDir } from './env-transform.ts';
import { envBackupDirs, readEnvBackup, restoreEnvFromBackup } from './env-backup.ts';

interface EnvState { envPath: string; expected: string; actual: string | undefined }

/** Each backed-up env file (the main one first) with its original's and its current checksum. */
async function states(stateDir: string): Promise<EnvState[]> {
  const out: EnvState[] = [];
  for (const dir of await envBackupDirs(envBackupDir(stateDir))) {
    const b = await readEnvBackup(dir);
    if (!b) continue;
    const actual = await readFile(b.manifest.envPath).then((d) => createHash('sha256').update(d).digest('hex'), () => undefined);
    out.push({ envPath: b.manifest.envPath, expected: b.manifest.sha256, actual });
  }
  return out;
}

const changed = (all: readonly EnvState[]) => all.filter((s) => s.actual !== s.expected);

export default defineStep<Config, FerryContext>({
  id: 'rollback-restore-env',
  title: 'Restore the original .env (checksum verified)',
  async plan({ config }) {
    const c = changed(await states(config.stateDir));
    return { reads: [envBackupDir(config.stateDir)], changes: c.map((s) => s.envPath), pending: c.length > 0 };
  },
  async check({ config }) {
    const all = await states(config.stateDir);
    if (!all.length) return { done: true, reason: 'no .env backup: the .env was never rewritten' };
    const c = changed(all);
    return { done: c.length === 0, reason: c.length ? `${c.map((s) => s.envPath).join(', ')} differ(s) from the original` : `${all.map((s) => s.envPath).join(', ')} hold(s) the original bytes` };
  },
  async run({ config, log }) {
    const restored: string[] = [];
    const removed: string[] = [];
    for (const dir of await envBackupDirs(envBackupDir(config.stateDir))) {
      const r = await restoreEnvFromBackup(dir);
      if (r.restored) restored.push((await readEnvBackup(dir))!.manifest.envPath);
      removed.push(...r.removed);
    }
    for (const p of removed) log.info(`removed ${p}`);
    const all = await states(config.stateDir);
    const bad = changed(all)[0];
    if (bad) {
      throw new FerryError('E_ENV_RESTORE', `${bad.envPath} does not match the backup's checksum after the restore`, { hint: `copy its original.env from ${envBackupDir(config.stateDir)} over it by hand` });
    }
    return { data: { restored: restored.length > 0, restoredFiles: restored, removed, sha256: all[0]?.expected, files: all.map((s) => ({ path: s.envPath, sha256: s.expected })) } };
  },
  async verify({ config }) {
    const c = changed(await states(config.stateDir));
    return { ok: c.length === 0, findings: c.map((s) => `${s.envPath} sha256 ${s.actual ?? 'missing'} ≠ original ${s.expected}`) };
  },
});
