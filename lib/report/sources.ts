/**
 * Where the report finds the verify results: the mysql-verify step's outputs (per-table verdicts)
 * joined with the export manifest's chunk checksums, and the redis-verify step's report file.
 */
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { StepOutputs } from '../core/step.ts';

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

/** The mysql-verify data with source/target checksums: equal when no chunk differed. */
export async function mysqlVerifyData(outputs: ReadonlyMap<string, StepOutputs>, artifactsDir: string): Promise<Obj | undefined> {
  const data = outputs.get('mysql-verify')?.data as Obj | undefined;
  if (!data) return undefined;
  const sums = await manifestChecksums(artifactsDir);
  const tables = ((data.tables as Obj[] | undefined) ?? []).map((t) => {
    const sum = sums.get(String(t.table));
    const bad = Number(t.mismatchedChunks ?? 0);
    return {
      ...t,
      ...(sum ? { sourceChecksum: sum, targetChecksum: bad === 0 ? sum : `differs in ${bad}/${String(t.chunks)} chunk(s)` } : {}),
    };
  });
  return { ...data, tables };
}

/** The redis-verify report: its outputs if any, else the file it keeps in `<stateDir>/redis/verify.json`. */
export async function redisVerifyData(outputs: ReadonlyMap<string, StepOutputs>, stateDir: string): Promise<Obj | undefined> {
  if (!outputs.has('redis-verify')) return undefined;
  const data = outputs.get('redis-verify')?.data as Obj | undefined;
  if (data && Object.keys(data).length) return data;
  return readJson(join(stateDir, 'redis', 'verify.json'));
}
