/**
 * A large file into a bind mount, in the ranges ranges.ts plans: RANGES_IN_FLIGHT (2) at once, with
 * positional reads and writes on the two open files, each range taking one of the copy's in-flight
 * slots (the same budget whole files take: a big file at the tail of the job is not copied on one stream,
 * and the slots it leaves go to the next files). Node exposes no kernel copy with offsets (copyFile is
 * whole-file), so the bytes pass through one reused RANGE_BLOCK buffer per range in flight: memory is at
 * most slots × 1 MiB (8 MiB at the default 8), plus one buffer per large file for its hash.
 *
 * The partial is `<staging>/ranges/<key>`, sized to the full length first (ftruncate), so a sparse file's
 * all-zero HOLE_BLOCKs are simply not written and stay holes. Each range done is recorded (copied.ts
 * RangeRecord) with the crc32 of its bytes; a resumed run keeps a recorded range only when the partial
 * still holds those bytes (crc32 read back: no fsync on the copy's path, a range the crash lost is copied
 * again), and copies the rest. The file's sha256 is read from the source in order, behind the ranges
 * already copied (from the page cache they filled), kept ranges included: the manifest's hash is the
 * whole file's, and verify hashes the target's whole file, so a damaged range is still named.
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { forgetRanges, readRangeRecord, recordRange, startRanges } from './copied.ts';
import type { ManifestEntry } from './manifest.ts';
import { dataPieces, pendingRanges, planRanges, rangeKey, recordedRanges, RANGE_BLOCK, RANGES_IN_FLIGHT, type Range, type Slots } from './ranges.ts';
import { writeAll } from '../../util/write-all.ts';

const pool: Buffer[] = [];
const takeBuffer = () => pool.pop() ?? Buffer.allocUnsafe(RANGE_BLOCK);
const giveBuffer = (b: Buffer) => { if (pool.length < 64) pool.push(b); };

export interface RangedCopyOptions {
  readonly src: Buffer | string;
  /** The staging directory; the partial is `<staging>/ranges/<key>`. */
  readonly staging: string;
  /** Where the range records live (the store's state directory). */
  readonly stateDir: string;
  readonly entry: ManifestEntry;
  readonly targetPath: Buffer;
  readonly rangeBytes: number;
  readonly slots: Slots;
  /** Ranges of this file in flight at most (RANGES_IN_FLIGHT). */
  readonly inFlight?: number;
  readonly signal?: AbortSignal | undefined;
  /** A range is copied and recorded: its bytes. */
  readonly onRange?: (bytes: number) => void;
}

export interface RangedCopyResult {
  /** The partial, complete: to be given its owner, mode and mtime and renamed into place. */
  readonly file: string;
  /** The source's sha256, read in order; undefined when the source changed under the copy (verify names it). */
  readonly sha256: string | undefined;
  /** Bytes copied by this run (kept ranges excluded). */
  readonly bytes: number;
  readonly ranges: number;
  readonly copied: number;
  /** Ranges a killed run had recorded, found intact on the partial and not copied again. */
  readonly kept: number;
}


/**
 * Copy one large file in ranges to its partial (resuming from its record), hashing the source in order.
 * Undefined when the source does not have the manifest's size, or shrank while copied (the caller copies it whole).
 */
export async function copyRanged(o: RangedCopyOptions): Promise<RangedCopyResult | undefined> {
  const e = o.entry;
  const key = rangeKey(o.targetPath);
  const dir = join(o.staging, 'ranges');
  const file = join(dir, key);
  const src = await open(o.src, 'r');
  let dst: FileHandle | undefined;
  try {
    const st0 = await src.stat();
    if (st0.size !== e.size) return undefined;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const plan = planRanges(e.size, o.rangeBytes);
    const partial = await lstat(file).catch(() => undefined);
    const recorded = recordedRanges(await readRangeRecord(o.stateDir, key), e, o.targetPath, o.rangeBytes, partial?.isFile() ? partial.size : undefined);
    const done = new Map<number, number>();
    if (recorded.size) {
      dst = await open(file, 'r+');
      for (const [i, crc] of recorded) if (await crcOf(dst, plan[i]!, o.signal) === crc) done.set(i, crc);
    } else {
      await forgetRanges(o.stateDir, key);
      dst = await open(file, 'w', 0o600);
      await dst.truncate(e.size);
    }
    const kept = done.size;
    const base = { path: o.targetPath.toString('base64'), size: e.size, mtimeMs: e.mtimeMs, ...(e.ino !== undefined ? { ino: e.ino } : {}), rangeBytes: o.rangeBytes };
    // The record starts again from what the partial was found to hold; each range done then adds a line.
    await startRanges(o.stateDir, key, { ...base, done: Object.fromEntries(done) });

    // The hash follows the bytes already copied (read back from the source, in order).
    const progress = plan.map((r) => (done.has(r.index) ? r.end : r.start));
    let stop = false, changed = false, wake: (() => void) | undefined;
    const kick = () => { const w = wake; wake = undefined; w?.(); };
    const hashing = (async (): Promise<string | undefined> => {
      const h = createHash('sha256');
      const buf = takeBuffer();
      try {
        for (let at = 0; at < e.size;) {
          if (stop) return undefined;
          const upTo = progress[Math.floor(at / o.rangeBytes)]!;
          if (at >= upTo) { await new Promise<void>((res) => { wake = res; }); continue; }
          const want = Math.min(RANGE_BLOCK, upTo - at);
          const { bytesRead } = await src.read(buf, 0, want, at);
          if (bytesRead < want) { changed = true; return undefined; }
          h.update(buf.subarray(0, bytesRead));
          at += bytesRead;
        }
        return h.digest('hex');
      } finally { giveBuffer(buf); }
    })();
    hashing.catch(() => undefined); // awaited once the ranges are done

    let bytes = 0, copied = 0;
    const out = dst;
    const copyRange = async (r: Range): Promise<void> => {
      const buf = takeBuffer();
      try {
        let crc = 0;
        for (let pos = r.start; pos < r.end;) {
          o.signal?.throwIfAborted();
          if (stop) return;
          const want = Math.min(RANGE_BLOCK, r.end - pos);
          const { bytesRead } = await src.read(buf, 0, want, pos);
          if (bytesRead < want) { changed = true; return; } // the source shrank: this range stays unrecorded
          crc = crc32(buf.subarray(0, bytesRead), crc);
          for (const [off, len] of dataPieces(buf, bytesRead, e.sparse === true)) await writeAll(out, buf, off, len, pos + off);
          pos += bytesRead;
          progress[r.index] = pos;
          kick();
        }
        done.set(r.index, crc);
      } finally { giveBuffer(buf); }
    };
    const pending = pendingRanges(plan, new Set(done.keys()));
    let next = 0;
    const worker = async () => {
      try {
        while (next < pending.length && !stop) {
          const r = pending[next++]!;
          await o.slots.run(() => copyRange(r));
          if (!done.has(r.index)) continue;
          // Recorded before it is reported (outside the slot: the other ranges go on meanwhile).
          await recordRange(o.stateDir, key, r.index, done.get(r.index)!);
          copied++;
          bytes += r.end - r.start;
          o.onRange?.(r.end - r.start);
        }
      } catch (err) {
        stop = true; // the other ranges stop at their next block
        throw err;
      }
    };
    const workers = await Promise.allSettled(Array.from({ length: Math.min(o.inFlight ?? RANGES_IN_FLIGHT, o.slots.size, pending.length) }, worker));
    const failed = workers.find((w) => w.status === 'rejected');
    if (failed || changed) { stop = true; kick(); }
    const sha256 = await hashing;
    if (failed) throw (failed as PromiseRejectedResult).reason;
    // The source shrank under the copy: the partial is not the file any more; the caller copies it whole.
    if (changed) { await forgetRanges(o.stateDir, key); return undefined; }
    const st1 = await src.stat();
    const same = st1.size === e.size && st1.mtimeMs === st0.mtimeMs;
    return { file, sha256: same ? sha256 : undefined, bytes, ranges: plan.length, copied, kept };
  } finally {
    await src.close();
    await dst?.close();
  }
}

/** crc32 of a range of the partial (holes read as zeros). */
async function crcOf(fh: FileHandle, r: Range, signal?: AbortSignal): Promise<number> {
  const buf = takeBuffer();
  try {
    let crc = 0;
    for (let pos = r.start; pos < r.end;) {
      signal?.throwIfAborted();
      const { bytesRead } = await fh.read(buf, 0, Math.min(RANGE_BLOCK, r.end - pos), pos);
      if (bytesRead === 0) return -1;
      crc = crc32(buf.subarray(0, bytesRead), crc);
      pos += bytesRead;
    }
    return crc;
  } finally { giveBuffer(buf); }
}
