/**
 * One batch of keys copied logically: read expiry and payload (DUMP, or TYPE for the rewrite path) in
 * one source pipeline, write RESTORE … ABSTTL in one target pipeline. Keys whose expiry has passed are
 * skipped and counted, never resurrected; keys above `bigKeyBytes` go through the chunked rewrite.
 */
import type { Redis } from 'ioredis';
import { FerryError } from '../../core/errors.ts';
import { execOrThrow, printable, rewriteKey } from './rewrite.ts';

export interface BatchOptions {
  readonly mode: 'dump' | 'rewrite';
  /** RESTORE with REPLACE (resume of ferry's own writes, or config.redis.replace). */
  readonly replace: boolean;
  /** DUMP payloads larger than this are copied chunk by chunk instead. */
  readonly bigKeyBytes: number;
  /** PEXPIRETIME (7.0+) or PTTL. */
  readonly expiry: { cmd: string; toAbs: (v: number, now: number) => number };
  readonly now?: () => number;
}

export interface BatchResult {
  keys: number;
  bytes: number;
  /** Expired (or deleted) between SCAN and copy: skipped. */
  expired: number;
  /** Copied through the chunked rewrite because of their size. */
  big: number;
}

export const emptyResult = (): BatchResult => ({ keys: 0, bytes: 0, expired: 0, big: 0 });

/** Read one batch from the source; returns a thunk that writes it to the target. */
export async function readBatch(src: Redis, tgt: Redis, keys: readonly Buffer[], o: BatchOptions): Promise<() => Promise<BatchResult>> {
  const p = src.pipeline();
  for (const k of keys) {
    p.call(o.expiry.cmd, k);
    if (o.mode === 'dump') p.dumpBuffer(k); else p.type(k);
  }
  const res = await execOrThrow(p);
  const now = (o.now ?? Date.now)();
  return async () => {
    const r = emptyResult();
    const w = tgt.pipeline();
    const restored: Buffer[] = [];
    const later: Array<{ key: Buffer; type: string; at: number }> = [];
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const at = o.expiry.toAbs(Number(res[2 * i]), now);
      const second = res[2 * i + 1] as Buffer | string | null;
      if (at === -2 || second === null || second === 'none' || (at > 0 && at <= now)) { r.expired++; continue; }
      if (o.mode === 'rewrite') { later.push({ key, type: String(second), at }); continue; }
      const payload = second as Buffer;
      if (payload.length > o.bigKeyBytes) { later.push({ key, type: '', at }); continue; }
      w.callBuffer('RESTORE', key, String(at > 0 ? at : 0), payload, ...(at > 0 ? ['ABSTTL'] : []), ...(o.replace ? ['REPLACE'] : []));
      restored.push(key);
      r.bytes += payload.length + key.length;
    }
    if (restored.length) {
      const out = (await w.exec()) ?? [];
      out.forEach(([err], i) => { if (err) throw restoreError(err, restored[i]!); });
      r.keys += restored.length;
    }
    for (const k of later) {
      const type = k.type || (await src.type(k.key));
      if (type === 'none') { r.expired++; continue; }
      if (k.at > 0 && k.at <= Date.now()) { r.expired++; await tgt.del(k.key); continue; }
      await rewriteKey(src, tgt, k.key, type, k.at);
      r.keys++;
      if (o.mode === 'dump') r.big++;
    }
    return r;
  };
}

function restoreError(err: Error, key: Buffer): FerryError {
  if (/BUSYKEY/.test(err.message)) {
    return new FerryError('E_REDIS_TARGET_KEY_EXISTS', `Target already holds key ${printable(key)} that ferry did not write`, {
      hint: 'something else writes to the target: stop it, or set redis.replace to overwrite', cause: err,
    });
  }
  if (/payload version|checksum|Bad data format/i.test(err.message)) {
    return new FerryError('E_REDIS_RESTORE_FORMAT', `Target rejected the DUMP payload of key ${printable(key)}: ${err.message}`, {
      hint: 'the target cannot read this payload (newer RDB version or a missing module): use redis.path "rewrite"', cause: err,
    });
  }
  return new FerryError('E_REDIS_RESTORE', `RESTORE of key ${printable(key)} failed: ${err.message}`, { hint: 'see the cause; re-run resumes', cause: err });
}
