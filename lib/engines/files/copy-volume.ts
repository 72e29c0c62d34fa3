/**
 * Copy into a named volume: one tar stream through a helper container. The volume is listed first
 * (`find -printf`, and its free space), so a re-run — or a run after a kill — sends only entries whose
 * type, size, mtime, mode or owner differ (tar sets a file's mtime after its last byte, so a file cut
 * by a kill never looks done), and removes what the source no longer has. Sparse files get their holes
 * back with `fallocate --dig-holes` in the helper.
 */
import { lstat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { feedThroughFifo, fifoUsable } from './fifo.ts';
import { FerryError } from '../../core/errors.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import type { CopyOptions, CopyResult } from './copy-bind.ts';
import { HELPER_MOUNT, runHelper, type HelperSpec } from './helper.ts';
import { readManifest, targetPathOf, type ManifestEntry } from './manifest.ts';
import { joinRel, showPath, targetOfPath } from './paths.ts';
import { paxMs } from './tar-read.ts';
import { tarStream, type TarItem } from './tar-write.ts';

export interface VolumeCopyOptions extends Omit<CopyOptions, 'targetRoot'> {
  readonly helper: HelperSpec;
  /** How the tar stream reaches the helper: a FIFO in the store's state directory (default where the engine shares this kernel) or its stdin. */
  readonly stream?: 'fifo' | 'stdin';
}

export interface VolumeStat { type: string; size: number; mtimeMs: number; mode: number; uid: number; gid: number; ino: number; nlink: number; sparse: boolean; link: Buffer; seen?: boolean }

const FIND_FORMAT = '%y\\0%s\\0%T@\\0%m\\0%U\\0%G\\0%i\\0%n\\0%S\\0%l\\0%P\\0';
/** `find -printf` of every entry of the volume: type, size, mtime, mode, owner, inode, links, sparseness, link target, path. */
export const FIND_SCRIPT = `find ${HELPER_MOUNT} -mindepth 1 -printf '${FIND_FORMAT}'`;
const LIST_SCRIPT = `df -P -B1 ${HELPER_MOUNT} | awk 'NR==2{print $4}'; ${FIND_SCRIPT}`;

/** Parse `FIND_SCRIPT` records from `out` starting at `i`, up to a record whose type is `X` or the end. */
export function parseFind(out: Buffer, start: number, add: (path: Buffer, s: VolumeStat) => void): number {
  let i = start;
  const field = (): Buffer => { const j = out.indexOf(0, i); const f = out.subarray(i, j < 0 ? out.length : j); i = j < 0 ? out.length : j + 1; return f; };
  const num = () => Number(field().toString('latin1'));
  while (i < out.length) {
    const type = field().toString('latin1');
    if (type === 'X') return i;
    const size = num(), mtimeMs = paxMs(field().toString('latin1'));
    const mode = parseInt(field().toString('latin1'), 8), uid = num(), gid = num(), ino = num(), nlink = num(), sparseness = num();
    const link = Buffer.from(field()), path = Buffer.from(field());
    add(path, { type, size, mtimeMs, mode, uid, gid, ino, nlink, sparse: type === 'f' && size > 0 && sparseness < 1, link });
  }
  return i;
}

/** The volume's entries by path (latin1 key: one char per byte) and its free bytes. */
export async function listVolume(helper: HelperSpec, signal?: AbortSignal): Promise<{ avail: number; entries: Map<string, VolumeStat> }> {
  const out = await runHelper({ h: helper, cmd: ['sh', '-c', LIST_SCRIPT], readOnly: true, what: 'list the volume', ...(signal ? { signal } : {}) });
  const nl = out.indexOf(0x0a);
  const avail = Number(out.toString('latin1', 0, nl));
  const entries = new Map<string, VolumeStat>();
  parseFind(out, nl + 1, (path, s) => entries.set(path.toString('latin1'), s));
  return { avail, entries };
}

/** True when the volume already holds `e` as it should be. */
function upToDate(e: ManifestEntry, t: VolumeStat | undefined, uid: number, gid: number, first?: VolumeStat): boolean {
  if (!t || t.uid !== uid || t.gid !== gid) return false;
  if (e.type === 'dir') return t.type === 'd' && t.mode === e.mode && t.mtimeMs === e.mtimeMs;
  if (e.type === 'symlink') return t.type === 'l' && t.link.equals(e.link!);
  if (e.type === 'hardlink') return t.type === 'f' && first !== undefined && first.ino === t.ino;
  return t.type === 'f' && t.size === e.size && t.mtimeMs === e.mtimeMs && t.mode === e.mode;
}

// Punching holes moves the mtime: put it back (stat's %y keeps the nanoseconds).
const DIG_HOLES = `'for f; do t=$(stat -c %y "$f") && fallocate --dig-holes "$f" && touch -d "$t" "$f" || exit 1; done'`;

export async function copyToVolume(o: VolumeCopyOptions): Promise<CopyResult> {
  const { avail, entries } = await listVolume(o.helper, o.signal);
  const own = (e: ManifestEntry) => o.owner ?? { uid: e.uid, gid: e.gid };
  let need = 0, toSend = 0;
  const firstOf = (e: ManifestEntry) => (e.type === 'hardlink' ? entries.get(targetOfPath(e.link!, o.normalize).toString('latin1')) : undefined);
  for await (const e of readManifest(o.manifest)) {
    const t = entries.get(targetPathOf(e).toString('latin1'));
    if (t) t.seen = true;
    const { uid, gid } = own(e);
    if (upToDate(e, t, uid, gid, firstOf(e))) continue;
    toSend++;
    if (e.type === 'file') need += e.size - (t?.type === 'f' ? Math.min(t.size, e.size) : 0);
  }
  if (need > avail) {
    throw new FerryError('E_FILES_NO_SPACE', `volume ${o.helper.volume} has ${(avail / 1048576).toFixed(1)} MiB free, the copy needs ${(need / 1048576).toFixed(1)} MiB more`, {
      hint: 'free space where Docker keeps its volumes (docker system df), then run again; nothing was copied',
    });
  }
  const extras = [...entries.entries()].filter(([, t]) => !t.seen).map(([k]) => Buffer.from(k, 'latin1'));
  if (extras.length) {
    await runHelper({ h: o.helper, cmd: ['sh', '-c', `cd ${HELPER_MOUNT} && xargs -0 -r rm -rf --`], input: [Buffer.concat(extras.flatMap((p) => [p, Buffer.alloc(1)]))], what: 'remove entries the source no longer has', ...(o.signal ? { signal: o.signal } : {}) });
  }
  // Nothing differs (the delta pass of an unchanged tree): no tar helper at all.
  if (toSend === 0 && extras.length === 0) {
    const r: CopyResult = { entries: entries.size, copied: 0, bytes: 0, skipped: entries.size, fixed: 0, removed: [] };
    await writeFileAtomic(o.progressFile, JSON.stringify({ ...r, removed: 0, done: true }) + '\n');
    return r;
  }
  const root = await lstat(o.sourceRoot);
  const rootOwner = o.owner ?? { uid: root.uid, gid: root.gid };
  let copied = 0, bytes = 0, skipped = 0, entriesN = 0;
  const sparse: Buffer[] = [];
  const src = Buffer.from(o.sourceRoot);
  async function* items(): AsyncGenerator<TarItem> {
    for await (const e of readManifest(o.manifest)) {
      entriesN++;
      const name = targetPathOf(e);
      const { uid, gid } = own(e);
      // Directories and hard links are headers only, sent whenever anything is: tar re-creating a
      // changed first name gives it a new inode, which its other names must follow.
      if (e.type !== 'dir' && e.type !== 'hardlink' && upToDate(e, entries.get(name.toString('latin1')), uid, gid)) { skipped++; continue; }
      if (e.type !== 'dir' && e.type !== 'hardlink') copied++;
      if (e.type === 'file' && e.sparse) sparse.push(name);
      yield { entry: e, name, uid, gid, ...(e.type === 'file' ? { from: joinRel(src, e.path) } : {}), ...(e.type === 'hardlink' ? { linkName: targetOfPath(e.link!, o.normalize) } : {}) };
    }
  }
  const script = `chown ${rootOwner.uid}:${rootOwner.gid} ${HELPER_MOUNT} && chmod ${(root.mode & 0o7777).toString(8)} ${HELPER_MOUNT} && exec tar -x -C ${HELPER_MOUNT} --numeric-owner --same-owner -p -f -`;
  let lastSave = Date.now();
  let sent = 0;
  // Counted as written into the stream (items() runs ahead: it feeds a read-ahead window).
  const input = tarStream(items(), o.concurrency, (n) => {
    sent++; bytes += n;
    o.onProgress?.({ files: sent, bytes });
    if (Date.now() - lastSave > 2000) { lastSave = Date.now(); void writeFileAtomic(o.progressFile, JSON.stringify({ sent, bytes, done: false }) + '\n').catch(() => undefined); }
  });
  const untar = (from: string) => `chown ${rootOwner.uid}:${rootOwner.gid} ${HELPER_MOUNT} && chmod ${(root.mode & 0o7777).toString(8)} ${HELPER_MOUNT} && exec tar -x -C ${HELPER_MOUNT} --numeric-owner --same-owner -p -f ${from}`;
  if ((o.stream ?? (fifoUsable() ? 'fifo' : 'stdin')) === 'fifo') {
    await feedThroughFifo({ h: o.helper, dir: join(dirname(o.progressFile), 'stream'), script: untar, input, what: 'write the tar stream', ...(o.signal ? { signal: o.signal } : {}) });
  } else {
    await runHelper({ h: o.helper, cmd: ['sh', '-c', untar('-')], what: 'write the tar stream', input, ...(o.signal ? { signal: o.signal } : {}) });
  }
  if (sparse.length) {
    await runHelper({ h: o.helper, cmd: ['sh', '-c', `cd ${HELPER_MOUNT} && xargs -0 -r sh -c ${DIG_HOLES} sh`], input: [Buffer.concat(sparse.flatMap((p) => [p, Buffer.alloc(1)]))], what: 'punch the holes of sparse files', ...(o.signal ? { signal: o.signal } : {}) });
  }
  const result: CopyResult = { entries: entriesN, copied, bytes, skipped, fixed: 0, removed: extras.map(showPath) };
  await writeFileAtomic(o.progressFile, JSON.stringify({ ...result, removed: extras.length, done: true }) + '\n');
  return result;
}
