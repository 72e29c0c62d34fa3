/**
 * The follow record every following engine keeps in its store's state directory (`follow.json`, 0600):
 * written atomically BEFORE each change, stamped with when, so a kill at any instant leaves enough to
 * resume, promote or abort. Each engine says what its record holds (no secrets in it).
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { readJson } from './read-json.ts';

export const FOLLOW_RECORD_FILE = 'follow.json';

/** The record, or undefined when follow never ran (or the file is not JSON). */
export const readFollowRecordIn = <R>(stateDir: string): Promise<R | undefined> => readJson<R>(join(stateDir, FOLLOW_RECORD_FILE));

/** Write the record with `updatedAt` now; returns what was written. */
export async function writeFollowRecordIn<R extends { readonly updatedAt?: string }>(stateDir: string, r: R): Promise<R> {
  const rec = { ...r, updatedAt: new Date().toISOString() };
  await writeFileAtomic(join(stateDir, FOLLOW_RECORD_FILE), JSON.stringify(rec, null, 1) + '\n', 0o600);
  return rec;
}
