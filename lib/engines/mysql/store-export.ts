/**
 * A MySQL store's export: the consistent, chunked, checksummed export of its databases into
 * `<artifactDir>` (also the rollback backup), with a sidecar recording the source fingerprint it was
 * taken at, so a later run knows whether it still holds the source as it is.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExportSummary } from '../../core/engine.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { definerPolicyOf } from './options.ts';
import { sourceFingerprint } from './fingerprint.ts';
import { exportMysql } from './export.ts';
import { MANIFEST_FILE } from './manifest.ts';
import { appAccounts, readEnvAccounts } from './accounts-env.ts';
import { readJson, sourceOf, type MysqlParams } from './store.ts';

const SIDECAR = 'source-state.json';

/** True when `<artifactDir>` holds a complete export of the source as it is now. */
export async function exportedNow(p: MysqlParams): Promise<boolean> {
  const side = await readJson<{ sourceState: string }>(join(p.artifactDir, SIDECAR));
  if (!side) return false;
  const s = await sourceOf(p);
  return side.sourceState === (await sourceFingerprint(s, s.databases));
}

export async function exportStore(p: MysqlParams): Promise<ExportSummary> {
  const s = await sourceOf(p);
  const o = p.store.options;
  const sourceState = await sourceFingerprint(s, s.databases);
  await rm(join(p.artifactDir, SIDECAR), { force: true });
  const m = await exportMysql({
    source: s, databases: s.databases, dir: p.artifactDir, parallelism: o.parallelism, definer: definerPolicyOf(o), progress: p.progress, signal: p.signal,
    accounts: appAccounts(o.accounts, await readEnvAccounts(o.appEnvFiles)),
  });
  if (m.snapshot.mode === 'single') p.log.warn(`${p.store.id}: ${m.snapshot.note}`);
  for (const r of m.schemas.flatMap((x) => x.definerRewrites)) p.log.info(`${p.store.id}: DEFINER of ${r.object}: ${r.from} → ${r.to ?? '(stripped)'}`);
  await writeFileAtomic(join(p.artifactDir, SIDECAR), JSON.stringify({ sourceState, manifest: m.createdAt }));
  return {
    manifest: join(p.artifactDir, MANIFEST_FILE),
    data: {
      rows: m.totals.rows, bytes: m.totals.bytes, chunks: m.totals.chunks, binlog: m.binlog, snapshot: m.snapshot.mode, server: m.server.version,
      databases: s.databases, sourceState, tables: m.tables.length, definerRewrites: m.schemas.flatMap((x) => x.definerRewrites),
    },
  };
}
