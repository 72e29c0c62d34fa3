/**
 * Fetch a source's RDB snapshot over the replication protocol, as `redis-cli --rdb` does: AUTH,
 * REPLCONF (rdb-only, EOF capability), SYNC; then read either `$<len>` bulk or the diskless
 * `$EOF:<40-byte mark>` form, streaming to a file with its sha256. The source's files need not be
 * reachable. The file appears only when complete (temp file, fsync, rename).
 */
import type { Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { FerryError } from '../../core/errors.ts';
import { fsyncDir } from '../../util/atomic-write.ts';
import type { RedisEndpoint } from './endpoint.ts';
import { connectSocket, describeEndpoint, toRedisError } from './connect.ts';
import { dirname } from 'node:path';

export interface RdbFile {
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

function resp(...args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/** Reads from a socket as an async byte source with line and exact-length reads. */
class Reader {
  #buf: Buffer = Buffer.alloc(0);
  readonly #it: AsyncIterator<Buffer>;
  constructor(sock: Socket) { this.#it = sock[Symbol.asyncIterator]() as AsyncIterator<Buffer>; }
  async #more(): Promise<void> {
    const r = await this.#it.next();
    if (r.done) throw new Error('connection closed by the server');
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, r.value]) : r.value;
  }
  async line(): Promise<string> {
    for (;;) {
      const i = this.#buf.indexOf('\r\n');
      if (i >= 0) { const l = this.#buf.subarray(0, i).toString('latin1'); this.#buf = this.#buf.subarray(i + 2); return l; }
      await this.#more();
    }
  }
  /** The next chunk (buffered remainder first), at most `max` bytes. */
  async chunk(max: number): Promise<Buffer> {
    if (!this.#buf.length) await this.#more();
    const c = this.#buf.subarray(0, max);
    this.#buf = this.#buf.subarray(c.length);
    return c;
  }
}

/** Fetch the RDB of `ep` into `path`. */
export async function fetchRdb(ep: RedisEndpoint, path: string, signal?: AbortSignal): Promise<RdbFile> {
  const sock = await connectSocket(ep);
  const onAbort = () => sock.destroy(new Error('aborted'));
  signal?.addEventListener('abort', onAbort, { once: true });
  const tmp = `${path}.partial`;
  try {
    const rd = new Reader(sock);
    const call = async (...args: string[]) => { sock.write(resp(...args)); return rd.line(); };
    if (ep.password) {
      const r = await call('AUTH', ...(ep.username ? [ep.username] : []), ep.password);
      if (!r.startsWith('+')) throw new Error(r.slice(1));
    }
    await call('REPLCONF', 'rdb-only', '1'); // 7.0+: no command stream after the RDB; older servers answer -ERR, fine
    // No `capa eof`: a diskless master would wait repl-diskless-sync-delay (5 s) for more replicas first.
    sock.write(resp('SYNC'));
    let head = '';
    do { head = await rd.line(); head = head.replace(/^\n+/, ''); } while (head === '');
    if (head.startsWith('-')) throw new Error(head.slice(1));
    if (!head.startsWith('$')) throw new Error(`unexpected reply to SYNC: ${head.slice(0, 60)}`);
    await mkdir(dirname(path), { recursive: true });
    const fh = await open(tmp, 'w', 0o600);
    const hash = createHash('sha256');
    let bytes = 0;
    const write = async (b: Buffer) => { if (b.length) { hash.update(b); bytes += b.length; await fh.write(b); } };
    try {
      if (head.startsWith('$EOF:')) {
        const mark = Buffer.from(head.slice(5), 'latin1');
        let tail = Buffer.alloc(0); // the last 40 bytes seen, never written until we know they are not the mark
        for (;;) {
          const all = Buffer.concat([tail, await rd.chunk(1 << 20)]);
          if (all.length >= mark.length && all.subarray(all.length - mark.length).equals(mark)) {
            await write(all.subarray(0, all.length - mark.length));
            break;
          }
          const keep = Math.min(all.length, mark.length);
          await write(all.subarray(0, all.length - keep));
          tail = Buffer.from(all.subarray(all.length - keep));
        }
      } else {
        let left = Number(head.slice(1));
        while (left > 0) { const c = await rd.chunk(Math.min(left, 1 << 20)); left -= c.length; await write(c); }
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    await fsyncDir(dirname(path));
    return { path, bytes, sha256: hash.digest('hex') };
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    if (signal?.aborted) throw new FerryError('E_CANCELLED', `RDB fetch from ${describeEndpoint(ep)} aborted`, { hint: 're-run: the fetch starts over', cause: e });
    const mapped = toRedisError(e, ep);
    if (mapped.code !== 'E_REDIS_CONNECT') throw mapped;
    throw new FerryError('E_REDIS_RDB_FETCH', `Fetching the RDB from ${describeEndpoint(ep)} over replication failed: ${(e as Error).message}`, {
      hint: 'the user needs the SYNC permission (+sync) and the server must allow replicas; or set the store\'s path option (redis.path in the preset) to "dump"', cause: e,
    });
  } finally {
    signal?.removeEventListener('abort', onAbort);
    sock.destroy();
  }
}
