/**
 * Feed a helper through a FIFO in a bind-mounted host directory instead of its stdin: the docker CLI's
 * attach stream carried 10–100 MB/s here, a pipe in the kernel carries what tar can write. Only for a
 * Docker engine on this machine's kernel (Linux, local socket); elsewhere the stdin path is used.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openHelper, type HelperSpec } from './helper.ts';
import { writeAll } from '../../util/write-all.ts';
import { Handoff } from './handoff.ts';

export const STREAM_MOUNT = '/ferry-stream';

/** True when the Docker engine shares this kernel (a FIFO on the host is a FIFO in the container). */
export function fifoUsable(): boolean {
  const host = process.env.DOCKER_HOST;
  return process.platform === 'linux' && (!host || host.startsWith('unix://'));
}

export interface FifoRun {
  readonly h: HelperSpec;
  /** A host directory for the FIFO (ferry's state directory of the store). */
  readonly dir: string;
  /** The helper's shell script, given the FIFO's path inside the container. */
  readonly script: (fifo: string) => string;
  /**
   * The chunks, written in order. Up to `ahead` of them wait to be written while the next is made: chunk
   * k is written out before chunk k + ahead + 1 is asked for (a producer recycling its buffers relies on
   * that: tar-write.ts's ring of ahead + 1).
   */
  readonly input: AsyncIterable<Buffer>;
  /** Chunks written or waiting while the next is made (default 1). */
  readonly ahead?: number;
  readonly what: string;
  readonly signal?: AbortSignal;
}

export async function feedThroughFifo(r: FifoRun): Promise<void> {
  await mkdir(r.dir, { recursive: true });
  const fifo = join(r.dir, 'tar.fifo');
  await rm(fifo, { force: true });
  await promisify(execFile)('mkfifo', ['-m', '600', fifo]);
  try {
    const h = await openHelper({ h: r.h, cmd: ['sh', '-c', r.script(`${STREAM_MOUNT}/tar.fifo`)], mounts: [`${r.dir}:${STREAM_MOUNT}`], what: r.what, ...(r.signal ? { signal: r.signal } : {}) });
    void (async () => { for await (const _ of h.stdout) { /* drain */ } })().catch(() => undefined);
    const finished = h.finished();
    finished.catch(() => undefined);
    // Opening for writing waits for the helper's tar to open for reading; if the helper dies first,
    // a reader of our own releases the open, and the helper's error is thrown.
    const opening = open(fifo, 'w');
    const first = await Promise.race([opening.then(() => 'open' as const), finished.then(() => 'exited' as const, () => 'exited' as const)]);
    if (first === 'exited') {
      const unblock = await open(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
      await (await opening).close();
      await unblock.close();
      await finished;
      throw new Error(`helper for ${r.what} exited before reading its stream`);
    }
    const fh = await opening;
    try {
      await writeInOrder(fh, r.input, Math.max(1, r.ahead ?? 1), r.signal);
      await fh.close(); // the helper's tar reads to the end of the stream
    } catch (e) {
      await fh.close().catch(() => undefined);
      h.kill();
      await finished.catch(() => undefined);
      throw e;
    }
    await finished;
  } finally {
    await rm(fifo, { force: true });
  }
}

/**
 * Write `input`'s chunks to `fh` in order, one write at a time, with up to `ahead` chunks written or
 * waiting while the next is made. The pipe between ferry and the helper's tar holds 64 KiB: with one
 * chunk ahead, a stall of either side (tar creating small files, ferry reading and hashing them) soon
 * stopped the other (scale 20: the stream ran ~3 s with ferry's main thread 50-80 % busy and the helper's
 * tar at ~2.3 CPU-s; the same tar extracts that tree from a file in ~1.1 s). Chunks queued ahead carry
 * the writes through ferry's stalls and let ferry run ahead through tar's (copy-volume.ts FIFO_AHEAD).
 * Returns once every chunk is written; on a failure, no write is left in flight (its buffer may be
 * refilled, its descriptor closed).
 */
export async function writeInOrder(fh: FileHandle, input: AsyncIterable<Buffer>, ahead: number, signal?: AbortSignal): Promise<void> {
  // Handed over, not yet taken: at most ahead - 1 once a push resolves, plus the one being written.
  const queue = new Handoff<Buffer>(ahead);
  const writer = (async () => { for await (const chunk of queue) await writeAll(fh, chunk); })();
  // A failed write stops the producer: its next push rejects with the write's error.
  writer.catch((e: unknown) => queue.stop(e));
  try {
    for await (const chunk of input) {
      signal?.throwIfAborted();
      await queue.push(chunk);
    }
    queue.end();
  } catch (e) {
    queue.detach(); // chunks not written yet are dropped; the write in flight ends first
    await writer.catch(() => undefined);
    throw e;
  }
  await writer;
}
