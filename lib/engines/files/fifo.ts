/**
 * Feed a helper through a FIFO in a bind-mounted host directory instead of its stdin: the docker CLI's
 * attach stream carried 10–100 MB/s here, a pipe in the kernel carries what tar can write. Only for a
 * Docker engine on this machine's kernel (Linux, local socket); elsewhere the stdin path is used.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openHelper, type HelperSpec } from './helper.ts';
import { writeAll } from '../../util/write-all.ts';

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
  /** One chunk written while the next is made: chunk k is written out before chunk k+2 is asked for. */
  readonly input: AsyncIterable<Buffer>;
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
      // One chunk written while the next is made; each is written out whole before the one after next
      // is asked for (the tar stream refills its two buffers in turn).
      let writing: Promise<void> = Promise.resolve();
      try {
        for await (const chunk of r.input) {
          r.signal?.throwIfAborted();
          await writing;
          writing = writeAll(fh, chunk);
        }
      } finally {
        await writing.catch(() => undefined); // never leave a write in flight on a buffer being refilled or a closing fd
      }
      await writing;
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
