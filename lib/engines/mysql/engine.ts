/**
 * The MySQL engine behind the engine contract (lib/core/engine.ts): a store is a set of databases on
 * one server, reached by `store.source` (a mysql:// URL) and moved to the server at `targetUrl`.
 * Every phase delegates to the engine's own modules (export, import, verify, freeze, reverse); this
 * file only maps a store and its params onto them and keeps the per-store markers that make a
 * finished phase a no-op when it runs again.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { defineEngine, type EngineParams, type ReportEntry } from '../../core/engine.ts';
import { FerryError, isFerryError } from '../../core/errors.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { connectMysql, q } from './connect.ts';
import { mysqlEndpointFromUrl, describeMysql, type MysqlEndpoint } from './endpoint.ts';
import { parseMysqlOptions, definerPolicyOf, type MysqlOptions, type MysqlStore } from './options.ts';
import { gatherMysqlFacts, gatherMysqlTargetFacts, type MysqlFacts } from './facts.ts';
import { assessMysql, DEFAULT_MYSQL_TARGET, type MysqlTargetFacts } from './assess.ts';
import { sourceFingerprint } from './fingerprint.ts';
import { exportMysql } from './export.ts';
import { importMysql } from './import.ts';
import { verifyMysql } from './verify.ts';
import { readManifest, MANIFEST_FILE } from './manifest.ts';
import { appAccounts, passwordSource } from './accounts-env.ts';
import { formatWarningGroup } from './load-warnings.ts';
import { freezeMysql, thawMysql, withMysql, sampleMysql } from './freeze.ts';
import { reverseMysql } from './reverse.ts';
import { catchUpMysql, followMysql, mysqlFollowOptionsOf, promoteMysql } from './follow.ts';

type P = EngineParams<MysqlOptions>;

export interface MysqlEngineFacts {
  readonly source: MysqlFacts;
  /** Read from the running target when `targetUrl` is known, else what a fresh MySQL 8 service is. */
  readonly target: MysqlTargetFacts;
}

const SIDECAR = 'source-state.json';
const DONE = 'import-done.json';
const PROGRESS = 'import-progress.json';

const SYSTEM_DBS = "('mysql','information_schema','performance_schema','sys')";

/** The source endpoint; with no database named (option or URL), every non-system database. */
async function sourceOf(p: P): Promise<MysqlEndpoint> {
  const ep = mysqlEndpointFromUrl(p.store.source, { field: `stores[${p.store.id}].source`, redactor: p.redactor, databases: p.store.options.databases });
  if (ep.databases.length) return ep;
  const databases = await withMysql(ep, async (c) => {
    const [rows] = await c.query(`SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN ${SYSTEM_DBS} ORDER BY 1`);
    return (rows as Array<{ s: unknown }>).map((r) => String(r.s));
  });
  return { ...ep, databases };
}

function targetOf(p: P, databases: readonly string[]): MysqlEndpoint {
  if (!p.targetUrl) {
    throw new FerryError('E_CONFIG', `store ${p.store.id}: no target MySQL to reach yet`, {
      hint: `start the store's service (${p.store.target.service}) with its migration port first (the data services step)`,
    });
  }
  return mysqlEndpointFromUrl(p.targetUrl, { field: `stores[${p.store.id}].target`, redactor: p.redactor, databases });
}

const readJson = <T>(path: string): Promise<T | undefined> => readFile(path, 'utf8').then((t) => JSON.parse(t) as T, () => undefined);

async function exported(p: P): Promise<boolean> {
  const side = await readJson<{ sourceState: string }>(join(p.artifactDir, SIDECAR));
  if (!side) return false;
  const s = await sourceOf(p);
  return side.sourceState === (await sourceFingerprint(s, s.databases));
}

/** One report entry per table, and one for the schema when it differs. */
function entriesOf(r: Awaited<ReturnType<typeof verifyMysql>>, redact: (s: string) => string): ReportEntry[] {
  const entries: ReportEntry[] = r.schema.length ? [{ subject: 'schema', ok: false, findings: r.schema.map(redact) }] : [];
  if (r.accounts.length) entries.push({ subject: 'accounts and object DEFINERs', ok: false, findings: r.accounts.map(redact) });
  for (const t of r.tables) {
    const mine = r.findings.filter((f) => f.startsWith(`${t.table}:`)).map(redact);
    entries.push({
      subject: `table ${t.table}`, ok: t.ok,
      counts: { rows: t.actualRows, expectedRows: t.expectedRows, chunks: t.chunks, mismatchedChunks: t.mismatchedChunks },
      ...(mine.length ? { findings: mine } : {}),
    });
  }
  return entries;
}

export const mysqlEngine = defineEngine<MysqlOptions, MysqlEngineFacts>({
  kind: 'mysql',
  phases: ['facts', 'assess', 'sourceState', 'export', 'import', 'verify', 'freeze', 'thaw', 'reverse', 'follow', 'catchUp', 'promote'],
  parseOptions: parseMysqlOptions,

  async facts(p) {
    const s = mysqlEndpointFromUrl(p.store.source, { field: `stores[${p.store.id}].source`, redactor: p.redactor, databases: p.store.options.databases });
    const source = await gatherMysqlFacts(s, appAccounts(p.store.options.accounts));
    const target = p.targetUrl ? await gatherMysqlTargetFacts(targetOf(p, [])) : DEFAULT_MYSQL_TARGET;
    return { source, target };
  },

  assess(facts, store: MysqlStore) {
    return assessMysql(facts.source, facts.target, {
      definer: store.options.definer, definerAccount: store.options.definerAccount,
      passwordKnown: (user) => store.options.accounts.some((a) => a.user === user && a.passwordFile),
    });
  },

  async sourceState(p) {
    const s = await sourceOf(p);
    return sourceFingerprint(s, s.databases);
  },

  exported,

  async export(p) {
    const s = await sourceOf(p);
    const o = p.store.options;
    const sourceState = await sourceFingerprint(s, s.databases);
    await rm(join(p.artifactDir, SIDECAR), { force: true });
    const m = await exportMysql({
      source: s, databases: s.databases, dir: p.artifactDir, parallelism: o.parallelism, definer: definerPolicyOf(o), progress: p.progress, signal: p.signal,
      accounts: appAccounts(o.accounts),
    });
    if (m.snapshot.mode === 'single') p.log.warn(`${p.store.id}: ${m.snapshot.note}`);
    for (const r of m.schemas.flatMap((x) => x.definerRewrites)) p.log.info(`${p.store.id}: DEFINER of ${r.object}: ${r.from} → ${r.to ?? '(stripped)'}`);
    await writeFileAtomic(join(p.artifactDir, SIDECAR), JSON.stringify({ sourceState, manifest: m.createdAt }));
    return {
      manifest: join(p.artifactDir, MANIFEST_FILE),
      data: {
        rows: m.totals.rows, bytes: m.totals.bytes, chunks: m.totals.chunks, binlog: m.binlog, snapshot: m.snapshot.mode, server: m.server.version,
        databases: s.databases, sourceState, tables: m.tables.length,
      },
    };
  },

  async import(p) {
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
      target: t, dir: p.artifactDir, stateFile: join(p.stateDir, PROGRESS), parallelism: p.store.options.parallelism, via: p.store.options.via,
      progress: p.progress, signal: p.signal, note: (n) => { notes.push(n); p.log.warn(n); }, passwordFor: passwordSource(p.store.options.accounts),
    });
    p.log.info(`${p.store.id}: ${r.chunksLoaded} chunks loaded, ${r.chunksSkipped} already there, via ${r.via}, ${r.seconds.toFixed(1)} s`);
    for (const w of r.warnings) p.log.warn(`${p.store.id}: load warning on a value kept exactly: ${formatWarningGroup(w)}`);
    for (const a of r.accounts) p.log.info(`${p.store.id}: ${a.account}: ${a.action} (${a.reason})`);
    await writeFileAtomic(join(p.stateDir, DONE), JSON.stringify(id));
    return { data: { ...r, alreadyImported: false, notes } };
  },

  async clearTarget(p) {
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
  },

  async verify(p) {
    const m = await readManifest(p.artifactDir);
    const t = targetOf(p, m.schemas.map((s) => s.database));
    // The source only bisects a mismatch down to rows; verify works without it (a source gone after the cutover).
    const source = await sourceOf(p).catch(() => undefined);
    const run = (from?: MysqlEndpoint) => verifyMysql({
      target: t, dir: p.artifactDir, parallelism: p.store.options.parallelism, progress: p.progress, signal: p.signal, ...(from ? { source: from } : {}),
    });
    const r = await run(source).catch(async (e: unknown) => {
      const unreachable = source && isFerryError(e) && /^E_MYSQL_(UNREACHABLE|AUTH|CONNECT)$/.test(e.code) && e.message.includes(`${source.host}:${source.port}`);
      if (!unreachable) throw e;
      p.log.warn(`${p.store.id}: the source ${describeMysql(source)} cannot be reached to bisect a mismatch: differing chunks are reported without their rows`);
      return run(undefined);
    });
    return { ok: r.ok, entries: entriesOf(r, (s) => p.redactor.redact(s)), seconds: r.seconds };
  },

  async freeze(p) {
    const s = mysqlEndpointFromUrl(p.store.source, { field: `stores[${p.store.id}].source`, redactor: p.redactor });
    const record = await freezeMysql(s, p.stateDir);
    p.log.info(`${p.store.id}: ${describeMysql(s)} read_only ON`);
    return record;
  },

  async thaw(p, record) {
    const s = mysqlEndpointFromUrl(p.store.source, { field: `stores[${p.store.id}].source`, redactor: p.redactor });
    if (await thawMysql(s, p.stateDir, record)) p.log.info(`${p.store.id}: ${describeMysql(s)} read_only as before the freeze`);
  },

  async quietSample(p) {
    const s = mysqlEndpointFromUrl(p.store.source, { field: `stores[${p.store.id}].source`, redactor: p.redactor });
    return withMysql(s, sampleMysql);
  },

  async reverse(p) {
    const s = await sourceOf(p);
    const t = targetOf(p, s.databases);
    const r = await reverseMysql({
      from: t, to: s, databases: s.databases, dir: join(p.stateDir, 'reverse', 'export'), stateFile: join(p.stateDir, 'reverse', PROGRESS),
      parallelism: p.store.options.parallelism, definer: definerPolicyOf(p.store.options), progress: p.progress, signal: p.signal,
      note: (n) => p.log.warn(n),
    });
    p.log.info(`${p.store.id}: ${r.exportedRows} rows of the stack copied back to ${describeMysql(s)} (${r.chunksLoaded} chunks reloaded, ${r.chunksSkipped} unchanged)`);
    return { data: { ...r } };
  },

  async follow(p) { return followMysql(await mysqlFollowOptionsOf(p)); },
  async catchUp(p, budgetMs) { return catchUpMysql(await mysqlFollowOptionsOf(p), budgetMs); },
  async promote(p) { await promoteMysql(await mysqlFollowOptionsOf(p)); },
});
