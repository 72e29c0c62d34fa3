/**
 * The Redis engine behind the engine contract (lib/core/engine.ts): a store is the logical databases
 * of one server, reached by `store.source` (a redis:// URL) and copied to the server at `targetUrl`
 * by the path the two servers allow (physical RDB placement, DUMP/RESTORE, type-aware rewrite). The
 * export is the source's RDB fetched over replication (the rollback backup, and what the physical
 * path places). This file maps a store onto the engine's modules and keeps the per-store markers.
 */
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { defineEngine, type EngineParams, type ReportEntry, type ServiceControl } from '../../core/engine.ts';
import { FerryError } from '../../core/errors.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { describeEndpoint } from './connect.ts';
import { redisEndpointFromUrl, type RedisEndpoint } from './endpoint.ts';
import { parseRedisOptions, type RedisOptions, type RedisStore } from './options.ts';
import { gatherRedisFacts, gatherRedisTargetFacts, type RedisFacts } from './facts.ts';
import { assessRedis, DEFAULT_REDIS_TARGET, type RedisTargetFacts } from './assess.ts';
import { redisSourceState } from './source-state.ts';
import { fetchRdb } from './rdb-fetch.ts';
import { importRedis } from './import.ts';
import { removeRdb } from './physical.ts';
import { verifyCopy } from './verify.ts';
import { checkApp } from './app-checks.ts';
import { freezeRedis, thawRedis, withRedis, sampleRedis, readRedisFreeze, unpauseRedis } from './freeze.ts';
import { reverseRedis } from './reverse.ts';
import { catchUpRedis, followRedis, promoteRedis, redisFollowOptionsOf } from './follow.ts';

type P = EngineParams<RedisOptions>;

export interface RedisEngineFacts {
  readonly source: RedisFacts;
  /** Read from the running target when `targetUrl` is known, else what a fresh Redis 7 service is. */
  readonly target: RedisTargetFacts;
}

const RDB = 'source.rdb';
const DONE = 'import.json';
const PROGRESS = 'copy-progress.json';

interface Sidecar { readonly sha256: string; readonly bytes: number; readonly sourceState: string }
/** `<stateDir>/import.json`: which export went into which target, written before the copy and completed after it. */
interface Done {
  readonly export: string;
  readonly target: string;
  readonly finished: boolean;
  readonly path?: string;
  readonly reason?: string;
  readonly keys?: number;
  readonly expired?: number;
}

const sourceOf = (p: P): RedisEndpoint =>
  redisEndpointFromUrl(p.store.source, { field: `stores[${p.store.id}].source`, redactor: p.redactor, databases: p.store.options.databases });

function targetOf(p: P): RedisEndpoint {
  if (!p.targetUrl) {
    throw new FerryError('E_CONFIG', `store ${p.store.id}: no target Redis to reach yet`, {
      hint: `start the store's service (${p.store.target.service}) with its migration port first (the data services step)`,
    });
  }
  return redisEndpointFromUrl(p.targetUrl, { field: `stores[${p.store.id}].target`, redactor: p.redactor });
}

/** The physical path needs the service's data directory; without one the copy is logical. */
function placeable(p: P): ServiceControl | undefined {
  const s = p.service;
  return s?.dataDir ? { dataDir: s.dataDir, stop: () => s.stop(), start: () => s.start() } : undefined;
}

const readJson = <T>(path: string): Promise<T | undefined> => readFile(path, 'utf8').then((t) => JSON.parse(t) as T, () => undefined);

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

/** Per-db entries from the key-by-key verify, and one for the app's own checks (sessions, RQ). */
function entriesOf(keys: Awaited<ReturnType<typeof verifyCopy>>, app: Awaited<ReturnType<typeof checkApp>>, redact: (s: string) => string): ReportEntry[] {
  const entries: ReportEntry[] = [];
  const dbs = Object.keys(keys.dbs).map(Number).sort((a, b) => a - b);
  for (const db of dbs) {
    const d = keys.dbs[db]!;
    const mine = keys.findings.filter((f) => f.startsWith(`db ${db} `) || f.startsWith(`db ${db}:`)).map(redact);
    entries.push({
      subject: `db ${db}`, ok: mine.length === 0,
      counts: { keys: d.compared, sourceKeys: d.sourceKeys, targetKeys: d.targetKeys, expiredDuringWindow: d.expiredDuringWindow },
      ...(mine.length ? { findings: mine } : {}),
    });
  }
  const rest = keys.findings.filter((f) => !/^db \d+[ :]/.test(f)).map(redact);
  if (rest.length) entries.push({ subject: 'keys', ok: false, findings: rest });
  const counts: Record<string, number> = {};
  for (const [name, c] of Object.entries(app.categories)) { counts[name] = c.target; counts[`${name}Source`] = c.source; counts[`${name}Differing`] = c.differing; }
  entries.push({ subject: 'app (sessions, queues)', ok: app.ok, counts, ...(app.findings.length ? { findings: app.findings.map(redact) } : {}) });
  return entries;
}

/** Remove what ferry wrote into the target (flush the databases it copied, or all after a physical placement) and its import state. */
async function clearWritten(p: P): Promise<void> {
  const done = await readJson<Done>(join(p.stateDir, DONE));
  const state = await readJson<{ mode?: string; dbs?: Record<string, unknown> }>(join(p.stateDir, PROGRESS));
  const physical = done?.path === 'physical' || state?.mode === 'physical';
  if (!state && !physical && !done?.finished) {
    // Nothing written by ferry yet (or already cleared): only the markers go.
    await rm(join(p.stateDir, DONE), { force: true });
    return;
  }
  if (p.store.options.replace) {
    p.log.warn(`${p.store.id}: the target held keys before the import (replace): left as it is, not flushed`);
  } else {
    const service = placeable(p);
    if (physical && service) await removeRdb(service);
    await withRedis(targetOf(p), async (t) => {
      // Only the databases ferry wrote (the physical path replaced the whole dataset).
      if (physical || !state) await t.flushall();
      else for (const db of Object.keys(state.dbs ?? {}).map(Number)) { await t.select(db); await t.flushdb(); }
    }, { name: 'ferry-clear' });
  }
  await rm(join(p.stateDir, PROGRESS), { force: true });
  await rm(join(p.stateDir, DONE), { force: true });
}

export const redisEngine = defineEngine<RedisOptions, RedisEngineFacts>({
  kind: 'redis',
  phases: ['facts', 'assess', 'sourceState', 'export', 'import', 'verify', 'freeze', 'thaw', 'reverse', 'follow', 'catchUp', 'promote'],
  parseOptions: parseRedisOptions,

  async facts(p) {
    const source = await gatherRedisFacts(sourceOf(p), p.signal);
    const target = p.targetUrl ? await gatherRedisTargetFacts(targetOf(p)) : DEFAULT_REDIS_TARGET;
    return { source, target };
  },

  assess(facts, store: RedisStore) {
    return assessRedis(facts.source, facts.target, { path: store.options.path });
  },

  sourceState: (p) => redisSourceState(sourceOf(p)),

  async exported(p) {
    const rdb = join(p.artifactDir, RDB);
    const side = await readJson<Sidecar>(`${rdb}.json`);
    if (!side || !(await stat(rdb).catch(() => null))) return false;
    return side.sourceState === (await redisSourceState(sourceOf(p))) && side.sha256 === (await sha256File(rdb));
  },

  async export(p) {
    const s = sourceOf(p);
    const sourceState = await redisSourceState(s);
    const path = join(p.artifactDir, RDB);
    p.log.info(`${p.store.id}: fetching the RDB of ${describeEndpoint(s)} over replication`);
    const rdb = await fetchRdb(s, path, p.signal);
    await writeFileAtomic(`${path}.json`, JSON.stringify({ sha256: rdb.sha256, bytes: rdb.bytes, sourceState } satisfies Sidecar));
    p.progress.update({ unit: 'bytes', done: rdb.bytes, total: rdb.bytes, label: RDB });
    return { manifest: path, data: { rdb: path, bytes: rdb.bytes, sha256: rdb.sha256, sourceState } };
  },

  async import(p) {
    const rdb = join(p.artifactDir, RDB);
    const side = await readJson<Sidecar>(`${rdb}.json`);
    const target = targetOf(p);
    const want = { export: side?.sha256 ?? 'no export', target: `${target.host}:${target.port}` };
    const prev = await readJson<Done>(join(p.stateDir, DONE));
    const same = prev?.export === want.export && prev.target === want.target;
    if (prev?.finished && same) {
      p.log.info(`${p.store.id}: already imported by the ${prev.path} path (${prev.keys} keys)`);
      return { data: { ...prev, alreadyImported: true } };
    }
    // What ferry copied for an earlier export (or half-copied) goes first: keys deleted on the source since must not stay.
    if (prev && !same) {
      p.log.info(`${p.store.id}: the target holds an earlier export's copy: cleared before this one`);
      await clearWritten(p);
    }
    await writeFileAtomic(join(p.stateDir, DONE), JSON.stringify({ ...want, finished: false } satisfies Done));
    const service = placeable(p);
    const hasRdb = (await stat(rdb).catch(() => null)) !== null;
    const source = sourceOf(p);
    // The rewrite path reads the source with EVAL, which CLIENT PAUSE WRITE blocks: a frozen store's
    // pause is lowered for the copy (its writers stay stopped) and set again afterwards, record kept in step.
    const frozen = await readRedisFreeze(p.stateDir);
    if (frozen) {
      await withRedis(source, unpauseRedis);
      p.log.warn(`${p.store.id}: write pause lowered for the copy (the writers stay stopped)`);
    }
    const r = await importRedis({
      source, target, path: p.store.options.path, replace: p.store.options.replace, stateFile: join(p.stateDir, PROGRESS),
      ...(service && hasRdb ? { service, rdbPath: rdb } : {}), signal: p.signal,
      onProgress: (d) => p.progress.update({ unit: 'keys', done: d.keys, bytes: d.bytes, label: `db ${d.db}` }),
    }).finally(async () => {
      if (frozen) await freezeRedis(source, p.stateDir, p.store.options.pauseMs);
    });
    p.log.info(`${p.store.id}: ${r.decision.path} path (${r.decision.reason}): ${r.keys} keys, ${r.expired} expired during the copy`);
    const record: Done = { ...want, finished: true, path: r.decision.path, reason: r.decision.reason, keys: r.keys, expired: r.expired };
    await writeFileAtomic(join(p.stateDir, DONE), JSON.stringify(record));
    return { data: { ...record, bytes: r.bytes, alreadyImported: false } };
  },

  clearTarget: clearWritten,

  async verify(p) {
    const started = performance.now();
    const source = sourceOf(p);
    const target = targetOf(p);
    const o = p.store.options;
    const keys = await verifyCopy({ source, target, databases: source.databases, ttlToleranceMs: o.ttlToleranceMs });
    const app = await checkApp({ source, target, databases: source.databases, sessionPrefix: o.sessionPrefix, ttlToleranceMs: o.ttlToleranceMs });
    return { ok: keys.ok && app.ok, entries: entriesOf(keys, app, (s) => p.redactor.redact(s)), seconds: (performance.now() - started) / 1000 };
  },

  async freeze(p) {
    const s = sourceOf(p);
    const record = await freezeRedis(s, p.stateDir, p.store.options.pauseMs);
    p.log.info(`${p.store.id}: ${describeEndpoint(s)} writes paused until ${new Date(record.pausedUntil).toISOString()}`);
    return record;
  },

  async thaw(p, record) {
    const s = sourceOf(p);
    if (await thawRedis(s, p.stateDir, record)) p.log.info(`${p.store.id}: ${describeEndpoint(s)} writes unpaused`);
  },

  async quietSample(p) {
    return withRedis(sourceOf(p), sampleRedis);
  },

  async reverse(p) {
    const s = sourceOf(p);
    const r = await reverseRedis({
      from: targetOf(p), to: s, databases: s.databases, path: p.store.options.path, stateFile: join(p.stateDir, 'reverse', PROGRESS), signal: p.signal,
      onProgress: (d) => p.progress.update({ unit: 'keys', done: d.keys, bytes: d.bytes, label: `db ${d.db}` }),
    });
    p.log.info(`${p.store.id}: ${r.keys} keys of the stack copied back to ${describeEndpoint(s)} (${r.path} path), ${r.pruned} deleted there that the stack no longer has`);
    return { data: { keys: r.keys, bytes: r.bytes, expired: r.expired, path: r.path, pruned: r.pruned } };
  },

  async follow(p) { return followRedis(redisFollowOptionsOf(p)); },
  async catchUp(p, budgetMs) { return catchUpRedis(redisFollowOptionsOf(p), budgetMs); },
  async promote(p) { await promoteRedis(redisFollowOptionsOf(p)); },
});
