/**
 * The logical copy (DUMP/RESTORE or rewrite) of every database, resumable: the SCAN cursor of each
 * database is saved (atomically) under `<stateDir>/redis/` once the batches before it are written, so a
 * run killed at any point re-does at most the batch in flight, with REPLACE: those keys are ferry's own.
 */
import { readFile } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import { FerryError } from '../../core/errors.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import type { RedisEndpoint } from './endpoint.ts';
import { connectRedis, describeEndpoint } from './connect.ts';
import { serverInfo, compareVersions } from './info.ts';
import { scanBatches, expiryCommand } from './scan.ts';
import { readBatch, readBatchPiped, emptyResult, type BatchResult } from './dump-restore.ts';
import { RespPipe } from './resp.ts';

export interface CopyOptions {
  readonly source: RedisEndpoint;
  readonly target: RedisEndpoint;
  readonly mode: 'dump' | 'rewrite';
  /** Databases to copy; empty: every database holding keys on the source. */
  readonly databases?: readonly number[];
  /** Overwrite keys a non-empty target holds (else refused). */
  readonly replace?: boolean;
  /** Progress file (`<stateDir>/redis/copy-progress.json`). */
  readonly stateFile: string;
  readonly bigKeyBytes?: number;
  readonly batch?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: { keys: number; bytes: number; db: number }) => void;
}

export interface CopyResult extends BatchResult {
  readonly perDb: Readonly<Record<number, BatchResult>>;
  readonly resumed: boolean;
}

interface State {
  readonly mode: string;
  dbs: Record<string, { cursor: string; done: boolean } & BatchResult>;
}

export const DEFAULT_BIG_KEY_BYTES = 1 << 20;
/** Batches in flight: scan, read and write overlap so ferry and both servers work at once. */
const INFLIGHT = 4;

async function loadState(file: string): Promise<State | undefined> {
  try { return JSON.parse(await readFile(file, 'utf8')) as State; } catch { return undefined; }
}

/** Copy the source's databases to the target; see the module comment for resume. */
export async function copyLogical(o: CopyOptions): Promise<CopyResult> {
  const src = await connectRedis(o.source, { name: 'ferry-copy-src' });
  const tgt = await connectRedis(o.target, { name: 'ferry-copy-tgt' });
  // The DUMP path moves its batches over lean pipelines (resp.ts); ioredis serves everything else.
  let pipes: { src: RespPipe; tgt: RespPipe } | undefined;
  try {
    if (o.mode === 'dump') pipes = { src: await RespPipe.open(o.source), tgt: await RespPipe.open(o.target) };
    const si = await serverInfo(src);
    const dbs = o.databases?.length ? [...o.databases] : [...si.keyspace.keys()].sort((a, b) => a - b);
    let state = await loadState(o.stateFile);
    const resumed = state !== undefined && state.mode === o.mode;
    if (!resumed) {
      await assertTargetEmpty(tgt, o.target, dbs, o.replace ?? false);
      state = { mode: o.mode, dbs: {} };
      await writeFileAtomic(o.stateFile, JSON.stringify(state));
    }
    const st = state!;
    const opts = {
      mode: o.mode, replace: resumed || (o.replace ?? false), bigKeyBytes: o.bigKeyBytes ?? DEFAULT_BIG_KEY_BYTES,
      expiry: expiryCommand(compareVersions(si.version, '7.0.0') >= 0),
    };
    const total = emptyResult();
    let lastSave = Date.now();
    for (const db of dbs) {
      const d = (st.dbs[db] ??= { cursor: '0', done: false, ...emptyResult() });
      if (!d.done) {
        await src.select(db);
        await tgt.select(db);
        if (pipes) await Promise.all([pipes.src.send([['SELECT', String(db)]]), pipes.tgt.send([['SELECT', String(db)]])]);
        // Up to INFLIGHT batches are read and written at once (each server works while the other does);
        // a batch's cursor is saved only when it and every batch before it are written.
        const inflight: Array<{ cursor: string; done: Promise<BatchResult> }> = [];
        const settle = async () => {
          const b = inflight.shift()!;
          const r = await b.done;
          d.keys += r.keys; d.bytes += r.bytes; d.expired += r.expired; d.big += r.big;
          d.cursor = b.cursor;
          d.done = b.cursor === '0';
          o.onProgress?.({ keys: d.keys, bytes: d.bytes, db });
          if (d.done || Date.now() - lastSave > 1000) { lastSave = Date.now(); await writeFileAtomic(o.stateFile, JSON.stringify(st)); }
        };
        try {
          for await (const b of scanBatches(pipes?.src ?? src, { cursor: d.cursor, count: o.batch ?? 1000 })) {
            if (o.signal?.aborted) break;
            const done = (pipes ? readBatchPiped(pipes.src, pipes.tgt, { src, tgt }, b.keys, opts) : readBatch(src, tgt, b.keys, opts)).then((write) => write());
            done.catch(() => undefined); // awaited in order by settle(); no unhandled rejection meanwhile
            inflight.push({ cursor: b.cursor, done });
            if (inflight.length >= INFLIGHT) await settle();
          }
          while (inflight.length) await settle();
        } finally {
          await Promise.allSettled(inflight.map((b) => b.done));
        }
        await writeFileAtomic(o.stateFile, JSON.stringify(st));
        if (o.signal?.aborted) {
          throw new FerryError('E_CANCELLED', `Redis copy interrupted in db ${db}`, { hint: 're-run: the copy resumes from the saved cursor' });
        }
      }
      total.keys += d.keys; total.bytes += d.bytes; total.expired += d.expired; total.big += d.big;
    }
    const perDb: Record<number, BatchResult> = {};
    for (const [db, d] of Object.entries(st.dbs)) perDb[Number(db)] = { keys: d.keys, bytes: d.bytes, expired: d.expired, big: d.big };
    return { ...total, perDb, resumed };
  } finally {
    src.disconnect();
    tgt.disconnect();
    pipes?.src.close();
    pipes?.tgt.close();
  }
}

/** Refuse a target that already holds keys in the databases to be written, unless told to replace. */
export async function assertTargetEmpty(tgt: Redis, ep: RedisEndpoint, dbs: readonly number[], replace: boolean): Promise<void> {
  if (replace) return;
  const info = await serverInfo(tgt);
  const busy = dbs.filter((db) => (info.keyspace.get(db)?.keys ?? 0) > 0);
  if (busy.length) {
    const what = busy.map((db) => `db ${db}: ${info.keyspace.get(db)!.keys} keys`).join(', ');
    throw new FerryError('E_REDIS_TARGET_NOT_EMPTY', `Target Redis at ${describeEndpoint(ep)} already holds keys (${what})`, {
      hint: 'ferry never merges silently: empty the target (FLUSHALL) or set redis.replace to overwrite matching keys',
    });
  }
}
