/**
 * Whole files into a bind mount on worker threads: each file is read once into a reused buffer, hashed
 * from it and written, then given owner, mode and mtime on the open descriptor (the mtime last). A new
 * name is created and written in place (as tar does); a name that exists (a changed file, an entry that
 * changed type, what a killed run left) is written to a temporary name beside it (`.ferry-tmp-…`) and
 * renamed over it, so a file the target held stays whole until its replacement is. A killed run's part at
 * a new name has another size or mtime than the manifest's, so the next run copies it again. A worker
 * runs its files with synchronous calls, one after the other (no thread pool round trip per call); the
 * main thread sends them in batches.
 *
 * The rename was a fifth to a quarter of a small file's copy (ext4; 50k files of 5-35 KB on one thread:
 * 3.0-3.3 CPU-s with a temporary name and a rename each, 2.3-2.5 in place; 100k files of 2-62 KB on two
 * workers, alternating: 16.7 / 9.8 CPU-s before, 12.3 / 7.8 in place).
 *
 * Why (scale 20, 20k files): the kernel copy (copy_file_range, then the hash re-read from the page cache)
 * plus path calls (chown, chmod, utimes, a stat and a cross-directory rename out of one staging directory)
 * made ~20 calls a file, most of them on the main thread, and every creation and rename locked the one
 * staging directory (and the filesystem's rename lock): 10 calls a file here, spread over the tree's
 * directories, on one worker per core. The copy's process spent 4.3-4.4 CPU-s before, 3.35-3.45 now
 * (ext4, scale 20, 3 alternating runs each; 100k files: 28.1 -> 17.5 CPU-s).
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { workerExecArgv } from '../../util/worker-exec-argv.ts';

/** One file to copy: absolute paths (bytes), what the manifest says of it, and the owner it gets. */
export interface CopyJob {
  readonly src: Buffer;
  readonly dest: Buffer;
  /** The temporary name it is written to (beside `dest`, or in the staging directory). */
  readonly tmp: Buffer;
  readonly size: number;
  readonly mode: number;
  /** Seconds, as utimes takes them. */
  readonly mtime: number;
  readonly uid: number;
  readonly gid: number;
}

export interface CopyDone { readonly sha256: string; readonly bytes: number }

/**
 * A job as sent: paths as latin1 strings (one char per byte, so exact). A Buffer would be cloned with its
 * whole backing store: Node's small Buffers share 8 KiB slabs, so 3 paths a file cost 24 KiB of copying.
 */
type WireJob = Omit<CopyJob, 'src' | 'dest' | 'tmp'> & { readonly src: string; readonly dest: string; readonly tmp: string };

type Reply = { ok: true; sha256: string; bytes: number } | { ok: false; code?: string | undefined; message: string };

const BLOCK = 1 << 20;
/** Jobs per message: a worker replies per message, so its files come back (and the window moves on) 32 at a time (copy-bind.ts WINDOW_PER_SLOT). */
const BATCH = 32;

/** A worker's young generation (MB): its garbage is a few strings and a hash per file; the default grows to 16-32 MB semi-spaces. */
const WORKER_YOUNG_MB = 4;

/**
 * Up to these many files (and bytes) to copy, a copy runs on the calling thread (CopyPool.plan): a final
 * pass after a handful of changes spent ~50 ms (of ~0.3 s) waiting for a worker to boot, to copy a few
 * KiB. Above them, the workers' parallel reads and writes win.
 */
export const INLINE_FILES = 64;
export const INLINE_BYTES = 8 << 20;

/**
 * Copy workers at most, whatever the cores: each is a V8 isolate of its own, ~12 MB of RSS with its
 * 1 MiB buffer (a scale-20 first copy peaked at 120 / 130 / 143 / 156 MB with 1 / 2 / 3 / 4 workers);
 * the process holds 256 MB with 4 (see poolSize).
 */
export const MAX_WORKERS = 4;

/**
 * Workers for a copy of `concurrency` files in flight: `workers` when set (the store's copyWorkers),
 * else one per core, at most `concurrency` and MAX_WORKERS. The main thread walks the manifest and the
 * target and decides; the workers read, hash and write, which is where a copy spends its CPU, so on 2
 * cores two workers copy while the main thread mostly waits. Memory decided this once (one worker per
 * core beside the main thread, 1 on 2 cores: two peaked at 254-270 MB over 100k files): the main
 * thread's young generation grew with the file count. Held at its size since (young-gen.ts). Scale 100
 * (100k files, 4.15 GB), 2 cores, 3 alternating runs in one bench invocation (load 1.7-2.1): one worker
 * 12.75 / 12.28 / 13.14 s, 13.6 / 13.0 / 13.4 CPU-s, 142-153 MB; two 11.17 / 10.38 / 11.78 s,
 * 14.7 / 14.2 / 14.8 CPU-s, 150-157 MB (12-15 % faster, 8-10 % more CPU). The two write in the same
 * directory and take its lock in turn for each create and rename: on a disk with inodes deleted in the
 * last minutes (ext4 scans past them under that lock) the other spun on it (22 % of a perf profile,
 * the copy's CPU doubled); on a quiet disk ~1 %. 200k files: 171 / 177 MB.
 */
export function poolSize(concurrency: number, workers?: number): number {
  if (workers !== undefined) return Math.max(1, Math.min(workers, concurrency));
  return Math.max(1, Math.min(concurrency, availableParallelism(), MAX_WORKERS));
}

/** A pool of copy workers, started on the first job; `close` ends them. */
export class CopyPool {
  private readonly size: number;
  private workers: Array<{ w: Worker; queue: Array<{ n: number; done: Array<(r: Reply) => void> }>; cost: number }> = [];
  private pending: Array<{ job: WireJob; done: (r: Reply) => void }> = [];
  private scheduled = false;
  private failed: Error | undefined;
  private closed = false;
  /** Copies run on the calling thread (see plan). */
  private inline = false;

  constructor(size: number) { this.size = size; }

  /**
   * The copy's plan is known (`files` to copy, `bytes` in them): a small one runs on the calling thread
   * (no worker started), a larger one on the workers (started now if they are not).
   */
  plan(files: number, bytes: number): void {
    if (!this.workers.length && files <= INLINE_FILES && bytes <= INLINE_BYTES) this.inline = true;
    else this.warm();
  }

  /** Copy one file (see the module comment); rejects with the errno error of the call that failed. */
  copy(job: CopyJob): Promise<CopyDone> {
    if (this.failed || this.closed) return Promise.reject(this.failed ?? new Error('the copy pool is closed'));
    return new Promise((resolve, reject) => {
      const wire = { ...job, src: job.src.toString('latin1'), dest: job.dest.toString('latin1'), tmp: job.tmp.toString('latin1') };
      if (this.inline) {
        try { const r = inlineCopy()(wire); resolve({ sha256: r.sha256, bytes: r.bytes }); } catch (e) { reject(e as Error); }
        return;
      }
      this.pending.push({ job: wire, done: (r) => (r.ok ? resolve({ sha256: r.sha256, bytes: r.bytes }) : reject(errnoError(r))) });
      if (!this.scheduled) { this.scheduled = true; setImmediate(() => this.flush()); }
    });
  }

  /** Workers started (none for a copy planned inline). */
  get started(): number { return this.workers.length; }

  /** Start the workers now (they take ~0.1 s to boot), if not started and the copy is not planned inline. */
  warm(): void {
    if (!this.workers.length && !this.closed && !this.inline) this.start();
  }

  private start(): void {
    for (let i = 0; i < this.size; i++) {
      const w = new Worker(WORKER_SOURCE, { eval: true, execArgv: workerExecArgv(), resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_MB } });
      const slot = { w, queue: [] as Array<{ n: number; done: Array<(r: Reply) => void> }>, cost: 0 };
      w.on('message', (replies: Reply[]) => {
        const b = slot.queue.shift()!;
        slot.cost -= b.n;
        for (let k = 0; k < replies.length; k++) b.done[k]!(replies[k]!);
      });
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => { if (slot.queue.length) this.fail(new Error(`a copy worker exited (${code}) with files in flight`)); });
      this.workers.push(slot);
    }
  }

  private fail(e: Error): void {
    this.failed ??= e;
    for (const s of this.workers) for (const b of s.queue.splice(0)) for (const d of b.done) d({ ok: false, message: e.message });
  }

  /** The pending jobs, each to the worker with the least work queued (bytes, and a block per file), a message per worker. */
  private flush(): void {
    this.scheduled = false;
    this.warm();
    const jobs = this.pending;
    this.pending = [];
    const out = this.workers.map(() => ({ jobs: [] as WireJob[], done: [] as Array<(r: Reply) => void> }));
    for (const { job, done } of jobs) {
      let best = 0;
      for (let i = 1; i < this.workers.length; i++) if (this.workers[i]!.cost < this.workers[best]!.cost) best = i;
      const o = out[best]!, s = this.workers[best]!;
      o.jobs.push(job); o.done.push(done);
      s.cost += job.size + BLOCK / 16;
      if (o.jobs.length === BATCH) { this.post(best, o.jobs, o.done); out[best] = { jobs: [], done: [] }; }
    }
    out.forEach((o, i) => { if (o.jobs.length) this.post(i, o.jobs, o.done); });
  }

  private post(i: number, jobs: WireJob[], done: Array<(r: Reply) => void>): void {
    const s = this.workers[i]!;
    const n = jobs.reduce((a, j) => a + j.size + BLOCK / 16, 0);
    s.queue.push({ n, done });
    s.w.postMessage(jobs);
  }

  async close(): Promise<void> {
    this.closed = true;
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((s) => s.w.terminate()));
  }
}

function errnoError(r: Extract<Reply, { ok: false }>): Error {
  return Object.assign(new Error(r.message), r.code ? { code: r.code } : {});
}

/**
 * The worker, in plain JavaScript: a worker loading this TypeScript module would strip types with its
 * own copy of Node's TypeScript loader (wasm), ~30 MB more RSS and ~0.05 CPU-s more a worker.
 * A job's file: read into the reused buffer (the first read asks one byte more than the manifest's
 * size: a short read is the end, one read for a small file), hashed from it, written to the temporary
 * name (created new: one a killed run left there goes first), owner then mode (a chown clears set-id
 * bits) then mtime on the descriptor, renamed into place (a directory in the way, the entry having
 * changed type on the source, goes first). A failure removes the temporary file and names the errno.
 */
const COPY_SOURCE = `
const { closeSync, constants, fchmodSync, fchownSync, futimesSync, openSync, readSync, renameSync, rmSync, unlinkSync, writeSync } = require('node:fs');
const { createHash } = require('node:crypto');
const buf = Buffer.allocUnsafe(${BLOCK});
const TMP_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
function openTmp(tmp) {
  try { return openSync(tmp, TMP_FLAGS, 0o600); } catch (e) {
    if (e.code !== 'EEXIST') throw e;
    unlinkSync(tmp);
    return openSync(tmp, TMP_FLAGS, 0o600);
  }
}
function copy(j) {
  const src = Buffer.from(j.src, 'latin1'), dest = Buffer.from(j.dest, 'latin1');
  const r = openSync(src, 'r');
  let w = -1;
  // A new name is written in place; one that exists (a changed file, a type change, a killed run's part) under the temporary name.
  let tmp = null;
  /** The name this call created (removed if the copy fails). */
  let made = null;
  try {
    try { w = openSync(dest, TMP_FLAGS, 0o600); made = dest; } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      tmp = Buffer.from(j.tmp, 'latin1');
      w = openTmp(tmp);
      made = tmp;
    }
    const h = createHash('sha256');
    let bytes = 0;
    for (let want = Math.min(j.size + 1, buf.length); ; want = buf.length) {
      const n = readSync(r, buf, 0, want, null);
      if (n > 0) {
        h.update(buf.subarray(0, n));
        for (let off = 0; off < n;) off += writeSync(w, buf, off, n - off, bytes + off);
        bytes += n;
      }
      if (n < want) break;
    }
    fchownSync(w, j.uid, j.gid);
    fchmodSync(w, j.mode);
    futimesSync(w, j.mtime, j.mtime);
    closeSync(w);
    w = -1;
    made = tmp;
    if (tmp) {
      try { renameSync(tmp, dest); } catch (e) {
        if (e.code !== 'EISDIR' && e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
        rmSync(dest, { recursive: true, force: true });
        renameSync(tmp, dest);
      }
    }
    return { ok: true, sha256: h.digest('hex'), bytes };
  } catch (e) {
    if (w >= 0) closeSync(w);
    if (made) try { unlinkSync(made); } catch {}
    throw e;
  } finally {
    closeSync(r);
  }
}
`;

type CopyFn = (j: WireJob) => { ok: true; sha256: string; bytes: number };
let inlineFn: CopyFn | undefined;
/** The workers' copy, compiled once on this thread (the same source: one implementation, tested both ways). */
function inlineCopy(): CopyFn {
  inlineFn ??= new Function('require', `${COPY_SOURCE}\nreturn copy;`)(createRequire(import.meta.url)) as CopyFn;
  return inlineFn;
}

/** The worker: the copy above, and a reply per message of jobs. */
const WORKER_SOURCE = `${COPY_SOURCE}
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (jobs) => {
  const replies = [];
  for (const j of jobs) {
    try { replies.push(copy(j)); } catch (e) { replies.push({ ok: false, code: e.code, message: e.message }); }
  }
  parentPort.postMessage(replies);
});
`;
