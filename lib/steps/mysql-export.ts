/**
 * Step `mysql-export`: the consistent export of the source databases into `<artifactsDir>/mysql`
 * (chunk files, manifest, SHA256SUMS) — also the backup rollback relies on. Its `sourceState` is the
 * binlog position (or a CHECKSUM TABLE fingerprint), so the runner refuses to resume after the source
 * changed. Nothing on the source is changed; `undo` only removes a half-written export.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { defineStep } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext } from './context.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { sha256File } from '../util/sha256.ts';
import { exportMysql, readManifest, sourceFingerprint, MANIFEST_FILE } from '../engines/mysql/index.ts';
import { definerPolicy, envAccounts, exportDir, sourceOf, where, type MysqlStepParams } from './mysql-shared.ts';
import { appAccounts } from '../engines/mysql/accounts-env.ts';

const SIDECAR = 'source-state.json';

async function recordedState(p: MysqlStepParams): Promise<string | undefined> {
  return readFile(join(exportDir(p), SIDECAR), 'utf8').then((t) => (JSON.parse(t) as { sourceState: string }).sourceState, () => undefined);
}

export default defineStep<Config, FerryContext>({
  id: 'mysql-export',
  title: 'Export the source MySQL (consistent snapshot, chunked, checksummed)',
  async sourceState(p) {
    const s = sourceOf(p);
    return sourceFingerprint(s, s.databases);
  },
  async check(p) {
    const recorded = await recordedState(p);
    if (!recorded) return { done: false, reason: `no complete export in ${exportDir(p)}` };
    const s = sourceOf(p);
    const now = await sourceFingerprint(s, s.databases);
    return now === recorded ? { done: true, reason: `${exportDir(p)} holds the source as it is now` } : { done: false, reason: 'the source changed since the last export' };
  },
  async plan(p) {
    const s = sourceOf(p);
    return { reads: [`${where(s)} databases ${s.databases.join(', ')}`], changes: [exportDir(p)], details: `DEFINERs: ${p.config.mysql.definer}${p.config.mysql.definerAccount ? ` (${p.config.mysql.definerAccount})` : ''}` };
  },
  async run(p) {
    const s = sourceOf(p);
    const sourceState = await sourceFingerprint(s, s.databases);
    await rm(join(exportDir(p), SIDECAR), { force: true });
    const m = await exportMysql({
      source: s, databases: s.databases, dir: exportDir(p), parallelism: p.config.mysql.parallelism, definer: definerPolicy(p),
      accounts: appAccounts(p.config.mysql.accounts, await envAccounts(p)),
      progress: p.progress, signal: p.signal,
    });
    if (m.snapshot.mode === 'single') p.log.warn(`mysql export: ${m.snapshot.note}`);
    for (const r of m.schemas.flatMap((x) => x.definerRewrites)) p.log.info(`DEFINER of ${r.object}: ${r.from} → ${r.to ?? '(stripped)'}`);
    await writeFileAtomic(join(exportDir(p), SIDECAR), JSON.stringify({ sourceState, manifest: m.createdAt }));
    const manifestPath = join(exportDir(p), MANIFEST_FILE);
    return {
      artifacts: [{ path: manifestPath, ...(await sha256File(manifestPath)) }],
      data: {
        dir: exportDir(p), rows: m.totals.rows, bytes: m.totals.bytes, chunks: m.totals.chunks, binlog: m.binlog, snapshot: m.snapshot,
        server: m.server.version, definerRewrites: m.schemas.flatMap((x) => x.definerRewrites), sourceState,
        tables: m.tables.map((t) => ({ table: `${t.table.database}.${t.table.name}`, rows: t.rows, bytes: t.bytes, chunks: t.chunks.length })),
      },
    };
  },
  async verify(p) {
    const dir = exportDir(p);
    const m = await readManifest(dir);
    const findings: string[] = [];
    for (const c of m.tables.flatMap((t) => t.chunks)) {
      const f = await sha256File(join(dir, c.file), p.signal).catch(() => undefined);
      if (!f) findings.push(`${join(dir, c.file)} is missing`);
      else if (f.sha256 !== c.sha256 || f.bytes !== c.bytes) findings.push(`${join(dir, c.file)} differs from its manifest entry (sha256/size)`);
    }
    return { ok: findings.length === 0, findings, report: { rows: m.totals.rows, chunks: m.totals.chunks, snapshot: m.snapshot.mode } };
  },
  async undo(p) {
    await rm(`${exportDir(p)}.partial`, { recursive: true, force: true });
  },
});
