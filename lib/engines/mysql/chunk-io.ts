/**
 * Chunk files written and read in reused 1 MiB blocks. Every fresh Buffer of that size is memory outside
 * V8's heap, and V8 answers each ~64 MB of it with a full mark-compact: at 300 MB exported and loaded
 * that was ~40 of them, a third of this process's main-thread time (scale 100, `--trace-gc`). Blocks go
 * back to a small shared pool once written or sent.
 */
import { EventEmitter } from 'node:events';
import { open, type FileHandle } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { writeAll } from '../../util/write-all.ts';

export const BLOCK_BYTES = 1 << 20;
const POOL_MAX = 8;
const pool: Buffer[] = [];

const takeBlock = (): Buffer => pool.pop() ?? Buffer.allocUnsafeSlow(BLOCK_BYTES);
const giveBlock = (b: Buffer): void => { if (b.length === BLOCK_BYTES && pool.length < POOL_MAX) pool.push(b); };

/**
 * Sequential file output with its sha256. Bytes are copied into a block as they come: holding mysql2's
 * row buffers (views into its socket reads) until a flush kept far more memory alive than the bytes themselves.
 */
export class ChunkWriter {
  readonly #file: Promise<FileHandle>;
  readonly #hash = createHash('sha256');
  #block = takeBlock();
  #used = 0;
  #sealed: Array<{ buf: Buffer; len: number }> = [];
  #sealedBytes = 0;
  bytes = 0;
  constructor(path: string) {
    this.#file = open(path, 'w');
    this.#file.catch(() => undefined); // reported by flush or close
  }

  /** Queue bytes (copied); true when a flush is due. */
  push(b: Buffer): boolean {
    this.bytes += b.length;
    if (b.length > BLOCK_BYTES >> 2) {
      this.#seal();
      this.#sealed.push({ buf: Buffer.from(b), len: b.length });
      this.#sealedBytes += b.length;
      return true;
    }
    if (this.#used + b.length > BLOCK_BYTES) this.#seal();
    this.#used += b.copy(this.#block, this.#used);
    return this.#sealedBytes > 0;
  }

  /** A flush is due (a block is full). */
  get due(): boolean { return this.#sealedBytes > 0; }

  #seal(): void {
    if (!this.#used) return;
    this.#sealed.push({ buf: this.#block, len: this.#used });
    this.#sealedBytes += this.#used;
    this.#block = takeBlock();
    this.#used = 0;
  }

  /** Write what is queued. One flush at a time: the file's bytes and its hash stay in order. */
  async flush(): Promise<void> {
    this.#seal();
    const blocks = this.#sealed;
    this.#sealed = []; this.#sealedBytes = 0;
    const fh = await this.#file;
    for (const { buf, len } of blocks) {
      const part = buf.subarray(0, len);
      this.#hash.update(part);
      await writeAll(fh, part);
      giveBlock(buf);
    }
  }

  /** Close the file (after a last flush); the sha256 of every byte pushed. */
  async close(): Promise<string> {
    giveBlock(this.#block);
    this.#block = Buffer.alloc(0);
    await (await this.#file).close();
    return this.#hash.digest('hex');
  }
}

/**
 * A piece of a block handed to mysql2's LOAD DATA LOCAL sender: it copies each piece into a fresh packet
 * buffer of the piece's size (allocUnsafe), so the piece size is the size of every allocation it makes.
 * Fresh 1 MiB buffers each came from new pages: 778 MB sent at scale 500 cost the sender 1.13 s of
 * copying (the main thread's largest item in a profile of the streamed copy; 38k minor faults per
 * 778 MB in a probe, at ~20 µs a fault here) against 0.13 s in 256 KiB pieces (2k faults), which glibc
 * serves again from freed memory. Each piece is one packet and one socket write: 4 per block.
 */
export const FEED_PIECE_BYTES = 256 << 10;

/**
 * A chunk file as mysql2's LOAD DATA LOCAL sender reads a stream ('data', 'end', 'error', pause and
 * resume), read into one pooled block and handed over in FEED_PIECE_BYTES pieces: the sender copies each
 * piece into its own packet at once, so the block is read into again once its last piece is out. A pause
 * (the socket's buffer is full) stops between pieces; resume goes on from the next.
 */
export class FileFeed extends EventEmitter {
  readonly #path: string;
  #paused = false;
  #running = false;
  #finished = false;
  constructor(path: string) {
    super();
    this.#path = path;
    setImmediate(() => { void this.#pump(); }); // the sender attaches its listeners first
  }
  pause(): this { this.#paused = true; return this; }
  resume(): this { this.#paused = false; void this.#pump(); return this; }
  #fh: FileHandle | undefined;
  /** The block read last, and how much of it is handed over (kept across a pause). */
  #block: Buffer | undefined;
  #filled = 0;
  #sent = 0;
  async #pump(): Promise<void> {
    if (this.#running || this.#finished) return;
    this.#running = true;
    try {
      this.#block ??= takeBlock();
      this.#fh ??= await open(this.#path, 'r');
      while (!this.#paused) {
        if (this.#sent < this.#filled) {
          const end = Math.min(this.#filled, this.#sent + FEED_PIECE_BYTES);
          const piece = this.#block.subarray(this.#sent, end);
          this.#sent = end;
          this.emit('data', piece);
          continue;
        }
        const { bytesRead } = await this.#fh.read(this.#block, 0, BLOCK_BYTES, null);
        if (!bytesRead) {
          this.#finished = true;
          this.#release();
          await this.#fh.close();
          this.emit('end');
          return;
        }
        this.#filled = bytesRead;
        this.#sent = 0;
      }
    } catch (e) {
      this.#finished = true;
      this.#release();
      await this.#fh?.close().catch(() => undefined);
      this.emit('error', e);
    } finally {
      this.#running = false;
    }
  }
  #release(): void {
    if (this.#block) giveBlock(this.#block);
    this.#block = undefined;
  }
}
