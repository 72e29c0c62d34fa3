/** Free space on a filesystem, for the checks made before a byte moves. */
import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Free bytes on the filesystem holding `path` (its nearest existing ancestor: a directory not made yet counts as where it will be). */
export async function freeBytes(path: string): Promise<number> {
  for (let p = path; ; p = dirname(p)) {
    try {
      const s = await statfs(p);
      return s.bavail * s.bsize;
    } catch (e) {
      if (dirname(p) === p) throw e;
    }
  }
}
