/**
 * What follow changed, written (atomically) before each change, so a kill at any instant leaves enough
 * to resume, promote or abort: the account created on the source, where the target reaches it, the
 * start coordinates, and the target settings ferry adjusted with their previous values. No secrets.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import type { ReplicationAccount } from './replication-account.ts';
import type { SourceFromTarget } from './follow-config.ts';
import type { BinlogCoordinates } from './replication-status.ts';

export type FollowState = 'preparing' | 'configuring' | 'following' | 'promoting' | 'promoted' | 'aborting' | 'aborted';

export interface FollowRecord {
  readonly state: FollowState;
  readonly account: ReplicationAccount;
  readonly from: SourceFromTarget;
  readonly start: BinlogCoordinates;
  readonly databases: readonly string[];
  /** The target's server_id before ferry changed it (absent: unchanged). */
  readonly serverId?: { readonly was: number; readonly now: number };
  /** The target's event scheduler was ON and is OFF while following. */
  readonly eventScheduler?: { readonly was: string };
  readonly updatedAt?: string;
}

export const RECORD_FILE = 'follow.json';

export async function readFollowRecord(stateDir: string): Promise<FollowRecord | undefined> {
  const text = await readFile(join(stateDir, RECORD_FILE), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as FollowRecord);
}

export async function writeFollowRecord(stateDir: string, r: FollowRecord): Promise<FollowRecord> {
  const rec = { ...r, updatedAt: new Date().toISOString() };
  await writeFileAtomic(join(stateDir, RECORD_FILE), JSON.stringify(rec, null, 1) + '\n', 0o600);
  return rec;
}
