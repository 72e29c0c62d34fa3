/**
 * Large files into a named volume: a file a killed run left cut resumes where tar stopped.
 *
 * Ranges in flight do not apply to a volume: the copy is one tar stream into one `tar -x` (no slots for
 * ranges to share, and a large file is the stream's cheapest part: no per-file work), and a second stream
 * writing a file's second half would be a second helper container (~0.4 s to start here) competing with
 * the first for the same cores and the same volume. What ranges do bring is resume: a killed run's tar
 * leaves the file it was writing cut (shorter than the source, never with its mtime, so the listing sends
 * it again), and sending a multi-GiB file again from byte 0 is the one cost a kill adds that grows with
 * file size. So a large file found cut (or whole but not up to date) has its complete ranges checked,
 * the helper's `cksum` (POSIX CRC, hardware-assisted in coreutils ≥ 9: ~5 GB/s here, where its sha256sum
 * reads ~200 MB/s) against the same CRC of the source's ranges (slice-by-8 below, ~1.2 GB/s; a 512 MiB
 * file through the tar stream took 2.3-5 s here), and the ranges after the last leading match are
 * written at their offset (`dd conv=notrunc oflag=seek_bytes` in a helper) with owner, mode and mtime set
 * after the last byte. The file's sha256 for the manifest is read from the source as for any skipped file,
 * and verify hashes the whole file inside the volume: a range the CRC would wrongly keep is still named.
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { feedThroughFifo, volumeStream } from './fifo.ts';
import { HELPER_MOUNT, runHelper, type HelperSpec } from './helper.ts';
import type { ManifestEntry } from './manifest.ts';
import { isLarge, planRanges, RANGE_BLOCK, type RangeOptions } from './ranges.ts';

/** A large file the volume holds cut: `have` complete ranges of it are there (maybe). */
export interface CutFile {
  readonly entry: ManifestEntry;
  /** Its path on the target (relative). */
  readonly name: Buffer;
  /** Its source path. */
  readonly from: Buffer;
  readonly have: number;
  readonly uid: number;
  readonly gid: number;
}

/**
 * Complete ranges a large file that is not up to date may already have on the volume (0: none to check).
 * Shorter: cut by a kill (or the source was appended to). Full size: all its bytes written but not its
 * mtime (a kill after the last byte), or changed in place: the ranges that still match are not sent.
 * Longer: sent whole (a write at an offset would leave the tail).
 */
export function cutRanges(e: ManifestEntry, onVolume: { type: string; size: number } | undefined, o: RangeOptions): number {
  if (!isLarge(e, o) || onVolume?.type !== 'file' || onVolume.size > e.size) return 0;
  return Math.floor(onVolume.size / o.rangeBytes);
}

// POSIX cksum's CRC (polynomial 0x04C11DB7, MSB first, the length appended), slice-by-8.
const T = new Uint32Array(256 * 8);
for (let i = 0; i < 256; i++) { let c = i << 24; for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1; T[i] = c >>> 0; }
for (let i = 0; i < 256; i++) for (let s = 1; s < 8; s++) { const p = T[(s - 1) * 256 + i]!; T[s * 256 + i] = ((p << 8) ^ T[p >>> 24]!) >>> 0; }

export function cksumUpdate(crc: number, b: Uint8Array): number {
  let i = 0;
  const n = b.length;
  for (; i + 8 <= n; i += 8) {
    const a = crc ^ ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!);
    crc = T[7 * 256 + (a >>> 24)]! ^ T[6 * 256 + ((a >>> 16) & 0xff)]! ^ T[5 * 256 + ((a >>> 8) & 0xff)]! ^ T[4 * 256 + (a & 0xff)]!
      ^ T[3 * 256 + b[i + 4]!]! ^ T[2 * 256 + b[i + 5]!]! ^ T[256 + b[i + 6]!]! ^ T[b[i + 7]!]!;
  }
  for (; i < n; i++) crc = ((crc << 8) ^ T[((crc >>> 24) ^ b[i]!) & 0xff]!) >>> 0;
  return crc >>> 0;
}

/** The CRC `cksum` prints for `length` bytes whose running CRC is `crc`. */
export function cksumFinish(crc: number, length: number): number {
  for (let n = length; n > 0; n = Math.floor(n / 256)) crc = ((crc << 8) ^ T[((crc >>> 24) ^ (n & 0xff)) & 0xff]!) >>> 0;
  return (~crc) >>> 0;
}

/** `cksum`'s line for each of the first `count` ranges of a source file ("CRC LENGTH"). */
export async function sourceRangeSums(src: Buffer, rangeBytes: number, count: number, signal?: AbortSignal): Promise<string[]> {
  const fh = await open(src, 'r');
  const buf = Buffer.allocUnsafe(RANGE_BLOCK);
  try {
    const out: string[] = [];
    for (let i = 0; i < count; i++) {
      let crc = 0, len = 0;
      for (let pos = i * rangeBytes; len < rangeBytes;) {
        signal?.throwIfAborted();
        const { bytesRead } = await fh.read(buf, 0, Math.min(RANGE_BLOCK, rangeBytes - len), pos);
        if (bytesRead === 0) break;
        crc = cksumUpdate(crc, buf.subarray(0, bytesRead));
        len += bytesRead; pos += bytesRead;
      }
      out.push(`${cksumFinish(crc, len)} ${len}`);
    }
    return out;
  } finally {
    await fh.close();
  }
}

/** How many leading lines agree. */
export function leadingMatch(a: readonly string[], b: readonly string[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

// Per file on stdin (NUL-separated): its path and how many ranges; out: one `cksum` line per range. It
// fails first where dd lacks GNU's byte counts (a BusyBox image), so the files are sent whole instead.
const SUMS = (rangeBytes: number) => `dd if=/dev/null of=/dev/null bs=1M count=0 iflag=fullblock,count_bytes oflag=seek_bytes conv=notrunc status=none && cd ${HELPER_MOUNT} && xargs -0 -r -n 2 sh -c 'i=0; while [ "$i" -lt "$2" ]; do dd if="$1" bs=${rangeBytes} skip="$i" count=1 status=none | cksum || exit 1; i=$((i+1)); done' sh`;

/** The same lines for the cut files' ranges on the volume, file by file. */
export async function volumeRangeSums(h: HelperSpec, cuts: readonly CutFile[], rangeBytes: number, signal?: AbortSignal): Promise<string[][]> {
  const input = Buffer.concat(cuts.flatMap((c) => [c.name, Buffer.from(`\0${c.have}\0`)]));
  const out = (await runHelper({ h, cmd: ['sh', '-c', SUMS(rangeBytes)], readOnly: true, input: [input], what: 'check the ranges of files a killed run cut', ...(signal ? { signal } : {}) })).toString('latin1').split('\n');
  let k = 0;
  return cuts.map((c) => out.slice(k, (k += c.have)));
}

/** A path as printf octal escapes (any byte, in a shell word without quoting). */
export function octalEscaped(p: Buffer): string {
  let s = '';
  for (const b of p) s += '\\' + b.toString(8).padStart(3, '0');
  return s;
}

/**
 * Write each file's bytes from `from` on at that offset, then its owner, mode and mtime. The stream: a
 * header line per file (escaped path, offset, count, uid, gid, mode, mtime), then `count` bytes.
 */
const APPEND = (src: string) => `cd ${HELPER_MOUNT} && exec 3<${src} && while read -r n off cnt uid gid mode mt <&3; do f=$(printf "\${n}x") && f=\${f%x} && dd of="$f" bs=1M seek="$off" count="$cnt" iflag=fullblock,count_bytes oflag=seek_bytes conv=notrunc status=none <&3 && chown "$uid:$gid" "$f" && chmod "$mode" "$f" && touch -d "@$mt" "$f" || exit 1; done`;

export interface Resumed<C extends CutFile = CutFile> { readonly cut: C; readonly from: number }

async function* remainders(list: readonly Resumed[], onBytes: (n: number) => void, signal?: AbortSignal): AsyncGenerator<Buffer> {
  for (const { cut, from } of list) {
    const e = cut.entry;
    const count = e.size - from;
    yield Buffer.from(`${octalEscaped(cut.name)} ${from} ${count} ${cut.uid} ${cut.gid} ${e.mode.toString(8)} ${((e.mtimeMs + 0.5) / 1000).toFixed(4)}\n`, 'latin1');
    const fh = await open(cut.from, 'r');
    try {
      for (let pos = from; pos < e.size;) {
        signal?.throwIfAborted();
        const buf = Buffer.allocUnsafe(Math.min(RANGE_BLOCK, e.size - pos)); // handed to the stream: not reused
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
        if (bytesRead < buf.length) throw new Error(`${cut.from.toString()} shrank while resumed (${pos + bytesRead} of ${e.size} bytes)`);
        pos += bytesRead;
        onBytes(bytesRead);
        yield buf;
      }
    } finally {
      await fh.close();
    }
  }
}

/**
 * The cut files whose leading ranges the volume holds intact: checked, and their remainders written.
 * Returns the files resumed (the caller leaves them out of the tar stream) with the ranges kept.
 */
export async function checkCutFiles<C extends CutFile>(h: HelperSpec, cuts: readonly C[], rangeBytes: number, signal?: AbortSignal): Promise<Array<Resumed<C> & { kept: number; ranges: number }>> {
  if (!cuts.length) return [];
  const onVolume = await volumeRangeSums(h, cuts, rangeBytes, signal);
  const out: Array<Resumed<C> & { kept: number; ranges: number }> = [];
  for (const [i, cut] of cuts.entries()) {
    const kept = leadingMatch(await sourceRangeSums(cut.from, rangeBytes, cut.have, signal), onVolume[i]!);
    if (kept > 0) out.push({ cut, from: kept * rangeBytes, kept, ranges: planRanges(cut.entry.size, rangeBytes).length });
  }
  return out;
}

/** Write the remainders of the resumed files (through a FIFO where the engine shares this kernel, else stdin). */
export async function writeRemainders(h: HelperSpec, list: readonly Resumed[], streamDir: string, onBytes: (n: number) => void, signal?: AbortSignal): Promise<void> {
  if (!list.length) return;
  const input = remainders(list, onBytes, signal);
  const what = 'write the rest of files a killed run cut';
  if (await volumeStream() === 'fifo') await feedThroughFifo({ h, dir: join(streamDir, 'stream'), script: (fifo) => APPEND(fifo), input, what, ...(signal ? { signal } : {}) });
  else await runHelper({ h, cmd: ['sh', '-c', APPEND('/dev/stdin')], input, what, ...(signal ? { signal } : {}) });
}
