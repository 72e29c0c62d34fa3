/**
 * Files rewritten in place that kept their size, mtime and inode (an app that writes and sets the mtime
 * back, `touch -r`): the ctime scan re-reads them and their hash differs, but the copy tells a target
 * file apart by size and mtime, as rsync does, and would keep the old content. The narrowed export lists
 * them (bound to the manifest it wrote); the next import removes their copies on the target first, so
 * the copy sends them again. Removed once: a run killed after it finds them missing and copies them.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { readJson } from '../read-json.ts';
import { manifestFileId } from './ctime-stamp.ts';

export const REWRITTEN_FILE = 'rewritten.json';

interface RewrittenRecord { readonly manifest: string; readonly paths: readonly string[] }

/** Record the rewritten files of the manifest just written (none: the record goes). */
export async function recordRewritten(artifactDir: string, manifest: string, paths: readonly Buffer[]): Promise<void> {
  if (!paths.length) { await forgetRewritten(artifactDir); return; }
  const r: RewrittenRecord = { manifest: manifestFileId(manifest), paths: paths.map((p) => p.toString('base64')) };
  await writeFileAtomic(join(artifactDir, REWRITTEN_FILE), JSON.stringify(r) + '\n');
}

/** The rewritten files (relative, raw bytes) recorded for this manifest; none for another one. */
export async function readRewritten(artifactDir: string, manifest: string): Promise<Buffer[]> {
  const r = await readJson<RewrittenRecord>(join(artifactDir, REWRITTEN_FILE));
  if (!r || r.manifest !== manifestFileId(manifest)) return [];
  return r.paths.map((p) => Buffer.from(p, 'base64'));
}

export async function forgetRewritten(artifactDir: string): Promise<void> {
  await rm(join(artifactDir, REWRITTEN_FILE), { force: true });
}
