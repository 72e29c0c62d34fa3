/**
 * `COPY … TO STDOUT` and `COPY … FROM STDIN` on a `pg` client, at the protocol level, lean on ferry's
 * CPU (on 2 cores every CPU-second of ferry's process is one the servers do not get).
 *
 * Out: the server sends one CopyData message per row. The reader takes the connection's socket from
 * `pg` for the command (as pg-copy-streams does), walks the message headers of each socket read as it
 * arrives (flowing: no concatenation of buffered reads) and
 * copies the rows' bytes into 1 MiB blocks; each full block is hashed (sha256) and handed to the sink
 * (a file write, or nothing for a digest). No Readable stream, no per-row Buffer or list: pg-copy-streams
 * sliced every row into a list and concatenated it again per socket read, and the file got 64 KiB writes.
 * The bytes are the same as before: the rows' COPY data, concatenated (what the chunk files hold).
 * At most two block writes are in flight: the socket is paused while they are (memory flat).
 * Anything but CopyOutResponse/CopyData/CopyDone/notices (an ErrorResponse) goes back to `pg` with the
 * rest of the read, so errors, CommandComplete (the row count) and ReadyForQuery take `pg`'s usual path.
 *
 * In: the rows' bytes go out as one CopyData message per 1 MiB block (header and block in one corked
 * write, one syscall), then CopyDone; the socket's backpressure is honoured. A server error ends the
 * sending (the server ignores CopyData arriving after it, PostgresMain's rule).
 */
import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { Socket } from 'node:net';
import type pg from 'pg';
import { writeAll } from '../../util/write-all.ts';

/** Rows' bytes per block (file write, hash update, CopyData message). */
export const COPY_BLOCK = 1 << 20;

const COPY_DATA = 0x64; // 'd'
const COPY_DONE = 0x63; // 'c'
const COPY_OUT_RESPONSE = 0x48; // 'H'
const NOTICE = 0x4e; // 'N'
const PARAMETER_STATUS = 0x53; // 'S'
const NOTIFICATION = 0x41; // 'A'

export interface CopyOutResult {
  /** Rows the server reported (CommandComplete). */
  readonly rows: number;
  /** Bytes of COPY data (what the sink got). */
  readonly bytes: number;
  /** sha256 (hex) of those bytes. */
  readonly sha256: string;
}

/** The parts of pg's Connection a submittable uses (undeclared in @types/pg). */
interface Connection {
  readonly stream: Socket;
  query(text: string): void;
}

/**
 * Run `sql` (a COPY … TO STDOUT) on `c`; every block of its data goes to `sink` in order, one call at a
 * time; the block is reused once the sink's promise settles (a sink keeps a copy, never the block).
 */
export function copyOutTo(c: pg.Client, sql: string, sink?: (block: Buffer) => Promise<void>): Promise<CopyOutResult> {
  const q = new CopyOut(sql, sink);
  (c as unknown as { query(q: unknown): void }).query(q);
  return q.done;
}

/** Run `sql` (a COPY … TO STDOUT) on `c` into the file at `path` (created or truncated). */
export async function copyOutToFile(c: pg.Client, sql: string, path: string): Promise<CopyOutResult> {
  const fh = await open(path, 'w');
  try {
    return await copyOutTo(c, sql, (b) => writeAll(fh, b));
  } finally {
    await fh.close();
  }
}

class CopyOut {
  readonly text: string;
  readonly done: Promise<CopyOutResult>;
  /** pg sets it when a callback is passed (never here). */
  callback?: unknown;
  private resolve!: (r: CopyOutResult) => void;
  private reject!: (e: unknown) => void;
  private conn?: Connection;
  private pgHandler?: (b: Buffer) => void;
  private readonly onData = (chunk: Buffer) => {
    this.parse(chunk);
    if (this.attached && this.inFlight >= 2 && !this.paused) { this.paused = true; this.conn!.stream.pause(); }
  };
  private readonly hash: Hash = createHash('sha256');
  private block: Buffer = Buffer.allocUnsafe(COPY_BLOCK);
  /** Blocks back from the sink, reused: a fresh 1 MiB buffer per block kept the GC busy. */
  private readonly spare: Buffer[] = [];
  private fill = 0;
  private bytes = 0;
  private rows = 0;
  private readonly header = Buffer.alloc(5);
  private headerLen = 0;
  private code = 0;
  private left = 0;
  private attached = false;
  private paused = false;
  private inFlight = 0;
  private writing: Promise<void> = Promise.resolve();
  private sinkError: { e: unknown } | undefined;
  private settled = false;

  private readonly sink: ((block: Buffer) => Promise<void>) | undefined;

  constructor(text: string, sink?: (block: Buffer) => Promise<void>) {
    this.text = text;
    this.sink = sink;
    this.done = new Promise((res, rej) => { this.resolve = res; this.reject = rej; });
  }

  /** pg calls it when the query's turn comes; an error returned goes to handleError (nothing was sent). */
  submit(connection: Connection): Error | undefined {
    this.conn = connection;
    const s = connection.stream;
    const handlers = s.listeners('data');
    if (handlers.length !== 1) return new Error(`pg connection has ${handlers.length} data listeners, expected 1`);
    this.pgHandler = handlers[0] as (b: Buffer) => void;
    s.removeListener('data', this.pgHandler);
    s.on('data', this.onData);
    this.attached = true;
    connection.query(this.text);
    return undefined;
  }

  private parse(chunk: Buffer): void {
    const n = chunk.length;
    let p = 0;
    while (p < n) {
      if (this.left > 0) {
        const k = Math.min(this.left, n - p);
        if (this.code === COPY_DATA) this.append(chunk, p, p + k);
        p += k;
        this.left -= k;
        continue;
      }
      let code: number;
      let len: number;
      if (this.headerLen === 0 && n - p >= 5) {
        code = chunk[p]!;
        if (!this.ours(code)) return this.detach(chunk.subarray(p));
        len = chunk.readUInt32BE(p + 1) - 4;
        p += 5;
      } else {
        if (this.headerLen === 0 && !this.ours(chunk[p]!)) return this.detach(chunk.subarray(p));
        const k = Math.min(5 - this.headerLen, n - p);
        chunk.copy(this.header, this.headerLen, p, p + k);
        this.headerLen += k;
        p += k;
        if (this.headerLen < 5) return;
        this.headerLen = 0;
        code = this.header[0]!;
        len = this.header.readUInt32BE(1) - 4;
      }
      this.code = code;
      this.left = len;
      if (code === COPY_DONE) {
        this.flush();
        return this.detach(chunk.subarray(p));
      }
    }
  }

  /** The messages the reader consumes itself; anything else ends its part. */
  private ours(code: number): boolean {
    return code === COPY_DATA || code === COPY_DONE || code === COPY_OUT_RESPONSE || code === NOTICE || code === PARAMETER_STATUS || code === NOTIFICATION;
  }

  private append(src: Buffer, s: number, e: number): void {
    while (s < e) {
      const k = Math.min(e - s, COPY_BLOCK - this.fill);
      src.copy(this.block, this.fill, s, s + k);
      this.fill += k;
      s += k;
      if (this.fill === COPY_BLOCK) this.flush();
    }
  }

  private flush(): void {
    if (this.fill === 0) return;
    const b = this.fill === COPY_BLOCK ? this.block : this.block.subarray(0, this.fill);
    this.hash.update(b);
    this.bytes += b.length;
    this.fill = 0;
    if (!this.sink || this.sinkError) return;
    const full = this.block;
    this.block = this.spare.pop() ?? Buffer.allocUnsafe(COPY_BLOCK);
    this.inFlight++;
    const sink = this.sink;
    this.writing = this.writing.then(() => (this.sinkError ? undefined : sink(b))).catch((e: unknown) => { this.sinkError ??= { e }; }).finally(() => {
      this.spare.push(full);
      this.inFlight--;
      if (this.paused && this.inFlight < 2) { this.paused = false; this.conn!.stream.resume(); }
    });
  }

  /** Give the socket back to pg, `rest` (the unread part of the last read) first. */
  private detach(rest: Buffer): void {
    if (!this.attached) return;
    this.attached = false;
    const s = this.conn!.stream;
    s.removeListener('data', this.onData);
    if (this.paused) { this.paused = false; s.resume(); }
    s.on('data', this.pgHandler!);
    if (rest.length) this.pgHandler!(rest);
  }

  handleCommandComplete(msg: { text?: string }): void {
    const m = /COPY (\d+)/.exec(msg?.text ?? '');
    if (m) this.rows = Number(m[1]);
  }

  handleReadyForQuery(): void {
    if (this.settled) return;
    this.settled = true;
    this.writing.then(() => {
      if (this.sinkError) this.reject(this.sinkError.e);
      else this.resolve({ rows: this.rows, bytes: this.bytes, sha256: this.hash.digest('hex') });
    }, this.reject);
  }

  handleError(e: unknown): void {
    if (this.attached) this.detach(Buffer.alloc(0));
    if (this.settled) return;
    this.settled = true;
    this.writing.then(() => this.reject(e), () => this.reject(e));
  }

  // Never sent for COPY TO; present for pg's dispatch.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyInResponse(): void {}
  handleCopyData(): void {}
}

export interface CopyInResult {
  /** Rows the server reported loaded. */
  readonly rows: number;
  /** Bytes sent. */
  readonly bytes: number;
  /** sha256 (hex) of the bytes sent. */
  readonly sha256: string;
}

/**
 * Run `sql` (a COPY … FROM STDIN) on `c` with the file at `path` as its data, read in 1 MiB blocks.
 * `hash: false`: no sha256 of what is sent (its `sha256` is then empty).
 */
export async function copyInFromFile(c: pg.Client, sql: string, path: string, o: { hash?: boolean } = {}): Promise<CopyInResult> {
  const fh = await open(path, 'r');
  try {
    // Blocks reused: socket.write keeps a reference until the kernel took the bytes, which is before the
    // next-but-one read (the sender waits for 'drain' whenever a write stays buffered).
    const blocks = [Buffer.allocUnsafe(COPY_BLOCK), Buffer.allocUnsafe(COPY_BLOCK), Buffer.allocUnsafe(COPY_BLOCK)];
    let turn = 0;
    const q = new CopyIn(sql, o.hash === false ? undefined : createHash('sha256'), async () => {
      const b = blocks[turn++ % blocks.length]!;
      let fill = 0;
      while (fill < COPY_BLOCK) {
        const { bytesRead } = await fh.read(b, fill, COPY_BLOCK - fill, null);
        if (bytesRead === 0) break;
        fill += bytesRead;
      }
      return fill === 0 ? null : fill === COPY_BLOCK ? b : b.subarray(0, fill);
    });
    (c as unknown as { query(q: unknown): void }).query(q);
    return await q.done;
  } finally {
    await fh.close();
  }
}

class CopyIn {
  readonly text: string;
  readonly done: Promise<CopyInResult>;
  callback?: unknown;
  private resolve!: (r: CopyInResult) => void;
  private reject!: (e: unknown) => void;
  private readonly hash: Hash | undefined;
  private bytes = 0;
  private rows = 0;
  private failed: { e: unknown } | undefined;
  private sending: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private settled = false;

  private readonly next: () => Promise<Buffer | null>;

  constructor(text: string, hash: Hash | undefined, next: () => Promise<Buffer | null>) {
    this.text = text;
    this.hash = hash;
    this.next = next;
    this.done = new Promise((res, rej) => { this.resolve = res; this.reject = rej; });
  }

  submit(connection: Connection): void {
    connection.query(this.text);
  }

  handleCopyInResponse(connection: Connection): void {
    this.sending = this.send(connection).catch((e: unknown) => {
      // A read error: end the COPY with CopyFail so the server rolls it back and pg's flow goes on.
      this.failed ??= { e };
      const msg = Buffer.from('ferry: reading the chunk failed\0');
      const h = Buffer.allocUnsafe(5);
      h[0] = 0x66; // 'f'
      h.writeUInt32BE(msg.length + 4, 1);
      if (!connection.stream.destroyed) connection.stream.write(Buffer.concat([h, msg]));
    });
  }

  private async send(connection: Connection): Promise<void> {
    const s = connection.stream;
    const onDrain = () => this.wake?.();
    s.on('drain', onDrain);
    s.on('close', onDrain);
    try {
      for (;;) {
        if (this.failed || s.destroyed) return;
        const b = await this.next();
        if (this.failed || s.destroyed) return;
        if (!b) break;
        this.hash?.update(b);
        this.bytes += b.length;
        const h = Buffer.allocUnsafe(5);
        h[0] = COPY_DATA;
        h.writeUInt32BE(b.length + 4, 1);
        s.cork();
        s.write(h);
        const ok = s.write(b);
        s.uncork();
        if (!ok) await new Promise<void>((res) => { this.wake = res; });
      }
      s.write(Buffer.from([COPY_DONE, 0, 0, 0, 4]));
    } finally {
      s.removeListener('drain', onDrain);
      s.removeListener('close', onDrain);
    }
  }

  handleCommandComplete(msg: { text?: string }): void {
    const m = /COPY (\d+)/.exec(msg?.text ?? '');
    if (m) this.rows = Number(m[1]);
  }

  handleReadyForQuery(): void {
    if (this.settled) return;
    this.settled = true;
    void (this.sending ?? Promise.resolve()).then(() => {
      if (this.failed) this.reject(this.failed.e);
      else this.resolve({ rows: this.rows, bytes: this.bytes, sha256: this.hash?.digest('hex') ?? '' });
    });
  }

  handleError(e: unknown): void {
    this.failed ??= { e };
    this.wake?.();
    if (this.settled) return;
    this.settled = true;
    // A read error is the one to report (its CopyFail comes back as the server's error).
    void (this.sending ?? Promise.resolve()).then(() => this.reject(this.failed!.e));
  }

  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}
}
