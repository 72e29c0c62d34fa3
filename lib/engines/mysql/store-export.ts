/**
 * A MySQL store's export: the consistent, chunked, checksummed export of its databases into
 * `<artifactDir>` (also the rollback backup), with a sidecar recording the source fingerprint it was
 * taken at, so a later run knows whether it still holds the source as it is.
 *
 * When the target is up and holds none of the tables yet (the playbooks start the stack's data services
 * before the export), the export streams: each chunk loads into the target as soon as its file is
 * complete (copy.ts streamMysql), and what loaded is recorded in the import's own progress file, so
 * `import:<id>` finds those chunks loaded and does only what remains (objects, accounts, chunks not
 * streamed). Otherwise (no target yet, not reachable, a table already there after a kill) the plain
 * export, and the import checks every chunk on the target (chunk-compare.ts). The log and the summary
 * (`streamed`, `stream`) say which and why.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExportSummary } from '../../core/engine.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { definerPolicyOf } from './options.ts';
import { sourceFingerprint } from './fingerprint.ts';
import { exportMysql, type ExportOptions } from './export.ts';
import { MANIFEST_FILE, type Manifest } from './manifest.ts';
import { appAccounts, readEnvAccounts } from './accounts-env.ts';
import { readJson, sourceOf, targetOf, type MysqlParams } from './store.ts';
import { streamMysql } from './copy.ts';
import { oneLine, withMysql, type MysqlTarget } from './connect.ts';
import { describeMysql } from './endpoint.ts';
import { PROGRESS } from './store-import.ts';

const SIDECAR = 'source-state.json';

/**
 * True when `<artifactDir>` holds a complete export of the source as it is now. `sourceState`: the engine's
 * `sourceState(p)` as the caller just read it (the runner's decision), so the source is not read twice.
 */
export async function exportedNow(p: MysqlParams, sourceState?: string): Promise<boolean> {
  const side = await readJson<{ sourceState: string }>(join(p.artifactDir, SIDECAR));
  if (!side) return false;
  return side.sourceState === (sourceState ?? await sourceStateOf(p));
}

/** The engine's `sourceState`: the fingerprint of the store's databases on the source. */
export async function sourceStateOf(p: MysqlParams): Promise<string> {
  const s = await sourceOf(p);
  return sourceFingerprint(s, s.databases);
}

export async function exportStore(p: MysqlParams): Promise<ExportSummary> {
  const s = await sourceOf(p);
  const o = p.store.options;
  const sourceState = await sourceFingerprint(s, s.databases);
  await rm(join(p.artifactDir, SIDECAR), { force: true });
  const e: ExportOptions = {
    source: s, databases: s.databases, dir: p.artifactDir, parallelism: o.parallelism, definer: definerPolicyOf(o), progress: p.progress, signal: p.signal,
    accounts: appAccounts(o.accounts, await readEnvAccounts(o.appEnvFiles)),
  };
  const into = await streamTarget(p, s.databases);
  let m: Manifest;
  let streamed = 0;
  let stream: string;
  if ('target' in into) {
    const notes: string[] = [];
    const r = await streamMysql({
      ...e, target: into.target, stateFile: join(p.stateDir, PROGRESS), via: o.via, skipBinlog: true,
      note: (n) => { notes.push(n); p.log.info(`${p.store.id}: ${n}`); },
    });
    m = r.manifest;
    streamed = r.streamedChunks;
    const at = describeMysql(into.target);
    stream = streamed > 0 || m.totals.chunks === 0
      ? `streamed ${streamed} of ${m.totals.chunks} chunks into ${at} while exporting (the import loads the rest)`
      : `plain export: ${notes.find((n) => n.startsWith('tables already exist')) ?? `nothing streamed into ${at}`}`;
  } else {
    m = await exportMysql(e);
    stream = `plain export: ${into.why}`;
  }
  p.log.info(`${p.store.id}: ${stream}`);
  if (m.snapshot.mode === 'single') p.log.warn(`${p.store.id}: ${m.snapshot.note}`);
  for (const r of m.schemas.flatMap((x) => x.definerRewrites)) p.log.info(`${p.store.id}: DEFINER of ${r.object}: ${r.from} → ${r.to ?? '(stripped)'}`);
  await writeFileAtomic(join(p.artifactDir, SIDECAR), JSON.stringify({ sourceState, manifest: m.createdAt }));
  return {
    manifest: join(p.artifactDir, MANIFEST_FILE),
    data: {
      rows: m.totals.rows, bytes: m.totals.bytes, chunks: m.totals.chunks, binlog: m.binlog, snapshot: m.snapshot.mode, server: m.server.version,
      databases: s.databases, sourceState, tables: m.tables.length, definerRewrites: m.schemas.flatMap((x) => x.definerRewrites),
      streamed, stream,
    },
  };
}

/** The target to stream into, or why not (no target yet, not reachable). Tables already there: streamMysql falls back itself. */
async function streamTarget(p: MysqlParams, databases: readonly string[]): Promise<{ target: MysqlTarget } | { why: string }> {
  if (!p.targetUrl) return { why: 'no target to stream into yet (its data service is not up)' };
  const target = targetOf(p, databases);
  try {
    await withMysql(target, (c) => c.query('SELECT 1'));
    return { target };
  } catch (err) {
    return { why: `the target ${describeMysql(target)} is not reachable (${p.redactor.redact(oneLine(err))})` };
  }
}
