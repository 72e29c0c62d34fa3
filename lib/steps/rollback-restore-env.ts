/**
 * Step `rollback-restore-env`: put the app's original .env back from the env step's backup, byte for
 * byte, and prove it by its checksum; remove only the files that step created.
 */
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { defineStep } from '../core/step.ts';
import { FerryError } from '../core/errors.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext } from './context.ts';
import { envBackupDir } from './env-transform.ts';
import { readEnvBackup, restoreEnvFromBackup } from './env-backup.ts';

async function state(stateDir: string): Promise<{ envPath: string; expected: string; actual: string | undefined } | undefined> {
  const b = await readEnvBackup(envBackupDir(stateDir));
  if (!b) return undefined;
  const actual = await readFile(b.manifest.envPath).then((d) => createHash('sha256').update(d).digest('hex'), () => undefined);
  return { envPath: b.manifest.envPath, expected: b.manifest.sha256, actual };
}

export default defineStep<Config, FerryContext>({
  id: 'rollback-restore-env',
  title: 'Restore the original .env (checksum verified)',
  async plan({ config }) {
    const s = await state(config.stateDir);
    return { reads: [envBackupDir(config.stateDir)], changes: s && s.actual !== s.expected ? [s.envPath] : [], pending: !!s && s.actual !== s.expected };
  },
  async check({ config }) {
    const s = await state(config.stateDir);
    if (!s) return { done: true, reason: 'no .env backup: the .env was never rewritten' };
    return { done: s.actual === s.expected, reason: s.actual === s.expected ? `${s.envPath} holds the original bytes` : `${s.envPath} differs from the original` };
  },
  async run({ config, log }) {
    const r = await restoreEnvFromBackup(envBackupDir(config.stateDir));
    for (const p of r.removed) log.info(`removed ${p}`);
    const s = await state(config.stateDir);
    if (s && s.actual !== s.expected) {
      throw new FerryError('E_ENV_RESTORE', `${s.envPath} does not match the backup's checksum after the restore`, { hint: `copy ${envBackupDir(config.stateDir)}/original.env over it by hand` });
    }
    return { data: { restored: r.restored, removed: r.removed, sha256: s?.expected } };
  },
  async verify({ config }) {
    const s = await state(config.stateDir);
    const ok = !s || s.actual === s.expected;
    return { ok, findings: ok ? [] : [`${s!.envPath} sha256 ${s!.actual ?? 'missing'} ≠ original ${s!.expected}`] };
  },
});
