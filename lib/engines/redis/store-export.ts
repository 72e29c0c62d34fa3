/**
 * A Redis store's export: the source's RDB fetched over replication into `<artifactDir>/source.rdb`
 * (the rollback backup, and what the physical path places), with a sidecar recording its sha256 and
 * the source state it was taken at, so a later run knows whether it still holds the source as it is.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExportSummary } from '../../core/engine.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { sha256File } from '../../util/sha256.ts';
import { describeEndpoint } from './connect.ts';
import { fetchRdb } from './rdb-fetch.ts';
import { redisSourceState } from './source-state.ts';
import { RDB, readJson, sourceOf, type RedisParams, type Sidecar } from './store.ts';

/**
 * True when the RDB is there, whole, and taken from the source as it is now. `sourceState`: the engine's
 * `sourceState(p)` as the caller just read it (the runner's decision), so the source is not read twice.
 */
export async function exportedNow(p: RedisParams, sourceState?: string): Promise<boolean> {
  const rdb = join(p.artifactDir, RDB);
  const side = await readJson<Sidecar>(`${rdb}.json`);
  if (!side || !(await stat(rdb).catch(() => null))) return false;
  return side.sourceState === (sourceState ?? await redisSourceState(sourceOf(p))) && side.sha256 === (await sha256File(rdb, p.signal)).sha256;
}

export async function exportStore(p: RedisParams): Promise<ExportSummary> {
  const s = sourceOf(p);
  const sourceState = await redisSourceState(s);
  const path = join(p.artifactDir, RDB);
  p.log.info(`${p.store.id}: fetching the RDB of ${describeEndpoint(s)} over replication`);
  const rdb = await fetchRdb(s, path, p.signal);
  await writeFileAtomic(`${path}.json`, JSON.stringify({ sha256: rdb.sha256, bytes: rdb.bytes, sourceState } satisfies Sidecar));
  p.progress.update({ unit: 'bytes', done: rdb.bytes, total: rdb.bytes, label: RDB });
  return { manifest: path, data: { rdb: path, bytes: rdb.bytes, sha256: rdb.sha256, sourceState } };
}
