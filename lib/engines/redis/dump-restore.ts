/**
 * One batch of keys copied logically. The DUMP path (`readBatchPiped`) uses plain pipelined commands on
 * lean RESP connections and RESTORE … ABSTTL; the rewrite path (`readBatch`) reads expiry and type in
 * one source script call and rewrites type by type. Keys whose expiry has passed are skipped and
 * counted, never resurrected; keys above `bigKeyBytes` are never DUMPed: they go through the chunked
 * rewrite.
 */
import type { Redis } from 'ioredis';
import { FerryError } from '../../core/errors.ts';
import { createHash } from 'node:crypto';
import { printable, rewriteKey } from './rewrite.ts';
import { RespError, type Reply, type RespPipe } from './resp.ts';

export interface BatchOptions {
  readonly mode: 'dump' | 'rewrite';
  /** RESTORE with REPLACE (resume of ferry's own writes, or config.redis.replace). */
  readonly replace: boolean;
  /** Keys whose MEMORY USAGE exceeds this are copied chunk by chunk instead of DUMP/RESTORE. */
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

// The rewrite path reads expiry and type of a whole batch in one script call (2 commands per key).
const TYPE_SCRIPT = `local out = {}
for i, k in ipairs(KEYS) do
  out[2 * i - 1] = redis.call(ARGV[1], k)
  out[2 * i] = redis.call('TYPE', k).ok
end
return out`;

async function evalScript(r: Redis, script: string, keys: readonly Buffer[], args: Array<string | Buffer>): Promise<unknown> {
  const sha = createHash('sha1').update(script).digest('hex');
  try {
    return await r.callBuffer('EVALSHA', sha, String(keys.length), ...keys, ...args);
  } catch (e) {
    if (!/NOSCRIPT/.test((e as Error).message)) throw e;
    return r.callBuffer('EVAL', script, String(keys.length), ...keys, ...args);
  }
}

/** The rewrite path: read one batch's expiries and types; returns a thunk that rewrites each key on the target. */
export async function readBatch(src: Redis, tgt: Redis, keys: readonly Buffer[], o: BatchOptions): Promise<() => Promise<BatchResult>> {
  const res = keys.length ? ((await evalScript(src, TYPE_SCRIPT, keys, [o.expiry.cmd])) as unknown[]) : [];
  const now = (o.now ?? Date.now)();
  return async () => {
    const r = emptyResult();
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const at = o.expiry.toAbs(Number(res[2 * i]), now);
      const type = String(res[2 * i + 1] ?? 'none');
      if (at === -2 || type === 'none' || (at > 0 && at <= now)) { r.expired++; continue; }
      if (at > 0 && at <= Date.now()) { r.expired++; await tgt.del(key); continue; }
      await rewriteKey(src, tgt, key, type, at);
      r.keys++;
    }
    return r;
  };
}

/**
 * The DUMP path on lean pipelines (resp.ts), plain commands only: `MEMORY USAGE` per key first (O(1)
 * for strings and compact encodings, sampled for big collections), then `PEXPIRETIME` + `DUMP` for
 * keys up to `bigKeyBytes` and `TYPE` for the rest, which go through the chunked rewrite; the writes are
 * pipelined `RESTORE … ABSTTL` (RESTORE from a Lua script cost the target 70 % more CPU: every payload is
 * copied into a Lua string and back).
 * Returns a thunk that writes the batch, as `readBatch` does. `io` are ioredis connections on the same
 * databases, for the chunked rewrite of big keys.
 */
export async function readBatchPiped(src: RespPipe, tgt: RespPipe, io: { src: Redis; tgt: Redis }, keys: readonly Buffer[], o: BatchOptions): Promise<() => Promise<BatchResult>> {
  const usage = await src.send(keys.map((k) => ['MEMORY', 'USAGE', k]));
  const small: number[] = [];
  const big: number[] = [];
  usage.forEach((u, i) => { if (typeof u === 'number') (u <= o.bigKeyBytes ? small : big).push(i); });
  const gone = keys.length - small.length - big.length;
  const read = await src.send([
    ...small.flatMap((i) => [[o.expiry.cmd, keys[i]!], ['DUMP', keys[i]!]]),
    ...big.flatMap((i) => [[o.expiry.cmd, keys[i]!], ['TYPE', keys[i]!]]),
  ]);
  const now = (o.now ?? Date.now)();
  const failed = read.find((r) => r instanceof RespError) as RespError | undefined;
  if (failed) throw new FerryError('E_REDIS_READ', `Reading keys from the source failed: ${failed.message}`, { hint: 'the ACL user needs +dump +memory +pexpiretime (or +@read); see the cause' });
  return async () => {
    const r = emptyResult();
    r.expired += gone;
    const writes: Array<Array<string | Buffer>> = [];
    const written: Buffer[] = [];
    small.forEach((i, j) => {
      const at = o.expiry.toAbs(Number(read[2 * j]), now);
      const payload = read[2 * j + 1] as Buffer | null;
      if (at === -2 || payload === null || (at > 0 && at <= now)) { r.expired++; return; }
      const cmd: Array<string | Buffer> = ['RESTORE', keys[i]!, at > 0 ? String(at) : '0', payload];
      if (at > 0) cmd.push('ABSTTL');
      if (o.replace) cmd.push('REPLACE');
      writes.push(cmd);
      written.push(keys[i]!);
      r.bytes += payload.length + keys[i]!.length;
    });
    const replies: Reply[] = await tgt.send(writes);
    replies.forEach((x, j) => { if (x instanceof RespError) throw restoreError(new Error(x.message), written[j]!); });
    r.keys += written.length;
    const off = 2 * small.length;
    for (let j = 0; j < big.length; j++) {
      const key = keys[big[j]!]!;
      const at = o.expiry.toAbs(Number(read[off + 2 * j]), now);
      const type = String(read[off + 2 * j + 1]);
      if (type === 'none' || at === -2) { r.expired++; continue; }
      if (at > 0 && at <= Date.now()) { r.expired++; await io.tgt.del(key); continue; }
      await rewriteKey(io.src, io.tgt, key, type, at);
      r.keys++;
      r.big++;
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
      hint: 'the target cannot read this payload (newer RDB version or a missing module): set the store\'s path option (redis.path in the preset) to "rewrite"', cause: err,
    });
  }
  return new FerryError('E_REDIS_RESTORE', `RESTORE of key ${printable(key)} failed: ${err.message}`, { hint: 'see the cause; re-run resumes', cause: err });
}
