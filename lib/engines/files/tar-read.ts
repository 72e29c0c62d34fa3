/**
 * A small tar reader for `tar -c --format=posix` from a helper container: entries in archive order,
 * contents hashed as they stream by (and handed over with `onData`), names byte for byte.
 */
import { createHash } from 'node:crypto';
import type { ManifestEntry, EntryType } from './manifest.ts';

const BLOCK = 512;

/** One entry read back from an archive; `sha256` for regular files. */
export type TarEntry = ManifestEntry;

function parseOctal(b: Buffer): number {
  if (b[0]! & 0x80) return Number(b.readBigUInt64BE(b.length - 8));
  const s = b.toString('latin1').replace(/\0.*$/s, '').trim();
  return s ? parseInt(s, 8) : 0;
}

function cstr(b: Buffer): Buffer {
  const i = b.indexOf(0);
  return i < 0 ? b : b.subarray(0, i);
}

function parsePax(body: Buffer): Map<string, Buffer> {
  const m = new Map<string, Buffer>();
  let i = 0;
  while (i < body.length) {
    const sp = body.indexOf(0x20, i);
    if (sp < 0) break;
    const len = Number(body.toString('latin1', i, sp));
    if (!(len > 0)) break;
    const rec = body.subarray(sp + 1, i + len - 1);
    const eq = rec.indexOf(0x3d);
    m.set(rec.toString('latin1', 0, eq), rec.subarray(eq + 1));
    i += len;
  }
  return m;
}

/**
 * Parse an archive from a byte stream, yielding entries in archive order with contents hashed
 * (`./` prefixes dropped, the root skipped). With `onData`, file contents are also handed over.
 */
export async function* readTar(source: AsyncIterable<Buffer>, onData?: (entry: TarEntry, chunk: Buffer | null) => void | Promise<void>): AsyncGenerator<TarEntry> {
  let buf: Buffer = Buffer.alloc(0);
  const it = source[Symbol.asyncIterator]();
  let ended = false;
  const need = async (n: number): Promise<boolean> => {
    while (buf.length < n && !ended) {
      const r = await it.next();
      if (r.done) ended = true; else buf = buf.length ? Buffer.concat([buf, r.value]) : r.value;
    }
    return buf.length >= n;
  };
  let pax: Map<string, Buffer> = new Map();
  let longName: Buffer | undefined, longLink: Buffer | undefined;
  for (;;) {
    if (!(await need(BLOCK))) return;
    const h = buf.subarray(0, BLOCK);
    buf = buf.subarray(BLOCK);
    if (h.every((x) => x === 0)) {
      // The end-of-archive blocks, then tar's padding to its record size (10 KiB): read to the end of
      // the stream. Left unread (it may arrive in a later chunk under load), the helper's stdout never
      // ends, its 'close' never comes and the caller waiting for the helper hangs (rollback did, at 300 s).
      while (!ended) { const r = await it.next(); if (r.done) ended = true; }
      return;
    }
    const type = String.fromCharCode(h[156]!) || '0';
    const size = parseOctal(h.subarray(124, 136));
    const padded = size + ((BLOCK - (size % BLOCK)) % BLOCK);
    if (type === 'x' || type === 'g' || type === 'L' || type === 'K') {
      if (!(await need(padded))) throw new Error('tar stream ends inside an extended header');
      const body = buf.subarray(0, size);
      buf = buf.subarray(padded);
      if (type === 'x') pax = parsePax(Buffer.from(body));
      else if (type === 'L') longName = Buffer.from(cstr(body));
      else if (type === 'K') longLink = Buffer.from(cstr(body));
      continue;
    }
    let name = longName ?? pax.get('path');
    if (!name) {
      const base = cstr(h.subarray(0, 100));
      const prefix = h.toString('latin1', 257, 262) === 'ustar' ? cstr(h.subarray(345, 500)) : Buffer.alloc(0);
      name = prefix.length ? Buffer.concat([prefix, Buffer.from('/'), base]) : Buffer.from(base);
    }
    const link = longLink ?? pax.get('linkpath') ?? Buffer.from(cstr(h.subarray(157, 257)));
    const mtimeMs = pax.has('mtime') ? paxMs(pax.get('mtime')!.toString('latin1')) : parseOctal(h.subarray(136, 148)) * 1000;
    const uid = pax.has('uid') ? Number(pax.get('uid')!.toString()) : parseOctal(h.subarray(108, 116));
    const gid = pax.has('gid') ? Number(pax.get('gid')!.toString()) : parseOctal(h.subarray(116, 124));
    const realSize = pax.has('size') ? Number(pax.get('size')!.toString()) : size;
    pax = new Map(); longName = undefined; longLink = undefined;
    const path = stripDot(name);
    const mode = parseOctal(h.subarray(100, 108)) & 0o7777;
    const kind: EntryType | undefined = type === '0' || type === '7' ? 'file' : type === '1' ? 'hardlink' : type === '2' ? 'symlink' : type === '5' ? 'dir' : undefined;
    const dataLen = kind === 'file' ? realSize : size;
    const dataPadded = dataLen + ((BLOCK - (dataLen % BLOCK)) % BLOCK);
    const base = { path, size: kind === 'file' || kind === 'hardlink' ? realSize : 0, mode, mtimeMs, uid, gid };
    const entry: TarEntry | undefined = kind === 'file' ? { ...base, type: 'file' }
      : kind === 'symlink' ? { ...base, type: 'symlink', link }
      : kind === 'hardlink' ? { ...base, type: 'hardlink', link: stripDot(link) }
      : kind === 'dir' ? { ...base, type: 'dir' } : undefined;
    const hash = kind === 'file' ? createHash('sha256') : undefined;
    let left = dataLen;
    while (left > 0) {
      if (!buf.length && !(await need(1))) throw new Error('tar stream ends inside a file');
      const take = Math.min(left, buf.length);
      const chunk = buf.subarray(0, take);
      hash?.update(chunk);
      if (onData && entry && kind === 'file') await onData(entry, chunk);
      buf = buf.subarray(take);
      left -= take;
    }
    let skip = dataPadded - dataLen;
    while (skip > 0) {
      if (!buf.length && !(await need(1))) throw new Error('tar stream ends inside padding');
      const take = Math.min(skip, buf.length);
      buf = buf.subarray(take);
      skip -= take;
    }
    if (!entry || path.length === 0) continue;
    const done: TarEntry = hash ? { ...entry, sha256: hash.digest('hex') } : entry;
    if (onData && kind === 'file') await onData(done, null);
    yield done;
  }
}

function stripDot(name: Buffer): Buffer {
  let n = name;
  if (n.length >= 2 && n[0] === 0x2e && n[1] === 0x2f) n = n.subarray(2);
  else if (n.length === 1 && n[0] === 0x2e) n = n.subarray(1);
  if (n.length && n[n.length - 1] === 0x2f) n = n.subarray(0, n.length - 1);
  return Buffer.from(n);
}

/** `1700000000.1235` → whole milliseconds, without float rounding. */
export function paxMs(s: string): number {
  const [sec, frac = ''] = s.split('.');
  return Number(sec) * 1000 + Number((frac + '000').slice(0, 3));
}
