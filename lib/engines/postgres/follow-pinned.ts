/**
 * Verify a following PostgreSQL at a pinned point while the app keeps running on the host. Once the
 * follower is close (it reached the source's position of a moment ago, nothing held), session A on the
 * source locks every exported table the publication carries IN EXCLUSIVE MODE (writers wait, readers do
 * not; `lock_timeout` bounds the wait, and the lock ends with A's transaction, so a dead ferry never leaves
 * the source held); session B opens a REPEATABLE READ snapshot and reads the WAL position X — no writer of
 * those tables can be in flight, so the snapshot is exactly their data at X. Once the subscriber reports X
 * applied (the slot's confirmed flush, or sooner its apply position in pg_stat_replication) its
 * subscription is disabled and its apply worker ended (it would apply what comes after X), then A
 * commits — writers waited for milliseconds (`heldMs`). Every chunk of the export's
 * key ranges is digested (checksum.ts, the same digest verify uses) in B's snapshot and on the held target;
 * sequences are not compared (promote sets them). The subscription is enabled again in every case. A lock
 * wait or a follower over the budget gives the pin up (E_PIN_GIVEN_UP): writers resume, nothing is lost.
 */
import type pg from 'pg';
import type { VerifyReport } from '../../core/engine.ts';
import { FerryError } from '../../core/errors.ts';
import { silentLogger } from '../../core/logger.ts';
import { connectPg, oneLine, qi, ql, qn, type PgTarget } from './connect.ts';
import { describeRange, rangeDigest, rowHashes } from './checksum.ts';
import type { PgFollowOptions } from './follow.ts';
import { readManifest } from './manifest.ts';
import { readPgFollowRecord } from './replication-record.ts';

export interface PgPinnedOptions {
  /** The export whose chunk key ranges are compared (tables created since are not covered: DDL is refused at catch-up). */
  readonly dir: string;
  readonly parallelism?: number;
  /** How long writers may wait for the lock (default 2000 ms). */
  readonly lockTimeoutMs?: number;
  /** How long the follower may take to reach the pin and stop there, writers held meanwhile (default 5000 ms). */
  readonly budgetMs?: number;
  /** How long the follower may take to reach the source's position before the pin, nothing held (default 30 s). */
  readonly approachMs?: number;
  /** How long to wait for the follower to stream again after the comparison (default 20 s; a warning past it). */
  readonly restartMs?: number;
}

/** Rows per side below which a differing chunk is narrowed to its keys. */
const NARROW_ROWS = 10_000;
const MAX_FINDINGS = 20;

const at = (t: PgTarget) => `${t.host}:${t.port}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function verifyPostgresPinned(o: PgFollowOptions, opts: PgPinnedOptions): Promise<VerifyReport> {
  const t0 = performance.now();
  const log = o.log ?? silentLogger;
  const rec = await readPgFollowRecord(o.stateDir);
  if (rec?.state === 'freeze-copy') {
    throw new FerryError('E_PIN_GIVEN_UP', `store ${o.storeId}: nothing to pin, the store does not follow ${at(o.source)}: ${rec.reason ?? 'copied inside the freeze'}`, { hint: 'its copy inside the freeze is verified in full' });
  }
  if (rec?.state !== 'following') {
    throw new FerryError('E_PG_PIN', `store ${o.storeId}: the target does not follow ${at(o.source)} (${rec?.state ?? 'no follow record'}${rec?.reason ? `: ${rec.reason}` : ''})`, { hint: 'run follow first (or re-run it to resume)' });
  }
  if (!o.target) throw new FerryError('E_CONFIG', `store ${o.storeId}: no target PostgreSQL to compare yet`, { hint: 'start the store\'s service with its migration port first' });
  o.redactor?.add(o.source.password, o.target.password);
  const m = await readManifest(opts.dir);
  const sub = rec.names.subscription;
  const workers = Math.max(1, opts.parallelism ?? 2);
  const open = (t: PgTarget) => connectPg(t, { applicationName: 'ferry verify pinned' });
  const clients: pg.Client[] = [];
  try {
    // Every session is opened before the pin (none is connected while writers wait); a failed one closes the others.
    const opened = await Promise.allSettled([o.source, ...Array.from({ length: workers }, () => o.source), ...Array.from({ length: workers }, () => o.target!)].map(open));
    for (const x of opened) if (x.status === 'fulfilled') clients.push(x.value);
    const failed = opened.find((x) => x.status === 'rejected');
    if (failed) throw failed.reason;
    const [lock, ...rest] = clients as [pg.Client, ...pg.Client[]];
    const srcs = rest.slice(0, workers);
    const tgts = rest.slice(workers);
    const admin = tgts[0]!;
    // A pin killed between DISABLE and ENABLE left the follower held: it follows again first.
    const was = await admin.query<{ on: boolean }>('SELECT subenabled AS on FROM pg_subscription WHERE subname = $1', [sub]);
    if (!was.rows.length) throw new FerryError('E_PG_FOLLOW_LOST', `the subscription ${sub} is gone from the target ${at(o.target)}`, { hint: 'abort the follow, export again with followFrom, import with replace, then follow' });
    if (!was.rows[0]!.on) { log.warn(`${o.storeId}: the subscription was left disabled (a pinned verify killed?): enabled again`); await admin.query(`ALTER SUBSCRIPTION ${qi(sub)} ENABLE`); }

    // Only what the publication carries follows (unlogged tables never do): the rest is named, not compared.
    const published = new Set((await lock.query<{ s: string; t: string }>('SELECT schemaname AS s, tablename AS t FROM pg_publication_tables WHERE pubname = $1', [rec.names.publication])).rows.map((r) => `${r.s}\0${r.t}`));
    const compared = m.tables.filter((e) => published.has(`${e.table.schema}\0${e.table.name}`));
    const skipped = m.tables.filter((e) => !compared.includes(e)).map((e) => `${e.table.schema}.${e.table.name}`);
    if (!compared.length) throw new FerryError('E_PIN_GIVEN_UP', `the pin on ${at(o.source)}/${o.source.database} was given up: the publication ${rec.names.publication} carries none of the exported tables`, { hint: 'nothing follows to compare: the catch-up and `ferry verify` after the cutover check the store' });
    try {
      const pin = await pinSource(o, opts, lock, srcs, admin, sub, compared.map((e) => qn(e.table.schema, e.table.name)), rec.names.slot);
      const work = compared.flatMap((e) => e.chunks.map((ch) => ({ t: e.table, ch })));
      const chunks = work.length;
      const findings: string[] = [];
      let rows = 0; let targetRows = 0;
      await Promise.all(srcs.map(async (s, i) => {
        const g = tgts[i]!;
        for (let job = work.shift(); job; job = work.shift()) {
          o.signal?.throwIfAborted();
          const [a, b] = await Promise.all([rangeDigest(s, job.t, job.ch), rangeDigest(g, job.t, job.ch)]);
          rows += a.rows; targetRows += b.rows;
          if (a.rows === b.rows && a.sum === b.sum) continue;
          findings.push(`${job.t.schema}.${job.t.name}: ${describeRange(job.t, job.ch)}: source ${a.rows} rows, target ${b.rows} rows${a.rows === b.rows ? ' (values differ)' : ''}`);
          if (job.t.key.length && a.rows <= NARROW_ROWS && b.rows <= NARROW_ROWS) findings.push(...(await narrow(s, g, job.t, job.ch)));
        }
      }));
      const ok = findings.length === 0;
      log.info(`${o.storeId}: pinned at ${pin.lsn}, writers held ${pin.heldMs} ms: ${chunks} chunks, ${rows} rows ${ok ? 'equal' : 'DIFFER'}`);
      return {
        ok, seconds: (performance.now() - t0) / 1000,
        entries: [
          { subject: `pinned at LSN ${pin.lsn}`, ok, counts: { chunks, rows, targetRows, heldMs: pin.heldMs }, ...(ok ? {} : { findings: findings.slice(0, MAX_FINDINGS) }) },
          ...(skipped.length ? [{ subject: `not replicated, so not compared at the pin (unlogged or outside the publication): ${skipped.slice(0, 10).join(', ')}${skipped.length > 10 ? ' …' : ''}`, ok: true, counts: { tables: skipped.length } }] : []),
        ],
      };
    } finally {
      const enabled = await admin.query(`ALTER SUBSCRIPTION ${qi(sub)} ENABLE`).then(() => true, (e: unknown) => { log.warn(`${o.storeId}: could not enable the subscription ${sub} again: ${oneLine(e)} (run follow:${o.storeId} again)`); return false; });
      // The launcher restarts the apply worker up to wal_retrieve_retry_interval (5 s) later: waited for here, not by the catch-up inside the freeze.
      if (enabled && !(await streamingAgain(lock, admin, sub, rec.names.slot, opts.restartMs ?? 20_000))) log.warn(`${o.storeId}: the subscription ${sub} is enabled but not streaming yet (follow status shows when it is)`);
    }
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  }
}

/**
 * Hold the tables' writers, snapshot the source, wait for the follower to reach the pin and stop it there,
 * release the writers. On return the source workers are in the pin's snapshot and the subscription is
 * disabled; on a failure the writers are released (the caller's finally enables the subscription again).
 */
async function pinSource(o: PgFollowOptions, opts: PgPinnedOptions, lock: pg.Client, srcs: readonly pg.Client[], admin: pg.Client, sub: string, tables: readonly string[], slot: string): Promise<{ lsn: string; heldMs: number }> {
  const lockMs = opts.lockTimeoutMs ?? 2000;
  const budget = opts.budgetMs ?? 5000;
  const [lead, ...rest] = srcs;
  if (!lead) throw new TypeError('Expected at least one source session');
  // First close the gap unpinned, so that writers wait only for the last milliseconds of it.
  const reached = (lsn: string) => lock.query<{ ok: boolean | null }>(`SELECT greatest(s.confirmed_flush_lsn, r.replay_lsn) >= $2::pg_lsn AS ok
    FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid WHERE s.slot_name = $1`, [slot, lsn]).then((r) => !!r.rows[0]?.ok);
  const near = (await lock.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn;
  for (const started = performance.now(); !(await reached(near));) {
    o.signal?.throwIfAborted();
    if (performance.now() - started > (opts.approachMs ?? 30_000)) throw givenUp(o, `the follower did not reach ${near} within ${opts.approachMs ?? 30_000} ms before the pin (it is behind: nothing was held)`);
    await sleep(20);
  }
  let held = 0;
  try {
    try {
      await lock.query(`BEGIN READ WRITE; SET LOCAL lock_timeout = ${Math.round(lockMs)}; LOCK TABLE ${tables.join(', ')} IN EXCLUSIVE MODE`);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === '55P03') throw new FerryError('E_PIN_GIVEN_UP', `the pin on ${at(o.source)}/${o.source.database} was given up: its tables stayed busy for ${lockMs} ms (a long transaction or a lock holds one)`, { hint: 'nothing was held or lost and the follower continues: run the pinned verify again when the source is quieter (pg_stat_activity shows who holds the lock)', cause: e });
      if (code === '42501') throw new FerryError('E_PIN_GIVEN_UP', `${o.source.user} may not lock the tables of ${at(o.source)}/${o.source.database} to pin them, the pin was given up: ${oneLine(e)}`, { hint: `make ${o.source.user} own the tables (or GRANT UPDATE on them), or skip the pinned verify: the catch-up's check covers the store inside the freeze`, cause: e });
      throw e;
    }
    held = performance.now();
    // The snapshot every worker adopts: no writer of these tables is in flight, so it holds exactly what is before `lsn`.
    const res = (await lead.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT pg_export_snapshot() AS id, pg_current_wal_lsn()::text AS lsn')) as unknown as Array<pg.QueryResult<{ id: string; lsn: string }>>;
    const { id: snap, lsn } = res.at(-1)!.rows[0]!;
    // Applied through `lsn`: the slot's confirmed flush, or sooner the subscriber's reported apply position (needs pg_read_all_stats).
    for (;;) {
      o.signal?.throwIfAborted();
      if (await reached(lsn)) break;
      if (performance.now() - held > budget) throw givenUp(o, `the follower did not reach the pin ${lsn} within ${budget} ms`);
      await sleep(5);
    }
    // Disabled, the apply worker stops at its next message; ended now so that nothing after the pin is applied.
    await admin.query(`ALTER SUBSCRIPTION ${qi(sub)} DISABLE`);
    for (;;) {
      const w = await admin.query<{ pid: number | null }>('SELECT pid FROM pg_stat_subscription WHERE subname = $1 AND pid IS NOT NULL', [sub]);
      if (!w.rows.length) break;
      await admin.query('SELECT pg_terminate_backend($1)', [w.rows[0]!.pid]).catch(() => undefined); // without the privilege it exits by itself within a second
      if (performance.now() - held > budget) throw givenUp(o, `the target's apply worker did not stop within ${budget} ms`);
      await sleep(5);
    }
    await lock.query('COMMIT');
    const heldMs = Math.round(performance.now() - held);
    await Promise.all(rest.map((w) => w.query(`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT ${ql(snap)}`)));
    return { lsn, heldMs };
  } catch (e) {
    await lock.query('ROLLBACK').catch(() => undefined);
    await Promise.all(srcs.map((w) => w.query('ROLLBACK').catch(() => undefined)));
    throw e;
  }
}

/** True once the subscription's apply worker runs and holds the slot on the source again (false after `ms`). */
async function streamingAgain(src: pg.Client, tgt: pg.Client, sub: string, slot: string, ms: number): Promise<boolean> {
  for (const started = performance.now(); performance.now() - started < ms; await sleep(50)) {
    const w = await tgt.query('SELECT FROM pg_stat_subscription WHERE subname = $1 AND relid IS NULL AND pid IS NOT NULL', [sub]).catch(() => undefined);
    if (!w?.rowCount) continue;
    const s = await src.query('SELECT FROM pg_replication_slots WHERE slot_name = $1 AND active', [slot]).catch(() => undefined);
    if (s?.rowCount) return true;
  }
  return false;
}

function givenUp(o: PgFollowOptions, why: string): FerryError {
  return new FerryError('E_PIN_GIVEN_UP', `the pin on ${at(o.source)}/${o.source.database} was given up: ${why}`, {
    hint: 'writers resumed at once and the follower continues (nothing is lost): check its lag (follow status) and run the pinned verify again',
  });
}

/** The keys of a small differing chunk, each side's row hashes in the pin's snapshot and on the held target. */
async function narrow(s: pg.Client, g: pg.Client, t: Parameters<typeof rowHashes>[1], ch: Parameters<typeof rowHashes>[2]): Promise<string[]> {
  const [a, b] = await Promise.all([rowHashes(s, t, ch, NARROW_ROWS + 1), rowHashes(g, t, ch, NARROW_ROWS + 1)]);
  const keyName = t.key.length === 1 ? t.key[0]! : `(${t.key.join(', ')})`;
  const out: string[] = [];
  const show = (k: string) => { const v = JSON.parse(k) as string[]; return v.length === 1 ? v[0]! : `(${v.join(', ')})`; };
  for (const [k, h] of a) if (b.get(k) !== h) out.push(`${keyName} = ${show(k)}: ${b.has(k) ? 'changed' : 'missing on target'}`);
  for (const k of b.keys()) if (!a.has(k)) out.push(`${keyName} = ${show(k)}: only on target`);
  return out.slice(0, 5);
}
