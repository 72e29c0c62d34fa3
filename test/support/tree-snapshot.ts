/** Every file and directory under `dir` with its mode and (files) its bytes, to prove what a step changed. */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

export async function snapshotTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir, { recursive: true })).sort()) {
    const s = await stat(join(dir, name));
    out[name] = `${(s.mode & 0o777).toString(8)} ${s.isFile() ? (await readFile(join(dir, name))).toString('base64') : 'dir'}`;
  }
  return out;
}
