/**
 * A lean pipelined RESP2 connection for the bulk copy: commands go out as one buffer per batch and
 * replies come back as Buffers, integers, nulls, arrays or RespError values, in order. ioredis keeps a
 * promise and a command object per command, which bound the DUMP/RESTORE copy by ferry's own CPU; here a
 * batch of a few thousand commands costs one write and one parse loop. Everything else (preflight,
 * verify, the chunked rewrite) keeps using ioredis.
 */
import type { Socket } from 'node:net';
import type { RedisEndpoint } from './endpoint.ts';
import { connectSocket, toRedisError } from './connect.ts';

export type Reply = Buffer | number | null | RespError | Reply[];

/** An error reply (`-ERR …`), returned in place, never thrown, so one failed command names its key. */
export class RespError {
  readonly message: string;
  constructor(message: string) { this.message = message; }
}

const CRLF = Buffer.from('\r\n');

const digits = (n: number) => (n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : n < 10000 ? 4 : String(n).length);

/** Write `<mark><n>\r\n` at `o`; returns the new offset (no string is made for the number). */
function header(out: Buffer, o: number, mark: number, n: number): number {
  out[o++] = mark;
  const d = digits(n);
  for (let i = d - 1, v = n; i >= 0; i--, v = Math.floor(v / 10)) out[o + i] = 0x30 + (v % 10);
  o += d;
  out[o++] = 0x0d; out[o++] = 0x0a;
  return o;
}

/** Encode commands as RESP arrays of bulk strings, in one buffer (sized first, written once). */
export function encodeCommands(cmds: ReadonlyArray<ReadonlyArray<string | Buffer>>): Buffer {
  let size = 0;
  for (const cmd of cmds) {
    size += 3 + digits(cmd.length);
    for (const a of cmd) {
      const n = typeof a === 'string' ? Buffer.byteLength(a) : a.length;
      size += 5 + digits(n) + n;
    }
  }
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  for (const cmd of cmds) {
    o = header(out, o, 0x2a, cmd.length);
    for (const a of cmd) {
      if (typeof a === 'string') {
        o = header(out, o, 0x24, Buffer.byteLength(a));
        o += out.write(a, o, 'utf8');
      } else {
        o = header(out, o, 0x24, a.length);
        o += a.copy(out, o);
      }
      out[o++] = 0x0d; out[o++] = 0x0a;
    }
  }
  return out;
}

const INCOMPLETE = Symbol('incomplete');

/** Parse one reply at `at`; INCOMPLETE when the buffer ends first. Returns [reply, next offset]. */
export function parseReply(buf: Buffer, at: number): [Reply, number] | typeof INCOMPLETE {
  if (at >= buf.length) return INCOMPLETE;
  // A reply's first line never holds a CR before its end (bulk bodies are skipped by length).
  const eol = buf.indexOf(0x0d, at + 1);
  if (eol < 0 || eol + 1 >= buf.length) return INCOMPLETE;
  const kind = buf[at]!;
  if (kind === 0x2b) return [buf.subarray(at + 1, eol), eol + 2]; // +simple
  if (kind === 0x2d) return [new RespError(buf.toString('utf8', at + 1, eol)), eol + 2]; // -error
  const n = readInt(buf, at + 1, eol);
  if (kind === 0x3a) return [n, eol + 2]; // :integer
  if (kind === 0x24) { // $bulk
    if (n < 0) return [null, eol + 2];
    const end = eol + 2 + n;
    if (end + 2 > buf.length) return INCOMPLETE;
    return [buf.subarray(eol + 2, end), end + 2];
  }
  if (kind === 0x2a) { // *array
    if (n < 0) return [null, eol + 2];
    const out: Reply[] = new Array(n);
    let p = eol + 2;
    for (let i = 0; i < n; i++) {
      const r = parseReply(buf, p);
      if (r === INCOMPLETE) return INCOMPLETE;
      out[i] = r[0]; p = r[1];
    }
    return [out, p];
  }
  throw new Error(`unexpected RESP reply type ${JSON.stringify(String.fromCharCode(kind))}`);
}

function readInt(buf: Buffer, from: number, to: number): number {
  let i = from;
  let sign = 1;
  if (buf[i] === 0x2d) { sign = -1; i++; }
  let n = 0;
  for (; i < to; i++) n = n * 10 + (buf[i]! - 0x30);
  return sign * n;
}

interface Waiter { readonly n: number; readonly out: Reply[]; resolve(r: Reply[]): void; reject(e: Error): void }

export class RespPipe {
  readonly #sock: Socket;
  readonly #waiting: Waiter[] = [];
  #chunks: Buffer[] = [];
  #have = 0;
  /** Bytes needed before parsing is worth trying again (a long bulk reply arriving in pieces). */
  #need = 0;
  #failed: Error | undefined;

  private constructor(sock: Socket) {
    this.#sock = sock;
    sock.on('data', (d: Buffer) => this.#onData(d));
    const fail = (e: Error) => {
      this.#failed = e;
      for (const w of this.#waiting.splice(0)) w.reject(e);
    };
    sock.on('error', fail);
    sock.on('close', () => fail(this.#failed ?? new Error('connection closed by the server')));
  }

  /** Connect, AUTH and SELECT `db`; failures are FerryErrors naming the endpoint. */
  static async open(ep: RedisEndpoint, db = 0): Promise<RespPipe> {
    const sock = await connectSocket(ep);
    try {
      const pipe = new RespPipe(sock);
      const hello: string[][] = [];
      if (ep.password) hello.push(['AUTH', ...(ep.username ? [ep.username] : []), ep.password]);
      hello.push(['CLIENT', 'SETNAME', 'ferry-copy'], ['SELECT', String(db)]);
      const replies = await pipe.send(hello);
      const err = replies.find((r) => r instanceof RespError) as RespError | undefined;
      if (err) { pipe.close(); throw new Error(err.message); }
      return pipe;
    } catch (e) {
      sock.destroy();
      throw toRedisError(e, ep);
    }
  }

  /** Send `cmds` in one write; resolves with their replies in order. */
  send(cmds: ReadonlyArray<ReadonlyArray<string | Buffer>>): Promise<Reply[]> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (!cmds.length) return Promise.resolve([]);
    return new Promise<Reply[]>((resolve, reject) => {
      this.#waiting.push({ n: cmds.length, out: [], resolve, reject });
      this.#sock.write(encodeCommands(cmds));
    });
  }

  close(): void { this.#sock.destroy(); }

  #onData(d: Buffer): void {
    this.#chunks.push(d);
    this.#have += d.length;
    if (this.#have < this.#need) return;
    let buf = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#have);
    let at = 0;
    try {
      while (this.#waiting.length) {
        const r = parseReply(buf, at);
        if (r === INCOMPLETE) break;
        at = r[1];
        const w = this.#waiting[0]!;
        w.out.push(r[0]);
        if (w.out.length === w.n) { this.#waiting.shift(); w.resolve(w.out); }
      }
    } catch (e) {
      this.#sock.destroy(e as Error);
      return;
    }
    buf = buf.subarray(at);
    this.#chunks = buf.length ? [buf] : [];
    this.#have = buf.length;
    this.#need = buf.length ? bulkNeed(buf) : 0;
  }
}

/** For a buffer starting with an unfinished long bulk reply, the bytes it needs; else 0 (try on each chunk). */
function bulkNeed(buf: Buffer): number {
  if (buf[0] !== 0x24) return 0;
  const eol = buf.indexOf(CRLF, 1);
  if (eol < 0) return 0;
  const n = readInt(buf, 1, eol);
  return n > 0 ? eol + 2 + n + 2 : 0;
}
