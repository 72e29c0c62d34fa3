/**
 * A MySQL store's import, keyed by the export it loads (its manifest's createdAt) and the target: a
 * finished import of the same export is a no-op (no DDL replayed, no trigger recreated); a new export
 * is loaded chunk by chunk, chunks the target already holds skipped (chunk-compare.ts). `clearStore` drops what ferry created.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImportSummary } from '../../core/engine.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { connectMysql, q } from './connect.ts';
import { describeMysql } from './endpoint.ts';
import { importMysql } from './import.ts';
import { readManifest } from './manifest.ts';
import { passwordSource, readEnvAccounts } from './accounts-env.ts';
import { formatWarningGroup } from './load-warnings.ts';
import { readJson, targetOf, type MysqlParams } from './store.ts';

const DONE = 'import-done.json';
/** The import's per-chunk progress (a streaming export records there what it loaded: store-export.ts). */
export const PROGRESS = 'import-progress.json';

export async function importStore(p: MysqlParams): Promise<ImportSummary> {
  const m = await readManifest(p.artifactDir);
  const t = targetOf(p, m.schemas.map((s) => s.database));
  const id = { export: m.createdAt, target: `${t.host}:${t.port}` };
  const done = await readJson<typeof id>(join(p.stateDir, DONE));
  if (done?.export === id.export && done.target === id.target) {
    p.log.info(`${p.store.id}: the export of ${m.createdAt} is already in ${describeMysql(t)}`);
    return { data: { alreadyImported: true, chunksLoaded: 0, rows: m.totals.rows } };
  }
  const notes: string[] = [];
  const r = await importMysql({
    target: t, dir: p.artifactDir, stateFile: join(p.stateDir, PROGRESS), parallelism: p.store.options.parallelism, via: p.store.options.via, skipBinlog: true, addMissingKeys: true,
    progress: p.progress, signal: p.signal, note: (n) => { notes.push(n); p.log.warn(n); }, passwordFor: passwordSource(p.store.options.accounts, await readEnvAccounts(p.store.options.appEnvFiles)),
  });
  p.log.info(`${p.store.id}: ${r.chunksLoaded} chunks loaded, ${r.chunksSkipped} already there, via ${r.via}, ${r.seconds.toFixed(1)} s`);
  for (const w of r.warnings) p.log.warn(`${p.store.id}: load warning on a value kept exactly: ${formatWarningGroup(w)}`);
  for (const a of r.accounts) p.log.info(`${p.store.id}: ${a.account}: ${a.action} (${a.reason})`);
  await writeFileAtomic(join(p.stateDir, DONE), JSON.stringify(id));
  return { data: { ...r, alreadyImported: false, notes } };
}

export async function clearStore(p: MysqlParams): Promise<void> {
  const m = await readManifest(p.artifactDir).catch(() => undefined);
  await rm(join(p.stateDir, DONE), { force: true });
  await rm(join(p.stateDir, PROGRESS), { force: true });
  if (!m) return;
  const t = targetOf(p, []);
  const pool = await connectMysql(t, { connections: 1 });
  try {
    for (const s of m.schemas) {
      p.log.warn(`${p.store.id}: dropping database ${s.database} on the target ${describeMysql(t)}`);
      await pool.query(`DROP DATABASE IF EXISTS ${q(s.database)}`);
    }
  } finally {
    await pool.end();
  }
}
