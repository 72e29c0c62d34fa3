/**
 * The PostgreSQL engine behind the engine contract (lib/core/engine.ts): a store is one database on a
 * server, reached by `store.source` (a postgres:// URL) and moved to the server at `targetUrl`. Every
 * phase delegates to the engine's own modules; this file maps a store and its params onto them and keeps
 * the markers that make a finished phase a no-op when it runs again. With the target up (the playbooks
 * start the stack's data services before the export) and its database not there yet, the export streams
 * into it (stream.ts) and the import does only what is left; else a plain export, the log line and the
 * export's summary (`streamed`, `stream`) saying which and why.
 */
import { readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { defineEngine, type EngineParams } from '../../core/engine.ts';
import { freeBytes } from '../../util/free-bytes.ts';
import { FerryError } from '../../core/errors.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { parseUrl } from '../store-url.ts';
import { connectPg, oneLine, qi, withDatabase, type PgTarget } from './connect.ts';
import { parsePostgresOptions, type PostgresOptions, type PostgresStore } from './options.ts';
import { gatherSourceFacts, gatherTargetFacts, type PostgresFacts } from './facts.ts';
import { assessPostgres } from './assess.ts';
import { sourceFingerprint } from './fingerprint.ts';
import { exportPostgres } from './export.ts';
import { CREATED_ROLES, importPostgres, IMPORT_LOG, readCreatedRoles } from './import.ts';
import { verifyPostgres } from './verify.ts';
import { MANIFEST_FILE, readManifest, type Manifest } from './manifest.ts';
import { streamDecision, streamPostgres } from './stream.ts';
import { freezePostgres, samplePostgres, thawPostgres } from './freeze.ts';
import { abortPostgresFollow, catchUpPostgres, exportForFollow, followPostgres, postgresFollowOptionsOf, postgresFollowStatus, promotePostgres } from './follow.ts';
import { readPgFollowRecord } from './replication-record.ts';
import { verifyPostgresPinned } from './follow-pinned.ts';
import { choosePgDump } from './schema-dump.ts';
import { describeReplaced, reversePostgres } from './reverse.ts';
import { dropCreatedRoles } from './roles.ts';

type P = EngineParams<PostgresOptions>;

const SIDECAR = 'source-state.json';

/** `postgres://user:pw@host:port/db` → PgTarget; the password is registered with the redactor first. */
function endpointOf(raw: string, field: string, p: P, database?: string): PgTarget {
  const url = parseUrl(raw, field, ['postgres:', 'postgresql:'], p.redactor);
  const db = database ?? decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!db) throw new FerryError('E_CONFIG', `${field} names no database`, { hint: 'write it as postgres://user:password@host:5432/<database>' });
  return Object.freeze({
    host: url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1', port: url.port ? Number(url.port) : 5432,
    user: decodeURIComponent(url.username) || 'postgres', password: decodeURIComponent(url.password), database: db,
  });
}

const sourceOf = (p: P) => endpointOf(p.store.source, `stores[${p.store.id}].source`, p);

function targetOf(p: P): PgTarget {
  if (!p.targetUrl) {
    throw new FerryError('E_CONFIG', `store ${p.store.id}: no target PostgreSQL to reach yet`, {
      hint: `start the store's service (${p.store.target.service}) with its migration port first (the data services step)`,
    });
  }
  const own = decodeURIComponent(new URL(p.targetUrl).pathname.replace(/^\//, ''));
  return endpointOf(p.targetUrl, `stores[${p.store.id}].target`, p, p.store.options.targetDatabase ?? (own || sourceOf(p).database));
}

/** The target to stream the export into, or why not (no target yet, not reachable, its database already there). */
async function streamTarget(p: P): Promise<{ target: PgTarget; adopt: boolean } | { why: string }> {
  if (!p.targetUrl) return { why: 'no target to stream into yet (its data service is not up)' };
  const target = targetOf(p);
  try {
    const d = await streamDecision(target, p.stateDir);
    return 'why' in d ? d : { target, adopt: d.adopt };
  } catch (err) {
    return { why: `the target ${target.host}:${target.port} is not reachable (${p.redactor.redact(oneLine(err))})` };
  }
}

const readJson = <T>(path: string): Promise<T | undefined> => readFile(path, 'utf8').then((t) => JSON.parse(t) as T, () => undefined);

export const postgresEngine = defineEngine<PostgresOptions, PostgresFacts>({
  kind: 'postgres',
  phases: ['facts', 'assess', 'sourceState', 'export', 'import', 'verify', 'freeze', 'thaw', 'reverse', 'follow', 'catchUp', 'promote'],
  parseOptions: parsePostgresOptions,

  async facts(p) {
    const s = sourceOf(p);
    const source = await gatherSourceFacts(s);
    const target = p.targetUrl ? await gatherTargetFacts(targetOf(p)) : undefined;
    const dir = dirname(p.artifactDir);
    // The export's pg_dump is chosen now, so a source no pg_dump here can dump stops preflight, not the export.
    const pgDump = await choosePgDump(source.server.major, s, p.store.options.pgDump ? { override: p.store.options.pgDump } : {})
      .then((t) => ({ label: t.label }), (e: unknown) => {
        if (!(e instanceof FerryError) || e.code !== 'E_PG_DUMP_VERSION') throw e;
        return { refused: e.message, hint: e.hint };
      });
    return { source, target, disk: { dir, freeBytes: await freeBytes(dir) }, pgDump };
  },

  assess(facts, store: PostgresStore) {
    return assessPostgres(facts, store.options);
  },

  sourceState: (p) => sourceFingerprint(sourceOf(p)),

  /** `sourceState`: this engine's `sourceState(p)` as the caller just read it, so the source is not read twice. */
  async exported(p, sourceState) {
    // Following: the export made in the slot's snapshot stays the one to import while the source moves on.
    if (p.store.options.followFrom && (await readPgFollowRecord(join(p.stateDir, 'follow')))?.state === 'exported') return !!(await readJson(join(p.artifactDir, SIDECAR)));
    const side = await readJson<{ sourceState: string }>(join(p.artifactDir, SIDECAR));
    return !!side && side.sourceState === (sourceState ?? await sourceFingerprint(sourceOf(p)));
  },

  async export(p) {
    const s = sourceOf(p);
    const sourceState = await sourceFingerprint(s);
    await rm(join(p.artifactDir, SIDECAR), { force: true });
    const o = {
      source: s, dir: p.artifactDir, parallelism: p.store.options.parallelism, chunkBytes: p.store.options.chunkBytes, progress: p.progress, signal: p.signal,
      ...(p.store.options.pgDump ? { pgDump: p.store.options.pgDump } : {}),
    };
    const run = (snapshot: string | undefined) => exportPostgres({ ...o, ...(snapshot ? { snapshot } : {}) });
    // With the target up and its database not there yet, the export streams into it (stream.ts).
    const into = p.store.options.followFrom ? { why: 'following: the import loads the export taken in the replication slot\'s snapshot' } : await streamTarget(p);
    let m: Manifest;
    let streamed = 0;
    let stream: string;
    if ('target' in into) {
      const r = await streamPostgres({ ...o, target: into.target, stateDir: p.stateDir, adopt: into.adopt });
      m = r.manifest;
      streamed = r.streamedChunks;
      stream = `streamed ${streamed} of ${m.totals.chunks} chunks into ${into.target.host}:${into.target.port}/${into.target.database} while exporting (the import does the rest)`;
    } else {
      m = p.store.options.followFrom ? (await exportForFollow(postgresFollowOptionsOf(p, { source: s }), run)).manifest : await run(undefined);
      stream = `plain export: ${into.why}`;
    }
    p.log.info(`${p.store.id}: ${stream}`);
    if (!m.roles.hashes) p.log.warn(`${p.store.id}: ${s.user} is not a superuser: roles ${m.roles.names.join(', ')} are carried without passwords`);
    await writeFileAtomic(join(p.artifactDir, SIDECAR), JSON.stringify({ sourceState, manifest: m.createdAt }));
    return {
      manifest: join(p.artifactDir, MANIFEST_FILE),
      data: { rows: m.totals.rows, bytes: m.totals.bytes, chunks: m.totals.chunks, tables: m.tables.length, server: m.server.version, snapshot: m.snapshot.id, pgDump: m.pgDump, sourceState, streamed, stream },
    };
  },

  async import(p) {
    const r = await importPostgres({
      target: targetOf(p), dir: p.artifactDir, stateDir: p.stateDir, parallelism: p.store.options.parallelism, replace: p.store.options.replace,
      progress: p.progress, signal: p.signal,
    });
    p.log.info(`${p.store.id}: ${r.chunksLoaded} chunks loaded, ${r.chunksSkipped} already there, ${r.seconds.toFixed(1)} s`);
    return { data: { ...r } };
  },

  // The database, then the roles ferry created for it that no other database uses (never one that was there before).
  async clearTarget(p) {
    const t = targetOf(p);
    await rm(join(p.stateDir, IMPORT_LOG), { force: true });
    const c = await connectPg(withDatabase(t, 'postgres'));
    try {
      p.log.warn(`${p.store.id}: dropping database ${t.database} on the target ${t.host}:${t.port}`);
      await c.query(`DROP DATABASE IF EXISTS ${qi(t.database)} WITH (FORCE)`);
      const r = await dropCreatedRoles(c, await readCreatedRoles(p.stateDir));
      if (r.dropped.length) p.log.info(`${p.store.id}: roles ferry created dropped: ${r.dropped.join(', ')}`);
      for (const k of r.kept) p.log.warn(`${p.store.id}: role ${k.name} kept (another database uses it): ${k.why}`);
      await (r.kept.length ? writeFileAtomic(join(p.stateDir, CREATED_ROLES), r.kept.map((k) => `${k.name}\n`).join('')) : rm(join(p.stateDir, CREATED_ROLES), { force: true }));
    } finally {
      await c.end();
    }
  },

  async verify(p) {
    await readManifest(p.artifactDir);
    // The source (when reachable) settles a chunk the target holds past the export: it followed the source.
    const source = (() => { try { return sourceOf(p); } catch { return undefined; } })();
    const r = await verifyPostgres({ target: targetOf(p), dir: p.artifactDir, parallelism: p.store.options.parallelism, signal: p.signal, ...(source ? { source } : {}) });
    return { ...r, entries: r.entries.map((e) => ({ ...e, ...(e.findings ? { findings: e.findings.map((x) => p.redactor.redact(x)) } : {}) })) };
  },

  async freeze(p) {
    const s = sourceOf(p);
    const r = await freezePostgres(s, p.stateDir);
    p.log.info(`${p.store.id}: ${s.host}:${s.port}/${s.database} read-only by default, ${r.ended} session(s) ended`);
    return r;
  },

  async thaw(p, record) {
    const s = sourceOf(p);
    if (await thawPostgres(s, p.stateDir, record)) p.log.info(`${p.store.id}: ${s.host}:${s.port}/${s.database} writable as before the freeze`);
  },

  quietSample: (p) => samplePostgres(sourceOf(p)),

  async reverse(p) {
    const s = sourceOf(p);
    const forward = await readManifest(p.artifactDir).then((m) => m.createdAt, () => 'none');
    const r = await reversePostgres({
      from: targetOf(p), to: s, stateDir: join(p.stateDir, 'reverse'), forwardId: forward,
      parallelism: p.store.options.parallelism, chunkBytes: p.store.options.chunkBytes, progress: p.progress, signal: p.signal,
      ...(p.store.options.pgDump ? { pgDump: p.store.options.pgDump } : {}),
    });
    p.log.info(`${p.store.id}: ${describeReplaced(r.replaced, s.database)} replaced by the stack's data (${r.exportedRows} rows in ${r.tables} tables, verified); `
      + `the migration's export in ${p.artifactDir} stays as the backup of the host before the migration`);
    const { replaced, ...rest } = r;
    return { data: { ...rest, replaced: replaced ? { database: replaced.database, server: replaced.server, owner: replaced.owner, tables: replaced.tables, estimatedRows: replaced.estimatedRows, bytes: replaced.bytes } : null, backup: p.artifactDir } };
  },

  async follow(p) { return followPostgres(postgresFollowOptionsOf(p, { source: sourceOf(p), target: targetOf(p) })); },
  async catchUp(p, budgetMs) { return catchUpPostgres(postgresFollowOptionsOf(p, { source: sourceOf(p), target: targetOf(p) }, await readManifest(p.artifactDir)), budgetMs); },
  async promote(p) { await promotePostgres(postgresFollowOptionsOf(p, { source: sourceOf(p), target: targetOf(p) }, await readManifest(p.artifactDir))); },
  // The target may not exist yet (abort before the stack is up): the source side is cleaned either way.
  async abortFollow(p) { await abortPostgresFollow(postgresFollowOptionsOf(p, { source: sourceOf(p), ...(p.targetUrl ? { target: targetOf(p) } : {}) })); },
  async followStatus(p) { return postgresFollowStatus(postgresFollowOptionsOf(p, { source: sourceOf(p), ...(p.targetUrl ? { target: targetOf(p) } : {}) })); },
  async verifyPinned(p) {
    const r = await verifyPostgresPinned(postgresFollowOptionsOf(p, { source: sourceOf(p), target: targetOf(p) }), { dir: p.artifactDir, parallelism: p.store.options.parallelism });
    return { ...r, entries: r.entries.map((e) => ({ ...e, ...(e.findings ? { findings: e.findings.map((x) => p.redactor.redact(x)) } : {}) })) };
  },
});
