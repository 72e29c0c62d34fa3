/** The source side of a MySQL store's verdicts for the report: its export manifest's chunk checksums, per table. */
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

type Obj = Record<string, unknown>;

async function readJson(path: string): Promise<Obj | undefined> {
  try { return JSON.parse(await readFile(path, 'utf8')) as Obj; } catch { return undefined; }
}

/** Per table: an aggregate of a MySQL store's export chunk checksums (the source side of every chunk compared). */
export async function manifestChecksums(artifactsDir: string, storeId = 'mysql'): Promise<Map<string, string>> {
  const m = await readJson(join(artifactsDir, storeId, 'manifest.json'));
  const out = new Map<string, string>();
  for (const t of (m?.tables as Obj[] | undefined) ?? []) {
    const info = t.table as Obj | undefined;
    const chunks = (t.chunks as Obj[] | undefined) ?? [];
    const h = createHash('sha256');
    for (const c of chunks) h.update(String(c.checksum)).update('\n');
    out.set(`${String(info?.database)}.${String(info?.name)}`, h.digest('hex').slice(0, 16));
  }
  return out;
}
