/**
 * Feed a helper through a FIFO in a bind-mounted host directory instead of its stdin: the docker CLI's
 * attach stream carried 10–100 MB/s here, a pipe in the kernel carries what tar can write. Only for a
 * Docker engine on this machine's kernel and filesystem (volumeStream); elsewhere the stdin path is used.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { hostname, release } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { openHelper, type HelperSpec } from './helper.ts';
import { writeAll } from '../../util/write-all.ts';
import { dockerApi, resolveEngineSocket } from '../../util/docker-api.ts';
import { FerryError } from '../../core/errors.ts';
import { Handoff } from './handoff.ts';

export const STREAM_MOUNT = '/ferry-stream';

/** How a volume's helper gets its stream: a FIFO on the host (the engine shares this kernel) or its stdin. */
export type VolumeStream = 'fifo' | 'stdin';

/** What the engine says of itself (`GET /info`, `docker info`) that tells where it runs. */
export interface EngineInfo { readonly KernelVersion?: string; readonly Name?: string; readonly OperatingSystem?: string }

/**
 * True when the engine runs on this machine's kernel, in its filesystem: a FIFO in a host directory
 * bind-mounted into a helper is then the same pipe on both sides. Docker Desktop (macOS, Windows, and on
 * Linux too) runs the engine in a VM: its file sharing shows the FIFO as a file, and each side would open
 * a pipe of its own and wait forever for the other. A ferry inside a container that reaches the host's
 * engine through its socket shares the kernel but not the filesystem (a host path of its own is not the
 * host's): the engine's host name is not this one's there. So: the same kernel release, the same host
 * name, and not Docker Desktop; anything unknown is "no" (the stdin path works everywhere).
 */
export function sharesThisKernel(info: EngineInfo | undefined, here = { release: release(), hostname: hostname() }): boolean {
  if (!info?.KernelVersion || !info.Name) return false;
  if (/docker desktop/i.test(info.OperatingSystem ?? '')) return false;
  return info.KernelVersion === here.release && info.Name === here.hostname;
}

let decided: Promise<VolumeStream> | undefined;

/**
 * The stream path for this process, decided once: `FERRY_VOLUME_STREAM=fifo|stdin` when set (`auto` or
 * unset: detect), else a FIFO only on Linux, with the engine on a local socket (DOCKER_HOST or the
 * current context, as the CLI resolves it) that shares this kernel (sharesThisKernel).
 */
export function volumeStream(env: NodeJS.ProcessEnv = process.env): Promise<VolumeStream> {
  const forced = env.FERRY_VOLUME_STREAM;
  if (forced && forced !== 'auto') {
    if (forced === 'fifo' || forced === 'stdin') return Promise.resolve(forced);
    return Promise.reject(new FerryError('E_FILES_OPTIONS', `FERRY_VOLUME_STREAM is "${forced}"`, {
      hint: 'set FERRY_VOLUME_STREAM to fifo, stdin or auto (the default: fifo where the Docker engine shares this machine\'s kernel), or unset it',
    }));
  }
  if (!decided) {
    const d = detect();
    decided = d.then((r) => r.stream);
    // An engine that did not answer (not started yet) is asked again next time.
    void d.then((r) => { if (!r.known) decided = undefined; }, () => { decided = undefined; });
  }
  return decided;
}

/** For tests: decide again. */
export function resetVolumeStream(): void { decided = undefined; }

async function detect(): Promise<{ stream: VolumeStream; known: boolean }> {
  if (process.platform !== 'linux') return { stream: 'stdin', known: true };
  // The endpoint as the CLI resolves it, whether or not ferry speaks to it directly (FERRY_DOCKER_API).
  if (!resolveEngineSocket({ ...process.env, FERRY_DOCKER_API: undefined })) return { stream: 'stdin', known: true };
  const info = await engineInfo();
  return { stream: sharesThisKernel(info) ? 'fifo' : 'stdin', known: info !== undefined };
}

async function engineInfo(): Promise<EngineInfo | undefined> {
  const r = await dockerApi('GET', '/info').catch(() => undefined);
  if (r && r.status === 200 && typeof r.body === 'object' && r.body !== null) return r.body as EngineInfo;
  try {
    const { stdout } = await promisify(execFile)('docker', ['info', '--format', '{{json .}}'], { maxBuffer: 16 << 20 });
    return JSON.parse(stdout) as EngineInfo;
  } catch { return undefined; }
}

/** How long a helper may take to open its FIFO before the stream is given up (it never does where the FIFO is not shared). */
export const FIFO_OPEN_TIMEOUT_MS = 120_000;

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
  /** Default FIFO_OPEN_TIMEOUT_MS. */
  readonly openTimeoutMs?: number;
}

export async function feedThroughFifo(r: FifoRun): Promise<void> {
  const { script, input, ...rest } = r;
  await feedThroughFifos({ ...rest, script: (f) => script(f[0]![0]!), phases: [[input]] });
}

/**
 * Several streams to one helper: `phases` run one after another (phase p's FIFOs are opened once p - 1's
 * are written and closed), the streams of a phase side by side, each in order through a FIFO of its own
 * (copy-volume.ts: directories, then the files over one `tar -x` per core, then links and directories
 * again). The helper's script gets the FIFOs' paths inside the container, by phase.
 */
export interface FifoPhasesRun extends Omit<FifoRun, 'script' | 'input'> {
  readonly script: (fifos: string[][]) => string;
  readonly phases: ReadonlyArray<ReadonlyArray<AsyncIterable<Buffer>>>;
}

export async function feedThroughFifos(r: FifoPhasesRun): Promise<void> {
  await mkdir(r.dir, { recursive: true });
  const single = r.phases.length === 1 && r.phases[0]!.length === 1;
  const names = r.phases.map((lanes, p) => lanes.map((_, i) => (single ? 'tar.fifo' : `tar-${p}-${i}.fifo`)));
  const hostPaths = names.flat().map((n) => join(r.dir, n));
  for (const f of hostPaths) {
    await rm(f, { force: true });
    await promisify(execFile)('mkfifo', ['-m', '600', f]);
  }
  try {
    const h = await openHelper({ h: r.h, cmd: ['sh', '-c', r.script(names.map((ns) => ns.map((n) => `${STREAM_MOUNT}/${n}`)))], mounts: [`${r.dir}:${STREAM_MOUNT}`], what: r.what, ...(r.signal ? { signal: r.signal } : {}) });
    void (async () => { for await (const _ of h.stdout) { /* drain */ } })().catch(() => undefined);
    const finished = h.finished();
    finished.catch(() => undefined);
    const failed = async (e: unknown): Promise<never> => {
      // A reader that went away (EPIPE): the helper's own error, with its stderr, says why (it ends once its
      // other streams are closed; it is not waited for long).
      if ((e as NodeJS.ErrnoException | undefined)?.code === 'EPIPE') {
        const own = await Promise.race([finished.then(() => undefined, (x: unknown) => x), sleep(10_000).then(() => undefined)]);
        if (own) { h.kill(); throw own; }
      }
      h.kill();
      await finished.catch(() => undefined);
      throw e;
    };
    for (let p = 0; p < r.phases.length; p++) {
      const lanes = r.phases[p]!;
      // Each stream is written as soon as its tar opened it, to its end; once one fails (or cannot be
      // opened), the others stop after the write in flight or give up their open (their tars then read
      // the end of their streams), and the helper is stopped.
      const stop = new AbortController();
      const signal = r.signal ? AbortSignal.any([r.signal, stop.signal]) : stop.signal;
      let failure: { e: unknown } | undefined;
      await Promise.all(lanes.map(async (input, i) => {
        let fh: FileHandle | undefined;
        try {
          fh = await openForWriting(join(r.dir, names[p]![i]!), h, finished, r, stop.signal);
          await writeInOrder(fh, input, Math.max(1, r.ahead ?? 1), signal);
        } catch (e) {
          if (!failure) { failure = { e }; stop.abort(e); }
        } finally {
          await fh?.close().catch(() => undefined); // the helper's tar reads to the end of the stream
        }
      }));
      if (failure) await failed(failure.e);
    }
    await finished;
  } finally {
    for (const f of hostPaths) await rm(f, { force: true });
  }
}

/**
 * Open `fifo` for writing: that waits for the helper to open it for reading. If the helper exits first,
 * a reader of our own releases the open and the helper's error is thrown; a helper that never opens it
 * (an engine whose FIFO is not this one, in spite of volumeStream's checks) is stopped after a while,
 * with what to do, instead of waiting forever.
 */
async function openForWriting(fifo: string, h: Awaited<ReturnType<typeof openHelper>>, finished: Promise<void>, r: Pick<FifoRun, 'h' | 'dir' | 'what' | 'openTimeoutMs'>, stop?: AbortSignal): Promise<FileHandle> {
  const opening = open(fifo, 'w');
  let timer: NodeJS.Timeout | undefined;
  let onStop: (() => void) | undefined;
  const late = new Promise<'late'>((res) => { timer = setTimeout(() => res('late'), r.openTimeoutMs ?? FIFO_OPEN_TIMEOUT_MS); });
  // Another stream of the phase failed: this one is not waited for.
  const stopped = new Promise<'stopped'>((res) => { onStop = () => res('stopped'); if (stop?.aborted) onStop(); else stop?.addEventListener('abort', onStop, { once: true }); });
  const first = await Promise.race([opening.then(() => 'open' as const), finished.then(() => 'exited' as const, () => 'exited' as const), late, stopped])
    .finally(() => { clearTimeout(timer); if (onStop) stop?.removeEventListener('abort', onStop); });
  if (first === 'open') return opening;
  if (first === 'late') await h.stop();
  const unblock = await open(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  await (await opening).close();
  await unblock.close();
  if (first === 'stopped') throw stop!.reason;
  if (first === 'late') {
    await finished.catch(() => undefined);
    const s = Math.round((r.openTimeoutMs ?? FIFO_OPEN_TIMEOUT_MS) / 1000);
    throw new FerryError('E_FILES_HELPER', `the helper to ${r.what} on volume ${r.h.volume} did not open its stream (a FIFO in ${r.dir}) within ${s} s`, {
      hint: 'the Docker engine seems not to share this machine\'s kernel and files (a VM, a remote engine, ferry in a container): run again with FERRY_VOLUME_STREAM=stdin, which sends the stream on the helper\'s stdin',
    });
  }
  await finished;
  throw new Error(`helper for ${r.what} exited before reading its stream`);
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
