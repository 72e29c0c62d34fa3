/**
 * What follow changed, written atomically BEFORE each change (no secrets), so a kill at any instant leaves
 * enough to resume, promote or abort; and the replication role's generated password in a 0600 file next
 * to it, registered with the redactor, deleted at promote/abort.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { SecretSink } from '../../core/engine.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import type { ReplicationNames } from './replication-sql.ts';
import { FOLLOW_RECORD_FILE, readFollowRecordIn, writeFollowRecordIn } from '../follow-record.ts';

/**
 * `freeze-copy`: this source cannot be followed (reason recorded), the copy runs inside the freeze.
 * `preparing` (role, publication) → `exporting` (slot created, export in its snapshot) → `exported` →
 * `subscribing` → `following` → `promoting` → `promoted`; `aborting` → `aborted` from any of them.
 */
export type PgFollowState = 'freeze-copy' | 'preparing' | 'exporting' | 'exported' | 'subscribing' | 'following' | 'promoting' | 'promoted' | 'aborting' | 'aborted';

export interface PgFollowRecord {
  readonly state: PgFollowState;
  readonly names: ReplicationNames;
  /** The source as the target container reaches it. */
  readonly from: { readonly host: string; readonly port: number };
  readonly source: { readonly endpoint: string; readonly database: string };
  /** Why the store is copied inside the freeze instead (state `freeze-copy`). */
  readonly reason?: string;
  /** The slot's consistent point: the export's snapshot is exactly the data before it. */
  readonly consistentPoint?: string;
  /** Created objects, each set true once it exists (what abort must remove). */
  readonly created: { readonly role?: boolean; readonly publication?: boolean; readonly slot?: boolean; readonly subscription?: boolean };
  readonly updatedAt?: string;
}

export const RECORD_FILE = FOLLOW_RECORD_FILE;
export const SECRET_FILE = 'replication.secret';

export const readPgFollowRecord = (stateDir: string): Promise<PgFollowRecord | undefined> => readFollowRecordIn<PgFollowRecord>(stateDir);

export const writePgFollowRecord = (stateDir: string, r: PgFollowRecord): Promise<PgFollowRecord> => writeFollowRecordIn(stateDir, r);

/** The password on file, or a new one written (0600, atomically) before the role uses it. */
export async function replicationPassword(stateDir: string, redactor?: SecretSink): Promise<string> {
  const file = join(stateDir, SECRET_FILE);
  let pw = await readFile(file, 'utf8').then((s) => s.trim(), () => '');
  if (!/^[A-Za-z0-9_-]{24,}$/.test(pw)) {
    pw = randomBytes(24).toString('base64url');
    await writeFileAtomic(file, pw + '\n', 0o600);
  }
  redactor?.add(pw);
  return pw;
}

export async function forgetPassword(stateDir: string): Promise<void> {
  await rm(join(stateDir, SECRET_FILE), { force: true });
}
