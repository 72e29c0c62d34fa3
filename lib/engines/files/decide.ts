/**
 * What the bind copy does with each manifest entry, decided from the one scan of the target, so the
 * copy pass does not stat the target again.
 */
import type { ManifestEntry } from './manifest.ts';
import { targetOfPath } from './paths.ts';

export type Decision = 0 | 1 | 2 | 3 | 4 | 5;
/** Stat the target in the copy pass (hash when only the mtime differs). */
export const CHECK = 0;
/** Already right on the target. */
export const SKIP = 1;
/** Absent, or another type or size: copy (a directory in the way is replaced). */
export const COPY = 2;
/** A directory that exists with the right owner: only its mode and mtime are set at the end. */
export const DIR_OK = 3;
/** A directory already right in every respect (still listed, to set its mtime if a child changes). */
export const SKIP_DIR = 4;
/** A hard link to its first name: nothing to do unless the first name is copied again (new inode). */
export const LINK_OK = 5;

export function decisionFor(e: ManifestEntry, t: ManifestEntry, o: { uid: number; gid: number }, normalize: 'none' | 'nfc'): Decision {
  const owned = t.uid === o.uid && t.gid === o.gid;
  if (e.type === 'dir') return t.type === 'dir' && owned ? (t.mode === e.mode && t.mtimeMs === e.mtimeMs ? SKIP_DIR : DIR_OK) : CHECK;
  if (e.type === 'symlink') return t.type === 'symlink' && owned && Buffer.from(t.link ?? []).equals(e.link!) ? SKIP : CHECK;
  if (e.type === 'file') {
    if (t.type !== 'file' || t.size !== e.size) return COPY;
    return t.mtimeMs === e.mtimeMs && t.mode === e.mode && owned ? SKIP : CHECK;
  }
  // A hard link already to its first name (the target scan groups names by inode the same way).
  if (e.type === 'hardlink' && t.type === 'hardlink' && Buffer.from(t.link ?? []).equals(targetOfPath(e.link!, normalize))) return LINK_OK;
  return CHECK;
}
