/**
 * The follow record every following engine keeps in its store's state directory (`follow.json`, 0600):
 * written atomically BEFORE each change, stamped with when, so a kill at any instant leaves enough to
 * resume, promote or abort. Each engine says what its record holds (no secrets in it).
 */
import { join } from 'node:path';
import type { SecretSink } from '../core/engine.ts';
import type { Logger } from '../core/logger.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import type { Clock } from '../util/wait.ts';
import { readJson } from './read-json.ts';
import type { SourceFromTarget } from './follow-from.ts';

/** What every engine's follow options share: where the source is seen from, the record's directory, and the run's plumbing. */
export interface FollowRun {
  /** The source as the target container sees it; default from follow-from.ts. */
  readonly from?: Partial<SourceFromTarget>;
  /** The store's private state dir: the record and the 0600 secret files. */
  readonly stateDir: string;
  readonly redactor?: SecretSink;
  readonly log?: Logger;
  readonly signal?: AbortSignal;
  readonly clock?: Clock;
}

export const FOLLOW_RECORD_FILE = 'follow.json';

/** The record, or undefined when follow never ran (or the file is not JSON). */
export const readFollowRecordIn = <R>(stateDir: string): Promise<R | undefined> => readJson<R>(join(stateDir, FOLLOW_RECORD_FILE));

/** Write the record with `updatedAt` now; returns what was written. */
export async function writeFollowRecordIn<R extends { readonly updatedAt?: string }>(stateDir: string, r: R): Promise<R> {
  const rec = { ...r, updatedAt: new Date().toISOString() };
  await writeFileAtomic(join(stateDir, FOLLOW_RECORD_FILE), JSON.stringify(rec, null, 1) + '\n', 0o600);
  return rec;
}
