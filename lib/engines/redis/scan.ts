/**
 * SCAN over one logical database in batches of binary-safe key names, resumable from a cursor.
 * SCAN may return a key twice; every consumer here is idempotent for a repeated key.
 */
import type { Redis } from 'ioredis';
import type { RespPipe } from './resp.ts';

export interface ScanBatch {
  readonly keys: readonly Buffer[];
  /** Cursor after this batch ('0' when the database is done). */
  readonly cursor: string;
}

export interface ScanOptions {
  /** Start here (a cursor saved by an earlier, interrupted run). */
  readonly cursor?: string;
  readonly count?: number;
  readonly match?: string;
}

/** Yields non-empty batches (and a final one carrying cursor '0'). */
export async function* scanBatches(redis: Redis | RespPipe, opts: ScanOptions = {}): AsyncGenerator<ScanBatch> {
  let cursor = opts.cursor ?? '0';
  const extra = opts.match ? ['MATCH', opts.match] : [];
  do {
    const args = ['SCAN', cursor, 'COUNT', String(opts.count ?? 1000), ...extra];
    const reply = 'send' in redis ? (await redis.send([args]))[0] : await redis.callBuffer(args[0]!, ...args.slice(1));
    if (!Array.isArray(reply)) throw new Error(`SCAN failed: ${String((reply as { message?: string })?.message ?? reply)}`);
    const [next, keys] = reply as [Buffer, Buffer[]];
    cursor = next.toString();
    if (keys.length || cursor === '0') yield { keys, cursor };
  } while (cursor !== '0');
}

/** Absolute expiry (unix ms) per key: -1 none, -2 gone. Uses PEXPIRETIME on 7.0+, PTTL elsewhere. */
export function expiryCommand(hasPexpiretime: boolean): { cmd: string; toAbs: (v: number, now: number) => number } {
  return hasPexpiretime
    ? { cmd: 'PEXPIRETIME', toAbs: (v) => v }
    : { cmd: 'PTTL', toAbs: (v, now) => (v < 0 ? v : now + v) };
}
