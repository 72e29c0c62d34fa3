/**
 * What follow changed, written (atomically) before each change, so a kill at any instant leaves enough
 * to resume, promote or abort: the account created on the source, where the target reaches it, the
 * start coordinates, and the target settings ferry adjusted with their previous values. No secrets.
 */
import { FOLLOW_RECORD_FILE, readFollowRecordIn, writeFollowRecordIn } from '../follow-record.ts';
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

export const RECORD_FILE = FOLLOW_RECORD_FILE;

export const readFollowRecord = (stateDir: string): Promise<FollowRecord | undefined> => readFollowRecordIn<FollowRecord>(stateDir);

export const writeFollowRecord = (stateDir: string, r: FollowRecord): Promise<FollowRecord> => writeFollowRecordIn(stateDir, r);
