/**
 * The stack's PostgreSQL follows the live source by logical replication, so the write freeze only waits
 * for the last seconds of changes. `exportForFollow` creates the replication role, a publication and a
 * logical slot FIRST, with an exported snapshot, and runs the export in that snapshot (the replication
 * connection stays open meanwhile); after the import `followPostgres` subscribes the target from that
 * slot without re-copying; `catchUpPostgres` (source frozen) waits until the target confirmed the source's
 * last LSN, refusing DDL made since the export; `promotePostgres` sets sequences and removes the
 * subscription, slot, publication and role. `abortPostgresFollow` removes everything from the source.
 * Each change is recorded before it is made (replication-record.ts); every call is safe to repeat.
 */
import { join } from 'node:path';
import pg from 'pg';
import type { EngineParams, FollowStatus, SecretSink } from '../../core/engine.ts';
import { FerryError } from '../../core/errors.ts';
import { silentLogger, type Logger } from '../../core/logger.ts';
import { systemClock, type Clock } from '../../util/wait.ts';
import { sourceFromTarget, type SourceFromTarget } from '../follow-from.ts';
import { connectPg, describeConnectError, isPrivilegeError, oneLine, qi, qn, type PgTarget } from './connect.ts';
import { describeSchema, diffFacts } from './describe.ts';
import type { Manifest } from './manifest.ts';
import { assessPgFollow, readReplicationFacts } from './replication-prereq.ts';
import { forgetPassword, readPgFollowRecord, replicationPassword, writePgFollowRecord, type PgFollowRecord } from './replication-record.ts';
import { openBoth } from '../../util/open-both.ts';
import {
  alterRolePasswordStatement, createPublicationStatement, createRoleStatement, createSlotCommand, createSubscriptionStatement,
  dropSubscriptionStatements, replicationNames, setvalStatement,
} from './replication-sql.ts';

export interface PgFollowOptions {
  /** Names the slot, publication, subscription and role (`ferry_<hash>`). */
  readonly storeId: string;
  /** How ferry reaches the source (the host's server). */
  readonly source: PgTarget;
  /** How ferry reaches the target (the stack's server on its 127.0.0.1 port, the imported database). */
  readonly target?: PgTarget;
  /** The source as the target container reaches it; default: a loopback source is `host.docker.internal`. */
  readonly from?: { readonly host?: string; readonly port?: number };
  /** The store's follow state dir: the record and the 0600 password file. */
  readonly stateDir: string;
  /** The schema facts of the export (manifest.facts): DDL since then is refused at catch-up. */
  readonly schemaFacts?: readonly string[];
  /** Large objects of the export (manifest.largeObjects oids): replication carries none, so a new or removed one is refused. */
  readonly largeObjects?: readonly number[];
  /** Materialized views to refresh on the target after the cutover (replication does not carry them). */
  readonly matviews?: ReadonlyArray<{ readonly schema: string; readonly name: string }>;
  readonly redactor?: SecretSink;
  readonly log?: Logger;
  readonly signal?: AbortSignal;
  readonly clock?: Clock;
  /** How long the target may take to connect to the source and start applying. Default 30 s. */
  readonly connectTimeoutMs?: number;
}

const at = (t: PgTarget) => `${t.host}:${t.port}`;

/** The source as the stack's container reaches it (follow-from.ts: a loopback source is host.docker.internal). */
export function fromTarget(o: Pick<PgFollowOptions, 'source' | 'from'>): SourceFromTarget {
  return sourceFromTarget(o.source, o.from);
}

/** A source session that may write ferry's own objects even under the freeze (a per-database default). */
async function sourceSession(o: PgFollowOptions): Promise<pg.Client> {
  o.redactor?.add(o.source.password);
  const c = await connectPg(o.source, { applicationName: 'ferry follow admin' });
  await c.query('SET default_transaction_read_only = off');
  return c;
}

async function targetSession(o: PgFollowOptions): Promise<pg.Client> {
  if (!o.target) throw new FerryError('E_CONFIG', `store ${o.storeId}: no target PostgreSQL to follow into yet`, { hint: 'start the store\'s service with its migration port first' });
  o.redactor?.add(o.target.password);
  return connectPg(o.target, { applicationName: 'ferry follow admin' });
}

async function using<T>(open: Promise<pg.Client>, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = await open;
  try { return await fn(c); } finally { await c.end().catch(() => undefined); }
}

const exists = async (c: pg.Client, sql: string, args: unknown[]): Promise<boolean> => ((await c.query(sql, args)).rowCount ?? 0) > 0;

export interface FollowExport {
  readonly manifest: Manifest;
  /** False: the store is copied inside the freeze (`reason` says why). */
  readonly following: boolean;
  readonly reason?: string;
}

/**
 * Prepare following and export in the slot's snapshot (`run(snapshot)` is the export). A source that cannot
 * be followed is exported as usual (`run(undefined)`) and recorded as `freeze-copy` with the reason.
 */
export async function exportForFollow(o: PgFollowOptions, run: (snapshot: string | undefined) => Promise<Manifest>): Promise<FollowExport> {
  const log = o.log ?? silentLogger;
  const names = replicationNames(o.storeId);
  let rec = await readPgFollowRecord(o.stateDir);
  if (rec && ['subscribing', 'following', 'promoting', 'aborting'].includes(rec.state)) {
    throw new FerryError('E_PG_FOLLOW_ACTIVE', `store ${o.storeId}: the target already follows ${at(o.source)} (${rec.state}); a new export would not match it`, {
      hint: 'promote or abort the follow first, then export again',
    });
  }
  if (rec?.state === 'promoted' || rec?.state === 'aborted') rec = undefined;
  const src = await sourceSession(o);
  try {
    const facts = await readReplicationFacts(src, at(o.source));
    const ownSlot = await exists(src, 'SELECT FROM pg_replication_slots WHERE slot_name = $1', [names.slot]);
    const blockers = assessPgFollow(facts, undefined, ownSlot);
    if (blockers.length) {
      const reason = blockers.map((b) => `${b.message} (${b.hint})`).join('; ');
      if (rec) await removeFromSource(src, rec, log);
      await writePgFollowRecord(o.stateDir, { state: 'freeze-copy', names, from: fromTarget(o), source: { endpoint: at(o.source), database: o.source.database }, reason, created: {} });
      log.warn(`${o.storeId}: cannot follow ${at(o.source)}, the copy runs inside the freeze: ${blockers[0]!.message}`);
      return { manifest: await run(undefined), following: false, reason };
    }
    rec = await writePgFollowRecord(o.stateDir, {
      state: 'preparing', names, from: rec?.from ?? fromTarget(o), source: { endpoint: at(o.source), database: o.source.database }, created: { ...rec?.created, role: true, publication: true },
    });
    const password = await replicationPassword(o.stateDir, o.redactor);
    try {
      const hasRole = await exists(src, 'SELECT FROM pg_roles WHERE rolname = $1', [names.role]);
      await src.query(hasRole ? alterRolePasswordStatement(names.role, password) : createRoleStatement(names.role, password));
      if (!(await exists(src, 'SELECT FROM pg_publication WHERE pubname = $1', [names.publication]))) {
        await src.query(createPublicationStatement(names.publication, facts.superuser ? 'all' : await publishedTables(src)));
      }
    } catch (e) {
      if (isPrivilegeError(e)) {
        throw new FerryError('E_PG_PRIVILEGE', `${o.source.user} may not create the replication role or publication on ${at(o.source)}: ${oneLine(e)}`, {
          hint: `as a superuser run: ALTER ROLE ${qi(o.source.user)} REPLICATION CREATEROLE; and make ${o.source.user} own the tables (or follow as a superuser)`, cause: e,
        });
      }
      throw e;
    }
    // A slot left by a killed export has lost its snapshot: nothing consumed it yet, so it is made again.
    if (ownSlot) await dropSlot(src, names.slot);
    rec = await writePgFollowRecord(o.stateDir, { ...rec, state: 'exporting', created: { ...rec.created, slot: true } });
    const repl = new pg.Client({
      host: o.source.host, port: o.source.port, user: o.source.user, password: o.source.password, database: o.source.database,
      application_name: 'ferry follow slot', connectionTimeoutMillis: 15_000, replication: 'database',
    } as pg.ClientConfig);
    repl.on('error', () => undefined);
    try {
      await repl.connect();
    } catch (e) {
      throw describeConnectError(e, o.source);
    }
    try {
      const r = await repl.query<{ consistent_point: string; snapshot_name: string }>(createSlotCommand(names.slot, facts.major));
      const { consistent_point: consistentPoint, snapshot_name: snapshot } = r.rows[0]!;
      rec = await writePgFollowRecord(o.stateDir, { ...rec, consistentPoint });
      log.info(`${o.storeId}: slot ${names.slot} at ${consistentPoint}; exporting in its snapshot`);
      // The snapshot lives while this connection runs no other command: the export adopts it meanwhile.
      const manifest = await run(snapshot);
      await writePgFollowRecord(o.stateDir, { ...rec, state: 'exported' });
      return { manifest, following: true };
    } finally {
      await repl.end().catch(() => undefined);
    }
  } finally {
    await src.end().catch(() => undefined);
  }
}

/** Plain and partitioned root tables of the user's schemas, quoted (a non-superuser's publication lists them). */
async function publishedTables(c: pg.Client): Promise<string[]> {
  const r = await c.query<{ t: string }>(`SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)' ORDER BY 1`);
  return r.rows.map((x) => x.t);
}

/** Drop the slot, ending the WAL sender that holds it first (a subscription on an unreachable target). */
async function dropSlot(src: pg.Client, slot: string): Promise<void> {
  for (let i = 0; ; i++) {
    const r = await src.query<{ pid: number | null }>('SELECT active_pid AS pid FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    if (!r.rows.length) return;
    if (r.rows[0]!.pid) await src.query('SELECT pg_terminate_backend($1)', [r.rows[0]!.pid]);
    try {
      await src.query('SELECT pg_drop_replication_slot($1)', [slot]);
      return;
    } catch (e) {
      if (i >= 50 || (e as { code?: string }).code !== '55006') throw e; // 55006: still active, the sender is exiting
      await new Promise((res) => setTimeout(res, 100));
    }
  }
}

/** Remove what the record says follow created on the source (each step safe when already gone). */
async function removeFromSource(src: pg.Client, rec: PgFollowRecord, log: Logger): Promise<void> {
  if (rec.created.slot) await dropSlot(src, rec.names.slot);
  if (rec.created.publication) await src.query(`DROP PUBLICATION IF EXISTS ${qi(rec.names.publication)}`);
  if (rec.created.role) {
    await src.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, [rec.names.role]);
    await src.query(`DROP ROLE IF EXISTS ${qi(rec.names.role)}`);
  }
  log.info(`removed slot, publication and role ${rec.names.role} from ${rec.source.endpoint}`);
}

/** Subscribe the target from the slot (after the import); returns once its apply worker streams from the source. */
export async function followPostgres(o: PgFollowOptions): Promise<FollowStatus> {
  const log = o.log ?? silentLogger;
  let rec = await readPgFollowRecord(o.stateDir);
  if (!rec || rec.state === 'preparing' || rec.state === 'exporting') {
    throw new FerryError('E_PG_FOLLOW_NOT_PREPARED', `store ${o.storeId}: no export made in a replication slot's snapshot${rec ? ` (${rec.state}: the export did not finish)` : ''}`, {
      hint: 'set the store option followFrom and run the export (then the import) again: the slot must exist before the export',
    });
  }
  if (rec.state === 'freeze-copy') return { following: false, lag: 0, unit: 'bytes', detail: `freeze copy: ${rec.reason}` };
  if (rec.state === 'promoted') return { following: false, lag: 0, unit: 'bytes', detail: 'promoted: the target no longer follows the source' };
  if (rec.state === 'aborting' || rec.state === 'aborted') {
    throw new FerryError('E_PG_FOLLOW_ABORTED', `following ${rec.source.endpoint} was aborted (${rec.state})`, {
      hint: `${rec.state === 'aborting' ? 'run the abort again; then ' : ''}export again (a new slot), import with replace, then follow`,
    });
  }
  const names = rec.names;
  const from = rec.from;
  return using(sourceSession(o), async (src) => using(targetSession(o), async (tgt) => {
    if (!(await exists(src, 'SELECT FROM pg_replication_slots WHERE slot_name = $1', [names.slot]))) {
      throw new FerryError('E_PG_FOLLOW_LOST', `the slot ${names.slot} is gone from ${at(o.source)}: the changes since the export cannot be replayed`, {
        hint: 'abort the follow, export again with followFrom, import with replace, then follow',
      });
    }
    rec = await writePgFollowRecord(o.stateDir, { ...rec!, state: 'subscribing', created: { ...rec!.created, subscription: true } });
    const subscription = () => tgt.query<{ enabled: boolean }>('SELECT subenabled AS enabled FROM pg_subscription WHERE subname = $1', [names.subscription]);
    let sub = await subscription();
    let created = false;
    if (!sub.rows.length) {
      const password = await replicationPassword(o.stateDir, o.redactor);
      try {
        await tgt.query(createSubscriptionStatement(names, { host: from.host, port: from.port, database: o.source.database, user: names.role, password }));
        created = true;
      } catch (e) {
        const code = String((e as { code?: string }).code);
        // A killed run's CREATE SUBSCRIPTION, which its server session carried on with after the process died, committed
        // while this one waited on it (23505 on pg_subscription's name) or just before it (42710): it is there now.
        if (code === '23505' || code === '42710') sub = await subscription();
        if (!sub.rows.length) {
          // CREATE SUBSCRIPTION connects to the source from the target's server: its failure is the stack's view of the source.
          if (!code.startsWith('08')) throw e;
          throw unreachable(o, rec, budgetOf(o), o.redactor?.redact(oneLine(e)) ?? oneLine(e), e);
        }
      }
      if (created) log.info(`${o.storeId}: the target subscribes to ${from.host}:${from.port} from slot ${names.slot}`);
    }
    if (!created && !sub.rows[0]!.enabled) {
      await tgt.query(`ALTER SUBSCRIPTION ${qi(names.subscription)} ENABLE`);
    }
    await waitStreaming(o, src, tgt, rec);
    rec = await writePgFollowRecord(o.stateDir, { ...rec, state: 'following' });
    return readStatus(src, tgt, names.slot, names.subscription);
  }));
}

async function waitStreaming(o: PgFollowOptions, src: pg.Client, tgt: pg.Client, rec: PgFollowRecord): Promise<void> {
  const clock = o.clock ?? systemClock;
  const budget = budgetOf(o);
  const started = clock.now();
  for (;;) {
    o.signal?.throwIfAborted();
    const s = await readStatus(src, tgt, rec.names.slot, rec.names.subscription);
    if (s.following) return;
    if (clock.now() - started >= budget) {
      await tgt.query(`ALTER SUBSCRIPTION ${qi(rec.names.subscription)} DISABLE`).catch(() => undefined);
      throw unreachable(o, rec, budget, s.detail);
    }
    await clock.sleep(200, o.signal);
  }
}

const budgetOf = (o: PgFollowOptions) => o.connectTimeoutMs ?? 30_000;

function unreachable(o: PgFollowOptions, rec: PgFollowRecord, budget: number, why: string, cause?: unknown): FerryError {
  return new FerryError('E_PG_FOLLOW_UNREACHABLE', `the target's subscription cannot stream from ${rec.from.host}:${rec.from.port} (the source as seen from the stack) within ${budget}ms: ${why}`, {
    hint: `from the stack's container ${rec.from.host}:${rec.from.port} must resolve and accept connections: make the source listen there (listen_addresses = '*' in postgresql.conf, then restart it), `
      + `allow the role in pg_hba.conf (host ${rec.source.database} ${rec.names.role} <the Docker network> scram-sha-256, then SELECT pg_reload_conf()); `
      + `on Linux the stack reaches the host as host.docker.internal only with extra_hosts "host.docker.internal:host-gateway"; set followFrom when the name differs (it is fixed at the export: abort, then export again); or abort and migrate without following`,
    ...(cause ? { cause } : {}),
  });
}

/** Lag in WAL bytes: the source's current LSN against what the slot says the target confirmed. */
async function readStatus(src: pg.Client, tgt: pg.Client | undefined, slot: string, subscription: string): Promise<FollowStatus & { readonly lsn?: string }> {
  const r = await src.query<{ cur: string; flushed: string | null; lag: string | null; active: boolean }>(`
    SELECT pg_current_wal_lsn()::text AS cur, s.confirmed_flush_lsn::text AS flushed, pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn)::text AS lag, s.active
    FROM pg_replication_slots s WHERE s.slot_name = $1`, [slot]);
  const s = r.rows[0];
  if (!s) return { following: false, lag: 0, unit: 'bytes', detail: `no slot ${slot} on the source` };
  let worker = 'target not checked';
  let running = true;
  if (tgt) {
    const w = await tgt.query<{ pid: number | null; latest: string | null }>(`SELECT st.pid, st.latest_end_lsn::text AS latest FROM pg_stat_subscription st WHERE st.subname = $1 AND st.relid IS NULL`, [subscription]);
    running = !!w.rows[0]?.pid;
    worker = running ? `apply worker running, latest end ${w.rows[0]!.latest ?? '-'}` : 'no apply worker on the target';
  }
  const lag = Math.max(0, Number(s.lag ?? Number.MAX_SAFE_INTEGER));
  return {
    following: s.active && running, lag, unit: 'bytes', lsn: s.cur,
    detail: `confirmed ${s.flushed ?? '-'} of ${s.cur}, ${lag} bytes behind (slot ${s.active ? 'active' : 'inactive'}, ${worker})`,
  };
}

/** The current lag without changing anything. */
export async function postgresFollowStatus(o: PgFollowOptions): Promise<FollowStatus> {
  const rec = await readPgFollowRecord(o.stateDir);
  if (!rec || rec.state === 'freeze-copy' || rec.state === 'promoted') return { following: false, lag: 0, unit: 'bytes', detail: rec?.state === 'freeze-copy' ? `freeze copy: ${rec.reason}` : (rec?.state ?? 'not following') };
  return using(sourceSession(o), async (src) => (o.target ? using(targetSession(o), (tgt) => readStatus(src, tgt, rec.names.slot, rec.names.subscription)) : readStatus(src, undefined, rec.names.slot, rec.names.subscription)));
}

/** DDL since the export (logical replication does not carry it): the first differing object, named. */
async function assertSchemaUnchanged(o: PgFollowOptions, src: pg.Client): Promise<void> {
  if (o.largeObjects) {
    const now = (await src.query<{ oid: string }>('SELECT oid::int8::text AS oid FROM pg_largeobject_metadata')).rows.map((r) => Number(r.oid));
    const had = new Set(o.largeObjects);
    const changed = [...now.filter((x) => !had.has(x)).map((x) => `large object ${x} created`), ...o.largeObjects.filter((x) => !now.includes(x)).map((x) => `large object ${x} removed`)];
    if (changed.length) {
      throw new FerryError('E_PG_FOLLOW_DDL', `${at(o.source)}/${o.source.database}: ${changed[0]} during the follow phase (logical replication carries no large objects)`, {
        hint: 'lift the freeze, abort the follow, then export and import again (with replace) and follow, or migrate this store with the copy inside the freeze',
        detail: changed.slice(0, 20).join('\n'),
      });
    }
  }
  if (!o.schemaFacts) return;
  const d = diffFacts(o.schemaFacts, await describeSchema(src));
  if (!d.missing.length && !d.extra.length) return;
  const first = d.extra[0] ?? d.missing[0]!;
  throw new FerryError('E_PG_FOLLOW_DDL', `the schema of ${at(o.source)}/${o.source.database} changed during the follow phase: ${first.split(':')[0]} (${d.missing.length + d.extra.length} catalog facts differ)`, {
    hint: 'logical replication does not carry DDL: lift the freeze, abort the follow, then export and import again (with replace) and follow; or apply the same DDL on the target before the cutover',
    detail: [...d.extra.map((f) => `now on the source: ${f}`), ...d.missing.map((f) => `gone from the source: ${f}`)].slice(0, 20).join('\n'),
  });
}

/**
 * With the source frozen: wait until the target has confirmed the source's current LSN, polling every
 * 25 ms. Over the budget it throws E_FOLLOW_BUDGET and changes nothing (the caller lifts the freeze).
 */
export async function catchUpPostgres(o: PgFollowOptions, budgetMs: number): Promise<FollowStatus> {
  const clock = o.clock ?? systemClock;
  const rec = await readPgFollowRecord(o.stateDir);
  if (rec?.state === 'freeze-copy' || rec?.state === 'promoted') return postgresFollowStatus(o);
  // A promote under way (a killed cutover run again) began with a target that had caught up.
  if (rec?.state === 'promoting') return { following: false, lag: 0, unit: 'bytes', detail: 'promoting: the target had caught up when promote began' };
  if (!rec || (rec.state !== 'following' && rec.state !== 'subscribing')) {
    throw new FerryError('E_PG_FOLLOW_LOST', `store ${o.storeId}: the target does not follow ${at(o.source)} (${rec?.state ?? 'no follow record'})`, { hint: 'run follow first (or re-run it to resume)' });
  }
  // Both sessions opened side by side (each handshake inside the freeze is downtime).
  const [src, tgt] = await openBoth(() => sourceSession(o), () => targetSession(o), { a: (c) => c.end(), b: (c) => c.end() });
  try {
    await assertSchemaUnchanged(o, src);
    const started = clock.now();
    const goal = (await src.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn;
    for (;;) {
      o.signal?.throwIfAborted();
      const reached = await src.query<{ ok: boolean }>('SELECT confirmed_flush_lsn >= $2::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = $1', [rec.names.slot, goal]);
      if (reached.rows[0]?.ok) return { ...(await readStatus(src, tgt, rec.names.slot, rec.names.subscription)), lag: 0 };
      if (clock.now() - started >= budgetMs) {
        const st = await readStatus(src, tgt, rec.names.slot, rec.names.subscription);
        throw new FerryError('E_FOLLOW_BUDGET', `the target did not catch up with ${at(o.source)} (goal ${goal}) within ${budgetMs}ms: ${st.detail}`, {
          hint: 'lift the freeze (the app stays on the host, nothing is lost, the target keeps following) and retry the cutover when the source is quieter, or give catch-up a larger budget',
        });
      }
      await clock.sleep(25, o.signal);
    }
  } finally {
    await Promise.all([tgt.end().catch(() => undefined), src.end().catch(() => undefined)]);
  }
}

export interface PromoteOptions {
  /** Promote even when the target is behind (changes after its position are lost on it). */
  readonly force?: boolean;
}

/** Stop following for good: sequences set from the source, subscription dropped, slot, publication and role removed. */
export async function promotePostgres(o: PgFollowOptions, opts: PromoteOptions = {}): Promise<void> {
  await unfollow(o, 'promote', opts.force ?? false);
}

/** Abort during the follow phase: the subscription dropped (when the target is there), everything on the source removed. */
export async function abortPostgresFollow(o: PgFollowOptions): Promise<void> {
  await unfollow(o, 'abort', true);
}

async function unfollow(o: PgFollowOptions, verb: 'promote' | 'abort', force: boolean): Promise<void> {
  const log = o.log ?? silentLogger;
  const rec = await readPgFollowRecord(o.stateDir);
  const done = verb === 'promote' ? 'promoted' : 'aborted';
  if (!rec || rec.state === done) return;
  if (rec.state === 'freeze-copy') { await writePgFollowRecord(o.stateDir, { ...rec, state: done }); return; }
  if (verb === 'promote' && rec.state !== 'following' && rec.state !== 'promoting') {
    throw new FerryError('E_PG_PROMOTE_STATE', `store ${o.storeId}: cannot promote a follow in state ${rec.state}`, { hint: rec.state === 'aborting' || rec.state === 'aborted' ? 'export, import and follow again' : 'run follow first' });
  }
  // Both sessions opened side by side (inside the freeze each handshake is downtime); an abort goes on
  // without a target it cannot reach, a promote cannot.
  const target = async () => (o.target ? targetSession(o).catch((e: unknown) => { if (verb === 'promote') throw e; log.warn(`target: ${oneLine(e)}`); return undefined; }) : undefined);
  const [src, tgt] = await openBoth(() => sourceSession(o), target, { a: (c) => c.end(), b: (c) => c?.end() });
  try {
    if (verb === 'promote' && !force && rec.state !== 'promoting') {
      const st = await readStatus(src, tgt, rec.names.slot, rec.names.subscription);
      if (st.lag !== 0) throw new FerryError('E_PG_PROMOTE_LAG', `the target is behind the source: ${st.detail}`, { hint: 'freeze the source and run catch-up first; promote only a target that caught up' });
    }
    const next = await writePgFollowRecord(o.stateDir, { ...rec, state: verb === 'promote' ? 'promoting' : 'aborting' });
    if (tgt && verb === 'promote') await setSequences(src, tgt);
    if (tgt && (await exists(tgt, 'SELECT FROM pg_subscription WHERE subname = $1', [rec.names.subscription]))) {
      for (const sql of dropSubscriptionStatements(rec.names.subscription)) await tgt.query(sql);
    }
    await removeFromSource(src, { ...next, created: { role: true, publication: true, slot: true } }, log);
  } finally {
    await Promise.all([tgt?.end().catch(() => undefined), src.end().catch(() => undefined)]);
  }
  await forgetPassword(o.stateDir);
  await writePgFollowRecord(o.stateDir, { ...rec, state: done });
}

/**
 * Materialized views recomputed on the target from the data it now holds (replication carries none). Not part
 * of promote: at ≈ 800k rows one refresh took 2.5 s of the downtime, and the app may start on the import-time
 * contents; run after the cutover (CONCURRENTLY where a unique index allows, so the app's readers are not blocked).
 */
export async function refreshMatviewsPostgres(o: PgFollowOptions): Promise<number> {
  return using(targetSession(o), async (tgt) => {
    for (const m of o.matviews ?? []) {
      const unique = await exists(tgt, `SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2 AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL`, [m.schema, m.name]);
      const populated = await exists(tgt, 'SELECT FROM pg_matviews WHERE schemaname = $1 AND matviewname = $2 AND ispopulated', [m.schema, m.name]);
      await tgt.query(`REFRESH MATERIALIZED VIEW ${unique && populated ? 'CONCURRENTLY ' : ''}${qn(m.schema, m.name)}`);
    }
    return o.matviews?.length ?? 0;
  });
}

/** Logical replication carries no sequence: each one set on the target as the (frozen) source has it. */
async function setSequences(src: pg.Client, tgt: pg.Client): Promise<void> {
  const r = await src.query<{ schema: string; name: string; v: string | null }>('SELECT schemaname AS schema, sequencename AS name, last_value::text AS v FROM pg_sequences');
  const have = new Set((await tgt.query<{ k: string }>("SELECT schemaname || '.' || sequencename AS k FROM pg_sequences")).rows.map((x) => x.k));
  for (const s of r.rows) if (s.v !== null && have.has(`${s.schema}.${s.name}`)) await tgt.query(setvalStatement(s.schema, s.name, s.v, true));
}

/**
 * The follow options of a store from the engine's params: endpoints from the URLs, the source as the
 * stack sees it from `options.followFrom`, schema facts and matviews from the export's manifest when
 * there is one, state in `<stateDir>/follow`.
 */
export function postgresFollowOptionsOf(p: EngineParams, ends: { source: PgTarget; target?: PgTarget }, manifest?: Manifest): PgFollowOptions {
  const f = (p.store.options as { followFrom?: { host?: string; port?: number } }).followFrom;
  return {
    storeId: p.followName ?? p.store.id, source: ends.source, ...(ends.target ? { target: ends.target } : {}), ...(f ? { from: f } : {}),
    stateDir: join(p.stateDir, 'follow'), redactor: p.redactor, log: p.log, signal: p.signal,
    ...(manifest ? { schemaFacts: manifest.facts, matviews: manifest.matviews, largeObjects: manifest.largeObjects.map((l) => l.oid) } : {}),
  };
}
