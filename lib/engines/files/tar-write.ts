/**
 * A small tar writer for GNU tar's `tar -x` in a helper container: names byte for byte (long ones as
 * GNU `L`/`K` records, raw bytes: a pax `path` is decoded as UTF-8 by GNU tar), millisecond mtimes
 * (pax `mtime`). node-tar decodes names as UTF-8 strings, which would mangle one that is not UTF-8.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { ManifestEntry, EntryType } from './manifest.ts';

const BLOCK = 512;

/** One entry to archive: where it goes (relative target path) and where its bytes come from. */
export interface TarItem {
  readonly entry: ManifestEntry;
  readonly name: Buffer;
  /** Source file (regular files). */
  readonly from?: Buffer;
  readonly uid: number;
  readonly gid: number;
  /** Hard links: the target path of the first name. */
  readonly linkName?: Buffer;
  /** Already on the target: not archived, only passed to `onEntry` (in order). */
  readonly skip?: boolean;
}

function octal(buf: Buffer, off: number, len: number, n: number): void {
  buf.write(n.toString(8).padStart(len - 1, '0') + '\0', off, len, 'latin1');
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len++;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

function header(name: Buffer, type: string, size: number, mode: number, uid: number, gid: number, mtimeSec: number, link?: Buffer): Buffer {
  const h = Buffer.alloc(BLOCK);
  name.copy(h, 0, 0, Math.min(100, name.length));
  octal(h, 100, 8, mode);
  octal(h, 108, 8, uid);
  octal(h, 116, 8, gid);
  if (size < 8 ** 11) octal(h, 124, 12, size);
  else { h[124] = 0x80; h.writeBigUInt64BE(BigInt(size), 128); } // base-256 (GNU), for > 8 GiB
  octal(h, 136, 12, Math.floor(mtimeSec));
  h.write('        ', 148, 8, 'latin1');
  h.write(type, 156, 1, 'latin1');
  if (link) link.copy(h, 157, 0, Math.min(100, link.length));
  h.write('ustar\u000000', 257, 8, 'latin1');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i]!;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return h;
}

function pad(n: number): Buffer {
  const r = n % BLOCK;
  return r ? Buffer.alloc(BLOCK - r) : Buffer.alloc(0);
}

const TYPE_FLAG: Record<EntryType, string> = { file: '0', hardlink: '1', symlink: '2', dir: '5' };

/** An output chunk is yielded once it holds this much; each is a fresh buffer of CHUNK_ROOM. */
const CHUNK = 1 << 20;
/** Room for a chunk, one small file and its headers (long names are at most two ~4 KiB records). */
const CHUNK_ROOM = 2 * CHUNK + (64 << 10);

/**
 * The archive of `items`, as chunks of ≥ 1 MiB. Every regular file is hashed from the bytes archived;
 * `onEntry` gets each item in order with that sha256 (undefined for a skipped item, or a file whose size
 * changed since the manifest).
 *
 * Memory: file bytes are read straight into the chunk being filled (one 2 MiB allocation per ~1 MiB
 * sent, all of one size), never into a buffer per file or per read: a buffer per small file (100k of
 * 2-62 KiB) and 1 MiB concatenations left glibc's heap fragmented and the process at ~250 MB RSS with
 * a 10-50 MB live heap at 100k files; now the chunks in flight (the one filling, those written or
 * waiting) are what it holds. `concurrency` is kept for the callers' signature: reads are sequential
 * (page cache). `recycle: n` (a consumer that has written chunk k out before it asks for chunk k + n, as the FIFO feed
 * does with n - 1 chunks ahead): n buffers in turn for the whole stream, so no chunk is garbage waiting
 * for V8 to count 64 MB of external memory before it collects (the freed chunks held 40-70 MB at once
 * at 30k files), and reading overlaps the writes.
 */
export async function* tarStream(items: AsyncIterable<TarItem>, _concurrency = 8, onFile?: (bytes: number) => void, onEntry?: (it: TarItem, sha256: string | undefined) => Promise<void> | void, o: { recycle?: number } = {}): AsyncGenerator<Buffer> {
  const ring = o.recycle && o.recycle > 1 ? Array.from({ length: o.recycle }, () => Buffer.allocUnsafeSlow(CHUNK_ROOM)) : undefined;
  let turn = 0;
  let out = ring ? ring[0]! : Buffer.allocUnsafeSlow(CHUNK_ROOM);
  let len = 0;
  const push = (b: Buffer) => { len += b.copy(out, len); };
  const full = () => len >= CHUNK;
  // Recycled: the next chunk fills the next buffer of the ring while the ones before it are written; a
  // buffer is filled again only once the consumer asked for the chunk n after its last (written by then).
  const take = () => {
    const c = out.subarray(0, len);
    out = ring ? ring[++turn % ring.length]! : Buffer.allocUnsafeSlow(CHUNK_ROOM);
    len = 0;
    return c;
  };
  for await (const it of items) {
    if (it.skip) { await onEntry?.(it, undefined); continue; }
    const e = it.entry;
    const mt = (e.mtimeMs + 0.5) / 1000;
    const name = e.type === 'dir' ? Buffer.concat([it.name, Buffer.from('/')]) : it.name;
    const link = e.type === 'symlink' ? e.link : e.type === 'hardlink' ? it.linkName : undefined;
    // Reads on the main thread, synchronously: a page-cached image costs less than the thread pool's hand-offs.
    const fd = e.type === 'file' ? openSync(it.from!, 'r') : undefined;
    try {
      // The size archived is the file's now (a file that changed since the manifest gets no hash).
      const size = fd !== undefined ? fstatSync(fd).size : 0;
      // Long names as GNU 'L'/'K' records: raw bytes (a pax `path` is decoded as UTF-8 by GNU tar).
      for (const [flag, value] of [['L', name], ['K', link]] as const) {
        if (!value || value.length <= 100) continue;
        const body = Buffer.concat([value, Buffer.alloc(1)]);
        push(header(Buffer.from('././@LongLink'), flag, body.length, 0o644, 0, 0, 0)); push(body); push(pad(body.length));
      }
      const paxBody = paxRecord('mtime', Buffer.from(mt.toFixed(4)));
      push(header(Buffer.from('PaxHeader'), 'x', paxBody.length, 0o644, 0, 0, mt));
      push(paxBody); push(pad(paxBody.length));
      push(header(name, TYPE_FLAG[e.type], size, e.mode, it.uid, it.gid, mt, link));
      if (fd !== undefined) {
        const h = createHash('sha256');
        let sent = 0;
        while (sent < size) {
          if (full()) yield take();
          const want = Math.min(size - sent, out.length - len - BLOCK);
          const bytesRead = readSync(fd, out, len, want, sent);
          if (bytesRead === 0) break;
          h.update(out.subarray(len, len + bytesRead));
          len += bytesRead; sent += bytesRead;
        }
        if (sent !== size) throw new Error(`file changed size while archived (${sent} of ${size} bytes)`);
        push(pad(size));
        onFile?.(size);
        await onEntry?.(it, size === e.size ? h.digest('hex') : undefined);
      } else await onEntry?.(it, undefined);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    if (full()) yield take();
  }
  push(Buffer.alloc(BLOCK * 2));
  yield take();
}
