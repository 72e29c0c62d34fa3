/**
 * The stack's Redis follows the host's with its own replication: `REPLICAOF host port` after
 * `CONFIG SET masteruser/masterauth` (a command, never argv) for an ACL user that may only PSYNC,
 * REPLCONF and PING. The first sync is a full one (the replica loads the source's RDB, then, with
 * appendonly, rewrites its AOF). Lag is the source's master_repl_offset against the replica's offset;
 * promote is `REPLICAOF NO ONE` with the target's own masteruser/masterauth put back, the ACL user
 * deleted and the AOF checked (follow waits for the post-sync AOF rewrite, so promote never does). A target that cannot read the source's RDB does not follow: the status
 * says so and the copy runs inside the freeze. Each change is recorded first; every call may be repeated.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { EngineParams, FollowStatus, SecretSink } from '../../core/engine.ts';
import { FerryError } from '../../core/errors.ts';
import { silentLogger } from '../../core/logger.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { systemClock } from '../../util/wait.ts';
import { readFollowRecordIn, writeFollowRecordIn, type FollowRun } from '../follow-record.ts';
import { exec } from '../../util/exec.ts';
import { connectRedis, describeEndpoint } from './connect.ts';
import { redisEndpointFromUrl, type RedisEndpoint } from './endpoint.ts';
import { parseInfo, parseKeyspace, serverInfo } from './info.ts';
import { decideFollow, probeAnswered, probeArgs, reachabilityHint, replicaAclArgs, replicaUserName, sourceFromTarget, supportsAcl, type SourceFromTarget } from './follow-config.ts';
import { openBoth } from '../../util/open-both.ts';

export interface RedisFollowOptions extends FollowRun {
  readonly storeId: string;
  readonly source: RedisEndpoint;
  readonly target: RedisEndpoint;
  /** How long the link and the first full sync may take. Default 10 min. */
  readonly syncTimeoutMs?: number;
}

type State = 'preparing' | 'configuring' | 'following' | 'promoting' | 'promoted' | 'aborting' | 'aborted';

interface FollowRecord {
  readonly state: State;
  readonly from: SourceFromTarget;
  /** The ACL user created on the source; absent when the link uses the source's own account. */
  readonly aclUser?: string;
  /** The target's masteruser before follow ('' when unset); its masterauth, if any, is in a 0600 file. */
  readonly targetMasterUser: string;
  readonly targetHadMasterAuth: boolean;
  readonly updatedAt?: string;
}

const SECRET = 'replication.secret';
const PREV_AUTH = 'target-masterauth.prev';

const readRecord = (dir: string): Promise<FollowRecord | undefined> => readFollowRecordIn<FollowRecord>(dir);
const writeRecord = (dir: string, r: FollowRecord): Promise<FollowRecord> => writeFollowRecordIn(dir, r);

/** The secret in `file`, or `make()` written there (0600) first. */
async function secret(dir: string, file: string, make: () => string, redactor?: SecretSink): Promise<string> {
  let s = await readFile(join(dir, file), 'utf8').then((t) => t.replace(/\n$/, ''), () => '');
  if (!s) { s = make(); await writeFileAtomic(join(dir, file), s + '\n', 0o600); }
  redactor?.add(s);
  return s;
}

export async function withServers<T>(o: RedisFollowOptions, fn: (src: Redis, tgt: Redis) => Promise<T>): Promise<T> {
  o.redactor?.add(o.source.password, o.target.password);
  const [src, tgt] = await openBoth(() => connectRedis(o.source, { name: 'ferry-follow' }), () => connectRedis(o.target, { name: 'ferry-follow' }), { a: (r) => r.disconnect(), b: (r) => r.disconnect() });
  try { return await fn(src, tgt); } finally { tgt.disconnect(); src.disconnect(); }
}

const configGet = async (r: Redis, key: string): Promise<string> => String(((await r.config('GET', key)) as string[])[1] ?? '');
const replication = async (r: Redis): Promise<Map<string, string>> => parseInfo(await r.info('replication'));

/** Start (or resume) following; returns once the first sync is done and the link is up. */
export async function followRedis(o: RedisFollowOptions): Promise<FollowStatus> {
  const log = o.log ?? silentLogger;
  let rec = await readRecord(o.stateDir);
  if (rec?.state === 'promoted') return { following: false, lag: 0, unit: 'offset', detail: 'promoted: the target no longer follows the source' };
  if (rec?.state === 'aborting') throw new FerryError('E_REDIS_FOLLOW_ABORTED', `an abort of following ${describeEndpoint(o.source)} did not finish`, { hint: 'run the abort again, then follow' });
  return withServers(o, async (src, tgt) => {
    const [si, ti] = await Promise.all([serverInfo(src), serverInfo(tgt)]);
    const decision = decideFollow(si, ti);
    if (!decision.follow) return { following: false, lag: 0, unit: 'offset', detail: decision.reason };
    const from = rec && rec.state !== 'aborted' ? rec.from : sourceFromTarget(o.source, o.from);
    const repl = await replication(tgt);
    const following = repl.get('role') === 'slave' && repl.get('master_host') === from.host && Number(repl.get('master_port')) === from.port;
    if (repl.get('role') === 'slave' && !following && rec?.state !== 'configuring') {
      throw new FerryError('E_REDIS_FOLLOW_TARGET_BUSY', `the target ${describeEndpoint(o.target)} already replicates from ${repl.get('master_host')}:${repl.get('master_port')}`, {
        hint: `it must follow ${from.host}:${from.port}: if that replication is not ferry's, run REPLICAOF NO ONE on it and re-run`,
      });
    }
    if (!rec || rec.state === 'aborted' || rec.state === 'preparing') {
      // The target's own settings, recorded before anything changes (a masterauth goes to a 0600 file).
      const [user, auth] = await Promise.all([configGet(tgt, 'masteruser'), configGet(tgt, 'masterauth')]);
      if (auth) { await rm(join(o.stateDir, PREV_AUTH), { force: true }); await secret(o.stateDir, PREV_AUTH, () => auth, o.redactor); }
      const aclUser = supportsAcl(si.version) ? replicaUserName(createHash('sha256').update(o.storeId).digest('hex').slice(0, 8)) : undefined;
      rec = await writeRecord(o.stateDir, { state: 'preparing', from, targetMasterUser: rec?.targetMasterUser ?? user, targetHadMasterAuth: rec?.targetHadMasterAuth ?? auth !== '', ...(aclUser ? { aclUser } : {}) });
    }
    let linkUser = o.source.username ?? '';
    let linkPassword = o.source.password ?? '';
    if (rec.aclUser) {
      linkUser = rec.aclUser;
      linkPassword = await secret(o.stateDir, SECRET, () => randomBytes(24).toString('base64url'), o.redactor);
      try {
        await src.call('ACL', ...replicaAclArgs(rec.aclUser, linkPassword));
      } catch (e) {
        throw new FerryError('E_REDIS_PERMISSION', `${describeEndpoint(o.source)} refused to create the replication user ${rec.aclUser}: ${(e as Error).message.split('\n')[0]}`, {
          hint: 'let ferry\'s account run ACL SETUSER/DELUSER (+acl) on the source for the migration, or migrate without following', cause: e,
        });
      }
    }
    if (!following) {
      rec = await writeRecord(o.stateDir, { ...rec, state: 'configuring' });
      await tgt.config('SET', 'masteruser', linkUser);
      await tgt.config('SET', 'masterauth', linkPassword);
      await tgt.call('REPLICAOF', from.host, String(from.port));
      log.info(`${describeEndpoint(o.target)} replicates from ${from.host}:${from.port} (full sync first)`);
    }
    rec = await writeRecord(o.stateDir, { ...rec, state: 'following' });
    await waitLinked(o, tgt, from);
    // After the full sync, an appendonly replica rewrites its AOF from the loaded data; until that ends the
    // AOF does not hold it. Waited for here, before any freeze, so promote never waits on a size-bound rewrite.
    await checkAof(o, tgt, true);
    return followStatus(src, tgt);
  });
}

/** Wait for the link to be up and the first full sync done; past the budget, leave the target standalone and say why. */
async function waitLinked(o: RedisFollowOptions, tgt: Redis, from: SourceFromTarget): Promise<void> {
  const clock = o.clock ?? systemClock;
  const budget = o.syncTimeoutMs ?? 600_000;
  const started = clock.now();
  for (;;) {
    o.signal?.throwIfAborted();
    const r = await replication(tgt);
    if (r.get('master_link_status') === 'up' && r.get('master_sync_in_progress') === '0') return;
    if (clock.now() - started >= budget) {
      const syncing = r.get('master_sync_in_progress') === '1';
      if (!syncing) await tgt.call('REPLICAOF', 'NO', 'ONE');
      throw new FerryError('E_REDIS_FOLLOW_UNREACHABLE', `the target ${syncing ? 'is still in its first sync with' : 'cannot reach or log in to'} the source at ${from.host}:${from.port} (as seen from the stack) after ${budget}ms`, {
        hint: syncing ? 'give the first sync more time (syncTimeoutMs) and re-run follow' : reachabilityHint(from),
      });
    }
    await clock.sleep(100, o.signal);
  }
}

/** Lag in replication-stream bytes: the source's master_repl_offset against what the replica has processed. */
export async function followStatus(src: Redis, tgt: Redis): Promise<FollowStatus> {
  // The replica first: the source read after it can only be further on, so the lag is never understated.
  const t = await replication(tgt);
  const s = await replication(src);
  const sourceOffset = Number(s.get('master_repl_offset') ?? 0);
  if (t.get('role') !== 'slave') return { following: false, lag: 0, unit: 'offset', detail: 'the target replicates from nothing' };
  const linked = t.get('master_link_status') === 'up' && t.get('master_sync_in_progress') === '0';
  const replicaOffset = Number(t.get('slave_repl_offset') ?? 0);
  const lag = linked ? Math.max(0, sourceOffset - replicaOffset) : Math.max(1, sourceOffset);
  return {
    following: linked, lag, unit: 'offset',
    detail: linked ? `replica at offset ${replicaOffset} of ${sourceOffset}, ${lag} bytes behind` : `link ${t.get('master_link_status')}, ${t.get('master_sync_in_progress') === '1' ? 'first sync in progress' : 'not syncing'}`,
  };
}

export async function redisFollowStatus(o: RedisFollowOptions): Promise<FollowStatus> {
  return withServers(o, followStatus);
}

/** Wait until the replica has processed everything the (paused) source wrote; over budget E_FOLLOW_BUDGET, nothing changed. */
export async function catchUpRedis(o: RedisFollowOptions, budgetMs: number): Promise<FollowStatus> {
  const clock = o.clock ?? systemClock;
  return withServers(o, async (src, tgt) => {
    const started = clock.now();
    let last = '';
    for (;;) {
      o.signal?.throwIfAborted();
      const st = await followStatus(src, tgt);
      if (st.following && st.lag === 0) {
        // The bounded final check: with the source paused (no expiry either), both keyspaces match exactly.
        const keys = await keyspaceDiff(src, tgt);
        if (!keys.differs) return { ...st, detail: `${st.detail}; keys per db equal (${keys.text})` };
        last = `offsets equal but keys per db differ (${keys.text})`;
      } else last = st.detail;
      if (st.detail === 'the target replicates from nothing') throw new FerryError('E_REDIS_FOLLOW_LOST', `the target ${describeEndpoint(o.target)} does not replicate`, { hint: 'run follow first (or re-run it to resume)' });
      if (clock.now() - started >= budgetMs) {
        throw new FerryError('E_FOLLOW_BUDGET', `the target did not catch up with ${describeEndpoint(o.source)} within ${budgetMs}ms: ${last}`, {
          hint: 'lift the freeze (the app stays on the host, nothing is lost, the target keeps following) and retry the cutover, or give catch-up a larger budget',
        });
      }
      await clock.sleep(25, o.signal);
    }
  });
}

/** Keys per database on both sides (`INFO keyspace`), as `db0 1200/1200, db1 3/3`. */
async function keyspaceDiff(src: Redis, tgt: Redis): Promise<{ differs: boolean; text: string }> {
  const [a, b] = await Promise.all([src.info('keyspace'), tgt.info('keyspace')].map(async (t) => parseKeyspace(parseInfo(await t))));
  const dbs = [...new Set([...a!.keys(), ...b!.keys()])].sort((x, y) => x - y);
  const text = dbs.map((db) => `db${db} ${a!.get(db)?.keys ?? 0}/${b!.get(db)?.keys ?? 0}`).join(', ');
  return { differs: dbs.some((db) => (a!.get(db)?.keys ?? 0) !== (b!.get(db)?.keys ?? 0)), text: text || 'no keys' };
}

/** Stop following: REPLICAOF NO ONE, the target's own masteruser/masterauth back, the ACL user deleted, the AOF settled. */
export async function promoteRedis(o: RedisFollowOptions, opts: { force?: boolean } = {}): Promise<void> {
  await unfollow(o, 'promoted', opts.force ?? false);
}

/** Abort during the follow phase: the same undoing, without the lag check; the source was never paused. */
export async function abortRedisFollow(o: RedisFollowOptions): Promise<void> {
  await unfollow(o, 'aborted', true);
}

async function unfollow(o: RedisFollowOptions, done: 'promoted' | 'aborted', force: boolean): Promise<void> {
  const rec = await readRecord(o.stateDir);
  if (!rec || rec.state === done) return;
  await withServers(o, async (src, tgt) => {
    if (!force && rec.state !== 'promoting') {
      const st = await followStatus(src, tgt);
      if (st.following && st.lag !== 0) throw new FerryError('E_REDIS_PROMOTE_LAG', `the target is behind the source: ${st.detail}`, { hint: 'pause the source and run catch-up first' });
    }
    await writeRecord(o.stateDir, { ...rec, state: done === 'promoted' ? 'promoting' : 'aborting' });
    await tgt.call('REPLICAOF', 'NO', 'ONE');
    const prevAuth = rec.targetHadMasterAuth ? await readFile(join(o.stateDir, PREV_AUTH), 'utf8').then((t) => t.replace(/\n$/, ''), () => '') : '';
    o.redactor?.add(prevAuth);
    await tgt.config('SET', 'masterauth', prevAuth);
    await tgt.config('SET', 'masteruser', rec.targetMasterUser);
    await checkAof(o, tgt, false);
    if (rec.aclUser) await src.call('ACL', 'DELUSER', rec.aclUser);
  });
  await rm(join(o.stateDir, SECRET), { force: true });
  await rm(join(o.stateDir, PREV_AUTH), { force: true });
  await writeRecord(o.stateDir, { ...rec, state: done });
}

/**
 * With appendonly, the replica rewrites its AOF after loading the source's RDB and appends the stream after
 * that. `wait`: until no rewrite is in progress or scheduled (bounded by syncTimeoutMs); then (and at
 * promote, without waiting: a later automatic rewrite leaves the old files valid) the last rewrite and the
 * last write must have succeeded.
 */
async function checkAof(o: RedisFollowOptions, tgt: Redis, wait: boolean): Promise<void> {
  const clock = o.clock ?? systemClock;
  const budget = o.syncTimeoutMs ?? 600_000;
  const started = clock.now();
  for (;;) {
    const p = parseInfo(await tgt.info('persistence'));
    if (p.get('aof_enabled') !== '1') return;
    const busy = p.get('aof_rewrite_in_progress') === '1' || p.get('aof_rewrite_scheduled') === '1';
    if (!wait || !busy) {
      if (p.get('aof_last_bgrewrite_status') !== 'ok' || p.get('aof_last_write_status') !== 'ok') {
        throw new FerryError('E_REDIS_AOF', `the target ${describeEndpoint(o.target)}'s append-only file is not healthy (rewrite ${p.get('aof_last_bgrewrite_status')}, write ${p.get('aof_last_write_status')})`, {
          hint: 'check the target\'s disk space and log, run BGREWRITEAOF on it, then run the step again',
        });
      }
      return;
    }
    if (clock.now() - started > budget) {
      throw new FerryError('E_REDIS_AOF', `the target's AOF rewrite after the first sync did not finish within ${budget}ms`, { hint: 'check the target\'s log and disk, give it more time (syncTimeoutMs), then re-run follow' });
    }
    await clock.sleep(100, o.signal);
  }
}

/**
 * The follow options of a store from the engine's params: endpoints from the store's URLs, the source as
 * the stack sees it from `options.followFrom`, state in
 * `<stateDir>/follow`.
 */
export function redisFollowOptionsOf(p: EngineParams<unknown>): RedisFollowOptions {
  if (!p.targetUrl) {
    throw new FerryError('E_CONFIG', `store ${p.store.id}: no target Redis to follow into yet`, { hint: `start the store's service (${p.store.target.service}) with its migration port first` });
  }
  const f = (p.store.options as { followFrom?: { host?: unknown; port?: unknown } } | undefined)?.followFrom;
  const from = f ? { ...(typeof f.host === 'string' ? { host: f.host } : {}), ...(typeof f.port === 'number' ? { port: f.port } : {}) } : undefined;
  return {
    storeId: p.followName ?? p.store.id,
    source: redisEndpointFromUrl(p.store.source, { field: `stores[${p.store.id}].source`, redactor: p.redactor }),
    target: redisEndpointFromUrl(p.targetUrl, { field: `stores[${p.store.id}].target`, redactor: p.redactor }),
    stateDir: join(p.stateDir, 'follow'), redactor: p.redactor, log: p.log, signal: p.signal, ...(from ? { from } : {}),
  };
}

/**
 * Preflight: prove from a throwaway container (on the stack's network, with the host-gateway mapping when
 * needed) that the source answers where the stack will look for it; a failure names the address and the fix.
 */
export async function probeRedisSourceFromStack(i: { image: string; from: SourceFromTarget; network?: string; signal?: AbortSignal }): Promise<{ ok: boolean; detail: string; hint?: string }> {
  const r = await exec('docker', probeArgs(i), { all: true, timeoutMs: 60_000, ...(i.signal ? { signal: i.signal } : {}) });
  const out = (r.all ?? `${r.stdout}\n${r.stderr}`).trim();
  if (probeAnswered(out)) return { ok: true, detail: `Redis answers at ${i.from.host}:${i.from.port} from the stack's side` };
  return { ok: false, detail: `nothing answers at ${i.from.host}:${i.from.port} from the stack's side: ${out.split('\n').pop() ?? ''}`, hint: reachabilityHint(i.from) };
}
