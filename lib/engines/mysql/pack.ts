/**
 * An export packed for transport: one tar file (no compression: chunk files compress poorly next to the
 * CPU it costs on a 2-core host). Unpacking checks every chunk's sha256 against the manifest, so a
 * truncated or altered transfer is refused before anything is imported from it.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { create, extract } from 'tar';
import { FerryError } from '../../core/errors.ts';
import { sha256File } from '../../util/sha256.ts';
import { readManifest, type Manifest } from './manifest.ts';

/** Pack the export in `dir` into `tarFile`. */
export async function packExport(dir: string, tarFile: string): Promise<void> {
  await readManifest(dir);
  await create({ file: tarFile, cwd: dir, portable: true }, ['.']);
}

/** Unpack `tarFile` into `dir` and check every file against the manifest. */
export async function unpackExport(tarFile: string, dir: string): Promise<Manifest> {
  await mkdir(dir, { recursive: true });
  await extract({ file: tarFile, cwd: dir });
  const m = await readManifest(dir);
  for (const c of m.tables.flatMap((t) => t.chunks)) {
    const f = await sha256File(join(dir, c.file)).catch(() => undefined);
    if (!f || f.sha256 !== c.sha256) {
      throw new FerryError('E_MYSQL_ARTIFACT', `${join(dir, c.file)} from ${tarFile} ${f ? 'differs from' : 'is missing in'} the manifest`, {
        hint: 'copy the tar file again (compare its sha256 on both machines)',
      });
    }
  }
  return m;
}
