/**
 * The freeze's own record, `<stateDir>/freeze.json`, written before each change so a killed run can
 * always lift exactly what it set (and restore the source's original read_only).
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.ts';

export interface FreezeState {
  readonly writersStopped: boolean;
  /** read_only on the source before the freeze (restored on lift). */
  readonly mysqlReadOnlyBefore?: boolean;
  readonly mysqlFrozen: boolean;
  /** Epoch ms until which Redis writes are paused. */
  readonly redisPausedUntil?: number;
  readonly frozenAt: string;
  /** Evidence that the source was quiet before the final export. */
  readonly quiet?: { readonly seconds: number; readonly mysql?: string; readonly redis?: string };
}

export const FREEZE_FILE = 'freeze.json';

export async function readFreezeState(dir: string): Promise<FreezeState | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, FREEZE_FILE), 'utf8')) as FreezeState;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export async function writeFreezeState(dir: string, s: FreezeState): Promise<void> {
  await writeFileAtomic(join(dir, FREEZE_FILE), JSON.stringify(s, null, 2) + '\n');
}

export async function clearFreezeState(dir: string): Promise<void> {
  await rm(join(dir, FREEZE_FILE), { force: true });
}
