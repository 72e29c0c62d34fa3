/**
 * rollback --with-data: what the stack wrote after the cutover goes back to the host. The target is
 * compared with the export's manifest (the tree as it was at cutover): new and changed entries are
 * written into the source directory (temp name, then rename); entries the stack deleted are listed, and
 * deleted on the host only with `applyDeletions`. Nothing else on the host is touched.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { chmod, chown, copyFile, lstat, mkdir, readlink, rename, rm, symlink, utimes, lutimes } from 'node:fs/promises';
import { once } from 'node:events';
import { mtimeSeconds } from './copy-bind.ts';
import { byTargetPath } from './copy-bind.ts';
import { HELPER_MOUNT, openHelper } from './helper.ts';
import { targetPathOf, type ManifestEntry } from './manifest.ts';
import { comparePaths, joinRel, showPath } from './paths.ts';
import { readTar } from './tar.ts';
import type { TargetSpec } from './target.ts';
import { emptyScanReport, scanTree, LIST_CAP } from './walk.ts';

export interface ReverseOptions {
  readonly manifest: string;
  readonly sourceRoot: string;
  readonly target: TargetSpec;
  readonly normalize: 'none' | 'nfc';
  readonly applyDeletions: boolean;
  readonly signal?: AbortSignal;
}

export interface ReverseResult {
  readonly created: number;
  readonly changed: number;
  readonly bytes: number;
  /** Paths the stack deleted (capped list) and how many. */
  readonly deleted: readonly string[];
  readonly deletedCount: number;
  readonly deletionsApplied: boolean;
}

/** Walks the manifest alongside the target's entries (both in tree order). */
class Cursor {
  private head: IteratorResult<ManifestEntry> | undefined;
  readonly gone: ManifestEntry[] = [];
  goneCount = 0;
  private readonly it: AsyncIterator<ManifestEntry>;
  constructor(it: AsyncIterator<ManifestEntry>) { this.it = it; }
  /** The manifest entry at `path`, noting the ones passed over as deleted. */
  async at(path: Buffer): Promise<ManifestEntry | undefined> {
    for (;;) {
      this.head ??= await this.it.next();
      if (this.head.done) return undefined;
      const c = comparePaths(targetPathOf(this.head.value), path);
      if (c === 0) { const e = this.head.value; this.head = undefined; return e; }
      if (c > 0) return undefined;
      this.pass(this.head.value);
      this.head = undefined;
    }
  }
  async rest(): Promise<void> { for (let h = this.head ?? await this.it.next(); !h.done; h = await this.it.next()) this.pass(h.value); this.head = undefined; }
  private pass(e: ManifestEntry) { this.goneCount++; if (this.gone.length < LIST_CAP) this.gone.push(e); }
}

function changed(want: ManifestEntry | undefined, got: ManifestEntry): boolean {
  if (!want || want.type !== got.type) return true;
  if (got.type === 'file') return want.size !== got.size || want.mtimeMs !== got.mtimeMs;
  if (got.type === 'symlink') return !Buffer.from(want.link ?? []).equals(Buffer.from(got.link ?? []));
  return false;
}

export async function reverseToSource(o: ReverseOptions): Promise<ReverseResult> {
  const src = Buffer.from(o.sourceRoot);
  const root = await lstat(o.sourceRoot);
  const cur = new Cursor(byTargetPath(o.manifest, o.normalize)[Symbol.asyncIterator]());
  let created = 0, changedN = 0, bytes = 0;
  const hostPath = (want: ManifestEntry | undefined, got: ManifestEntry) => joinRel(src, want?.path ?? got.path);
  const ownerOf = (want: ManifestEntry | undefined) => (want ? { uid: want.uid, gid: want.gid } : { uid: root.uid, gid: root.gid });
  const finish = async (dest: Buffer, tmp: Buffer, want: ManifestEntry | undefined, got: ManifestEntry) => {
    const { uid, gid } = ownerOf(want);
    await chown(tmp, uid, gid); await chmod(tmp, got.mode); await utimes(tmp, mtimeSeconds(got.mtimeMs), mtimeSeconds(got.mtimeMs));
    const st = await lstat(dest).catch(() => null);
    if (st?.isDirectory()) await rm(dest, { recursive: true });
    await rename(tmp, dest);
    if (want) changedN++; else created++;
    bytes += got.size;
  };
  const tmpOf = (dest: Buffer) => Buffer.concat([dest, Buffer.from(`.ferry-reverse-${process.pid}`)]);
  const other = async (want: ManifestEntry | undefined, got: ManifestEntry) => {
    const dest = hostPath(want, got);
    if (got.type === 'dir') { if (!want) { await mkdir(dest, { recursive: true, mode: got.mode }); const { uid, gid } = ownerOf(want); await chown(dest, uid, gid); created++; } return; }
    if (got.type === 'symlink') {
      const tmp = tmpOf(dest);
      await rm(tmp, { force: true });
      await symlink(got.link!, tmp);
      await lutimes(tmp, mtimeSeconds(got.mtimeMs), mtimeSeconds(got.mtimeMs));
      await rename(tmp, dest);
      if (want) changedN++; else created++;
    }
  };
  if (o.target.kind === 'bind') {
    const troot = Buffer.from(o.target.root);
    for (const got of scanTree(o.target.root, emptyScanReport())) {
      o.signal?.throwIfAborted();
      const want = await cur.at(got.path);
      if (!changed(want, got)) continue;
      if (got.type === 'file') {
        const dest = hostPath(want, got), tmp = tmpOf(dest);
        await copyFile(joinRel(troot, got.path), tmp);
        await finish(dest, tmp, want, got);
      } else if (got.type === 'symlink') {
        const link = await readlink(joinRel(troot, got.path), { encoding: 'buffer' });
        await other(want, { ...got, link });
      } else await other(want, got);
    }
  } else {
    const h = openHelper({ h: o.target.helper, readOnly: true, what: 'stream the volume back', cmd: ['tar', '-c', '--format=posix', '--sort=name', '--numeric-owner', '-C', HELPER_MOUNT, '.'], ...(o.signal ? { signal: o.signal } : {}) });
    let open: { entry: ManifestEntry; out: WriteStream | null; want: ManifestEntry | undefined } | undefined;
    const onData = async (e: ManifestEntry, chunk: Buffer | null) => {
      if (!chunk) return; // the end: handled where the finished entry is yielded
      if (open?.entry !== e) {
        const want = await cur.at(e.path);
        open = { entry: e, want, out: changed(want, e) ? createWriteStream(tmpOf(hostPath(want, e))) : null };
      }
      if (open.out && !open.out.write(chunk)) await once(open.out, 'drain');
    };
    let complete = false;
    try {
      for await (const got of readTar(h.stdout, onData)) {
        if (got.type === 'file') {
          // onData saw the whole file (its end is reported with the finished entry: sha256 set).
          if (!open || !open.entry.path.equals(got.path)) { const want = await cur.at(got.path); open = { entry: got, want, out: changed(want, got) ? createWriteStream(tmpOf(hostPath(want, got))) : null }; }
          const { out, want } = open;
          open = undefined;
          if (out) { await new Promise<void>((res, rej) => out.end((err?: Error | null) => (err ? rej(err) : res()))); const dest = hostPath(want, got); await finish(dest, tmpOf(dest), want, got); }
          continue;
        }
        const want = await cur.at(got.path);
        if (changed(want, got)) await other(want, got);
      }
      complete = true;
    } finally {
      if (!complete) { h.kill(); await h.finished().catch(() => undefined); }
    }
    await h.finished();
  }
  await cur.rest();
  const deleted = cur.gone.map((e) => showPath(targetPathOf(e)));
  if (o.applyDeletions) for (const e of cur.gone) await rm(joinRel(src, e.path), { recursive: true, force: true });
  return { created, changed: changedN, bytes, deleted, deletedCount: cur.goneCount, deletionsApplied: o.applyDeletions };
}
