/**
 * The stack's MySQL follows the live source with the server's own replication, from exactly the export's
 * snapshot coordinates, so the write freeze only waits for the last seconds of changes:
 * `followMysql` (account on the source, CHANGE … TO, START) → `catchUpMysql` (executed position equals the
 * frozen source's, within a budget) → `promoteMysql` (STOP + RESET … ALL, account dropped). `abortMysqlFollow`
 * undoes a follow that will not be promoted. Each change is recorded before it is made (replication-record.ts);
 * every call is safe to repeat and a killed call resumes when run again.
 */
import { join } from 'node:path';
import type { Pool } from 'mysql2/promise';
import type { EngineParams, FollowStatus } from '../../core/engine.ts';
import { FerryError } from '../../core/errors.ts';
import { silentLogger } from '../../core/logger.ts';
import { systemClock } from '../../util/wait.ts';
import { exec } from '../../util/exec.ts';
import { connectMysql, oneLine, type MysqlTarget } from './connect.ts';
import { safeReplicaError } from './server-message.ts';
import { mysqlEndpointFromUrl } from './endpoint.ts';
import { readManifest } from './manifest.ts';
import type { MysqlOptions } from './options.ts';
import { probeAnswered, probeArgs, reachabilityHint, sourceFromTarget, targetServerId, type ProbeInput, type SourceFromTarget } from './follow-config.ts';
import { accountFor, createReplicationAccount, dropReplicationAccount, forgetPassword, replicationPassword } from './replication-account.ts';
import { readFollowRecord, writeFollowRecord, type FollowRecord } from './replication-record.ts';
import type { FollowRun } from '../follow-record.ts';
import { assessFollow, readReplicationFacts, type ReplicationFacts } from './replication-prereq.ts';
import {
  changeSourceStatement, replicationFilterStatement, resetReplicaStatement, startReplicaStatement, stopReplicaStatement, type ReplicaDialect,
} from './replication-sql.ts';
import { lagBytes, readBinlogSizes, readReplicaStatus, readSourcePosition, type ReplicaStatus } from './replication-status.ts';
import { openBoth } from '../../util/open-both.ts';

export interface MysqlFollowOptions extends FollowRun {
  /** The store's id: names the replication account (`ferry_repl_<hash>`). */
  readonly storeId: string;
  /** How ferry reaches the source (the host's server). */
  readonly source: MysqlTarget;
  /** How ferry reaches the target (the stack's server on its 127.0.0.1 migration port). */
  readonly target: MysqlTarget;
  /** The migrated databases: replication applies only these. */
  readonly databases: readonly string[];
  /** The export's snapshot coordinates (manifest.binlog); null when the source logged nothing. */
  readonly start: { readonly file: string; readonly position: number } | null;
  /** How long the target may take to connect and start applying. Default 30 s. */
  readonly connectTimeoutMs?: number;
}

const where = (t: MysqlTarget) => `${t.user}@${t.host}:${t.port}`;

async function withServers<T>(o: MysqlFollowOptions, fn: (src: Pool, tgt: Pool) => Promise<T>): Promise<T> {
  o.redactor?.add(o.source.password, o.target.password);
  const [src, tgt] = await openBoth(() => connectMysql(o.source, { connections: 2 }), () => connectMysql(o.target, { connections: 2 }), { a: (p) => p.end(), b: (p) => p.end() });
  try { return await fn(src, tgt); } finally { await Promise.all([tgt.end(), src.end()]); }
}

/** Start (or resume) following; returns once the target's replication threads both run. */
export async function followMysql(o: MysqlFollowOptions): Promise<FollowStatus> {
  const log = o.log ?? silentLogger;
  let rec = await readFollowRecord(o.stateDir);
  if (rec?.state === 'promoted') return { following: false, lag: 0, unit: 'bytes', detail: 'promoted: the target no longer follows the source' };
  // A new export (other coordinates) after an abort starts over; the same one would replay changes the target holds.
  if (rec?.state === 'aborted' && o.start && (o.start.file !== rec.start.file || o.start.position !== rec.start.position)) rec = undefined;
  if (rec?.state === 'aborting' || rec?.state === 'aborted') {
    throw new FerryError('E_MYSQL_FOLLOW_ABORTED', `following ${where(o.source)} was aborted (${rec.state})`, {
      hint: `${rec.state === 'aborting' ? 'run the abort again; then ' : ''}export and import again (the target holds changes past this export), then follow`,
    });
  }
  return withServers(o, async (src, tgt) => {
    const [sf, tf] = await Promise.all([readReplicationFacts(src), readReplicationFacts(tgt)]);
    const blockers = assessFollow({ source: sf, target: tf, start: o.start, where: where(o.source) }).filter((f) => f.severity === 'blocker');
    if (blockers.length) {
      throw new FerryError('E_MYSQL_FOLLOW_PREREQ', `cannot follow ${where(o.source)}: ${blockers[0]!.message}`, {
        hint: blockers[0]!.hint, detail: blockers.map((b) => `${b.check}: ${b.message} (${b.hint})`).join('\n'),
      });
    }
    const from = rec?.from ?? sourceFromTarget(o.source, o.from);
    const status = await readReplicaStatus(tgt, tf.dialect);
    if (status && (status.sourceHost !== from.host || status.sourcePort !== from.port)) {
      throw new FerryError('E_MYSQL_FOLLOW_TARGET_BUSY', `the target ${o.target.host}:${o.target.port} already replicates from ${status.sourceHost}:${status.sourcePort}`, {
        hint: `it must follow ${from.host}:${from.port}: if that replication is not ferry's, stop it (${stopReplicaStatement(tf.dialect)}; ${resetReplicaStatement(tf.dialect)}) and re-run`,
      });
    }
    if (!status && rec?.state === 'following') {
      throw new FerryError('E_MYSQL_FOLLOW_LOST', `the target ${o.target.host}:${o.target.port} no longer replicates (reset or recreated while following)`, {
        hint: 'abort the follow, clear the target and import again, then follow',
      });
    }
    const password = await replicationPassword(o.stateDir, o.redactor);
    const base = rec ?? { state: 'preparing' as const, account: accountFor(o.storeId), from, start: o.start!, databases: [...o.databases] };
    if (!status) {
      rec = await writeFollowRecord(o.stateDir, { ...base, state: 'preparing' });
      log.info(`creating replication account ${rec.account.user} on ${o.source.host}:${o.source.port}`);
      await createReplicationAccount(src, o.source, rec.account, password);
      rec = await adjustTarget(o, tgt, sf, tf, rec);
      rec = await writeFollowRecord(o.stateDir, { ...rec, state: 'configuring' });
      await tgt.query(stopReplicaStatement(tf.dialect)).catch(() => undefined);
      await tgt.query(replicationFilterStatement(tf.dialect, rec.databases));
      await tgt.query(changeSourceStatement(tf.dialect, {
        host: from.host, port: from.port, user: rec.account.user, password, file: rec.start.file, position: rec.start.position,
        ssl: sf.ssl && tf.dialect !== 'mariadb',
      }));
      log.info(`the target replicates from ${from.host}:${from.port} starting at ${rec.start.file}:${rec.start.position}`);
    } else {
      rec = await adjustTarget(o, tgt, sf, tf, { ...base, state: base.state === 'preparing' ? 'configuring' : base.state });
    }
    const running = status?.ioRunning === 'Yes' && status.sqlRunning === 'Yes';
    if (!running || !filterMatches(status, rec.databases)) {
      // Filters do not survive a restart of the target: set again before the SQL thread runs.
      await tgt.query(stopReplicaStatement(tf.dialect)).catch(() => undefined);
      await tgt.query(replicationFilterStatement(tf.dialect, rec.databases));
      await tgt.query(startReplicaStatement(tf.dialect));
    }
    rec = await writeFollowRecord(o.stateDir, { ...rec, state: 'following' });
    await waitRunning(o, tgt, tf.dialect, from);
    return followStatus(src, tgt, tf.dialect);
  });
}

/**
 * Distinct server_id and the event scheduler off while following, each recorded before it changes. A
 * follow named apart from its store (the rehearsal's, `<id>@<project>`) always takes its own derived id:
 * its throwaway server starts with the same id as the real stack's, and a source cuts one of two replicas
 * sharing an id.
 */
async function adjustTarget(o: Pick<MysqlFollowOptions, 'stateDir' | 'storeId'>, tgt: Pool, sf: ReplicationFacts, tf: ReplicationFacts, rec: FollowRecord): Promise<FollowRecord> {
  const stateDir = o.stateDir;
  let out = rec;
  const second = o.storeId.includes('@');
  const wantId = out.serverId?.now ?? (second ? targetServerId(sf.serverId, o.storeId) : tf.serverId === sf.serverId ? targetServerId(sf.serverId) : undefined);
  if (wantId !== undefined && tf.serverId !== wantId) {
    out = await writeFollowRecord(stateDir, { ...out, serverId: out.serverId ?? { was: tf.serverId, now: wantId } });
    await tgt.query(`SET GLOBAL server_id = ${wantId}`);
  }
  if (tf.eventScheduler === 'ON') {
    out = await writeFollowRecord(stateDir, { ...out, eventScheduler: out.eventScheduler ?? { was: 'ON' } });
    await tgt.query('SET GLOBAL event_scheduler = OFF');
  }
  return out;
}

function filterMatches(s: ReplicaStatus | null, databases: readonly string[]): boolean {
  if (!s) return false;
  const have = new Set(s.wildDoTable.split(',').map((x) => x.trim().replace(/\\_/g, '_')).filter(Boolean));
  return databases.every((db) => have.has(`${db}.%`)) && have.size === databases.length;
}

/** Wait until both replication threads run; an IO error past the budget names the address and the fix. */
async function waitRunning(o: MysqlFollowOptions, tgt: Pool, dialect: ReplicaDialect, from: SourceFromTarget): Promise<void> {
  const clock = o.clock ?? systemClock;
  const budget = o.connectTimeoutMs ?? 30_000;
  const started = clock.now();
  for (;;) {
    o.signal?.throwIfAborted();
    const s = await readReplicaStatus(tgt, dialect);
    if (!s) throw new FerryError('E_MYSQL_FOLLOW_LOST', `the target ${o.target.host}:${o.target.port} lost its replication settings`, { hint: 're-run follow' });
    if (s.sqlRunning !== 'Yes' && s.lastSqlErrno) throw brokenError(o, s);
    if (s.ioRunning === 'Yes' && s.sqlRunning === 'Yes') return;
    if (clock.now() - started >= budget) {
      await tgt.query(stopReplicaStatement(dialect)).catch(() => undefined);
      const refused = s.lastIoErrno === 1045;
      throw new FerryError('E_MYSQL_FOLLOW_UNREACHABLE',
        `the target cannot ${refused ? 'log in to' : 'reach'} the source at ${from.host}:${from.port} (as seen from the stack) within ${budget}ms: ${s.lastIoError || `IO thread ${s.ioRunning}`}`, {
          hint: refused ? `the source refused the replication account from the stack: allow ${accountFor(o.storeId).user}@'%' to connect (skip-name-resolve, no host restriction), then re-run follow` : reachabilityHint(from, o.source),
          ...(s.lastIoError ? { detail: o.redactor?.redact(s.lastIoError) ?? s.lastIoError } : {}),
        });
    }
    await clock.sleep(200, o.signal);
  }
}

function brokenError(o: MysqlFollowOptions, s: ReplicaStatus): FerryError {
  // The replica's message may quote a row's value (1062 Duplicate entry '<value>'): cut out (server-message.ts).
  const text = safeReplicaError(o.redactor?.redact(s.lastSqlError) ?? s.lastSqlError);
  return new FerryError('E_MYSQL_FOLLOW_BROKEN', `replication into ${o.target.host}:${o.target.port} stopped at ${s.executed.file}:${s.executed.position}: error ${s.lastSqlErrno}`, {
    hint: 'the target diverged from the source (written to directly, or imported from another snapshot): abort the follow, clear the target, import again and follow',
    detail: text,
  });
}

/** Lag in binlog bytes: the source's end of log against the position the target has executed. */
export async function followStatus(src: Pool, tgt: Pool, dialect: ReplicaDialect): Promise<FollowStatus> {
  // The replica first: the source read after it can only be further on, so the lag is never understated.
  const s = await readReplicaStatus(tgt, dialect);
  const pos = await readSourcePosition(src);
  if (!s || !pos) return { following: false, lag: 0, unit: 'bytes', detail: s ? 'the source has no binary log' : 'the target replicates from nothing' };
  let lag = lagBytes(pos, s.executed);
  if (lag === null) lag = lagBytes(pos, s.executed, await readBinlogSizes(src));
  const behind = lag === null ? 'behind by whole binlog files (sizes not readable)' : `${lag} bytes behind`;
  return {
    following: s.ioRunning === 'Yes' && s.sqlRunning === 'Yes', lag: lag ?? Number.MAX_SAFE_INTEGER, unit: 'bytes',
    detail: `executed ${s.executed.file}:${s.executed.position} of ${pos.file}:${pos.position}, ${behind} (IO ${s.ioRunning}, SQL ${s.sqlRunning})`,
  };
}

/** The current lag without changing anything. */
export async function mysqlFollowStatus(o: MysqlFollowOptions): Promise<FollowStatus> {
  return withServers(o, async (src, tgt) => followStatus(src, tgt, (await readReplicationFacts(tgt)).dialect));
}

/**
 * Wait until the target has executed everything the (frozen) source wrote, polling every 25 ms. Over the
 * budget it throws E_FOLLOW_BUDGET and changes nothing: replication goes on, the caller lifts the freeze.
 */
export async function catchUpMysql(o: MysqlFollowOptions, budgetMs: number): Promise<FollowStatus> {
  const clock = o.clock ?? systemClock;
  return withServers(o, async (src, tgt) => {
    const { dialect } = await readReplicationFacts(tgt);
    const started = clock.now();
    for (;;) {
      o.signal?.throwIfAborted();
      const s = await readReplicaStatus(tgt, dialect);
      if (s && s.sqlRunning !== 'Yes' && s.lastSqlErrno) throw brokenError(o, s);
      const st = await followStatus(src, tgt, dialect);
      if (s && st.lag === 0) return st;
      if (!s) throw new FerryError('E_MYSQL_FOLLOW_LOST', `the target ${o.target.host}:${o.target.port} does not replicate`, { hint: 'run follow first (or re-run it to resume)' });
      if (clock.now() - started >= budgetMs) {
        throw new FerryError('E_FOLLOW_BUDGET', `the target did not catch up with ${o.source.host}:${o.source.port} within ${budgetMs}ms: ${st.detail}`, {
          hint: 'lift the freeze (the app stays on the host, nothing is lost, the target keeps following) and retry the cutover when the source is quieter, or give catch-up a larger budget',
        });
      }
      await clock.sleep(25, o.signal);
    }
  });
}

export interface PromoteOptions {
  /** Promote even when the target is behind (data written after its position is lost on it). */
  readonly force?: boolean;
}

/** Stop following for good: replication stopped and reset on the target, the account dropped everywhere. */
export async function promoteMysql(o: MysqlFollowOptions, opts: PromoteOptions = {}): Promise<void> {
  await unfollow(o, 'promot', opts.force ?? false);
}

/** Abort during the follow phase: replication stopped and reset, everything ferry created on the source removed. */
export async function abortMysqlFollow(o: MysqlFollowOptions): Promise<void> {
  await unfollow(o, 'abort', true);
}

async function unfollow(o: MysqlFollowOptions, verb: 'promot' | 'abort', force: boolean): Promise<void> {
  const rec = await readFollowRecord(o.stateDir);
  const done = verb === 'promot' ? 'promoted' : 'aborted';
  if (!rec || rec.state === done) return;
  await withServers(o, async (src, tgt) => {
    const tf = await readReplicationFacts(tgt);
    const s = await readReplicaStatus(tgt, tf.dialect);
    if (s && !force && rec.state !== 'promoting') {
      const st = await followStatus(src, tgt, tf.dialect);
      if (st.lag !== 0) throw new FerryError('E_MYSQL_PROMOTE_LAG', `the target is behind the source: ${st.detail}`, { hint: 'freeze the source and run catch-up first; promote only a target that caught up' });
    }
    await writeFollowRecord(o.stateDir, { ...rec, state: verb === 'promot' ? 'promoting' : 'aborting' });
    await tgt.query(stopReplicaStatement(tf.dialect)).catch(() => undefined);
    await tgt.query(resetReplicaStatement(tf.dialect));
    await tgt.query(replicationFilterStatement(tf.dialect, []));
    if (rec.eventScheduler) await tgt.query(`SET GLOBAL event_scheduler = ${rec.eventScheduler.was === 'ON' ? 'ON' : 'OFF'}`);
    if (rec.serverId) await tgt.query(`SET GLOBAL server_id = ${rec.serverId.was}`);
    // The account's CREATE may have replicated (no right to skip the binlog): drop that copy too.
    await dropReplicationAccount(tgt, o.target, rec.account).catch((e) => (o.log ?? silentLogger).warn(`target: ${oneLine(e)}`));
    await dropReplicationAccount(src, o.source, rec.account);
  });
  await forgetPassword(o.stateDir);
  await writeFollowRecord(o.stateDir, { ...rec, state: done });
}

/**
 * The follow options of a store from the engine's params: endpoints from the store's URLs, the start
 * coordinates and databases from the export's manifest (the export that was imported), the source as the
 * stack sees it from `options.followFrom`, state in `<stateDir>/follow`.
 */
export async function mysqlFollowOptionsOf(p: EngineParams<MysqlOptions>): Promise<MysqlFollowOptions> {
  if (!p.targetUrl) {
    throw new FerryError('E_CONFIG', `store ${p.store.id}: no target MySQL to follow into yet`, { hint: `start the store's service (${p.store.target.service}) with its migration port first` });
  }
  const m = await readManifest(p.artifactDir);
  const databases = m.schemas.map((s) => s.database);
  return {
    storeId: p.followName ?? p.store.id,
    source: mysqlEndpointFromUrl(p.store.source, { field: `stores[${p.store.id}].source`, redactor: p.redactor, databases }),
    target: mysqlEndpointFromUrl(p.targetUrl, { field: `stores[${p.store.id}].target`, redactor: p.redactor, databases }),
    databases, start: m.binlog, stateDir: join(p.stateDir, 'follow'), redactor: p.redactor, log: p.log, signal: p.signal,
    ...followFromOf(p.store.options),
  };
}

/**
 * `options.followFrom` ({ host?, port? }, declared in options.ts): the source as the stack's container reaches it;
 * absent, the default of follow-config.ts applies.
 */
export function followFromOf(options: unknown): { from?: Partial<SourceFromTarget> } {
  const f = (options as { followFrom?: { host?: unknown; port?: unknown } } | undefined)?.followFrom;
  if (!f) return {};
  return { from: { ...(typeof f.host === 'string' ? { host: f.host } : {}), ...(typeof f.port === 'number' ? { port: f.port } : {}) } };
}

/**
 * Preflight: prove from a throwaway container (on the stack's network, with the host-gateway mapping when
 * needed) that the source answers where the stack will look for it; a failure names the address and the fix.
 */
export async function probeSourceFromStack(i: ProbeInput & { source: MysqlTarget; signal?: AbortSignal }): Promise<{ ok: boolean; detail: string; hint?: string }> {
  const r = await exec('docker', probeArgs(i), { all: true, timeoutMs: 60_000, ...(i.signal ? { signal: i.signal } : {}) });
  const out = (r.all ?? `${r.stdout}\n${r.stderr}`).trim();
  if (probeAnswered(out)) return { ok: true, detail: `MySQL answers at ${i.from.host}:${i.from.port} from the stack's side` };
  return { ok: false, detail: `nothing answers at ${i.from.host}:${i.from.port} from the stack's side: ${out.split('\n').pop() ?? ''}`, hint: reachabilityHint(i.from, i.source) };
}
