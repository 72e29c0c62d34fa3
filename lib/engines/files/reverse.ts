/**
 * rollback --with-data: what the stack wrote after the cutover goes back to the host. The target is
 * compared with the export's manifest (the tree as it was at cutover): new and changed entries are
 * written into the source directory (temp name, then rename); entries the stack deleted are listed, and
 * deleted on the host only with `applyDeletions`. Nothing else on the host is touched.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { chmod, chown, copyFile, link, lstat, mkdir, readlink, rename, rm, symlink, utimes, lutimes } from 'node:fs/promises';
import { once } from 'node:events';
import { mtimeSeconds } from './copy-bind.ts';
import { byTargetPath } from './copy-bind.ts';
import { HELPER_MOUNT, openHelper } from './helper.ts';
import { targetPathOf, type ManifestEntry } from './manifest.ts';
import { comparePaths, joinRel, showPath } from './paths.ts';
import { readTar } from './tar-read.ts';
import { volumeManifest, type TargetSpec } from './target.ts';
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
  private readonly onGone: ((e: ManifestEntry) => Promise<void>) | undefined;
  constructor(it: AsyncIterator<ManifestEntry>, onGone?: (e: ManifestEntry) => Promise<void>) { this.it = it; this.onGone = onGone; }
  /** The manifest entry at `path`, noting the ones passed over as deleted. */
  async at(path: Buffer): Promise<ManifestEntry | undefined> {
    for (;;) {
      this.head ??= await this.it.next();
      if (this.head.done) return undefined;
      const c = comparePaths(targetPathOf(this.head.value), path);
      if (c === 0) { const e = this.head.value; this.head = undefined; return e; }
      if (c > 0) return undefined;
      await this.pass(this.head.value);
      this.head = undefined;
    }
  }
  async rest(): Promise<void> { for (let h = this.head ?? await this.it.next(); !h.done; h = await this.it.next()) await this.pass(h.value); this.head = undefined; }
  /** Every deletion is applied as it is met (the list kept for the report is capped). */
  private async pass(e: ManifestEntry) { this.goneCount++; if (this.gone.length < LIST_CAP) this.gone.push(e); await this.onGone?.(e); }
}

/** True when the host already holds what the target has (brought back by an earlier reverse). */
async function alreadyOnHost(dest: Buffer, got: ManifestEntry): Promise<boolean> {
  const st = await lstat(dest).catch(() => null);
  if (!st) return false;
  if (got.type === 'dir') return st.isDirectory();
  if (got.type === 'symlink') return st.isSymbolicLink() && (await readlink(dest, { encoding: 'buffer' })).equals(got.link ?? Buffer.alloc(0));
  return st.isFile() && st.size === got.size && Math.floor(st.mtimeMs) === got.mtimeMs;
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
  const cur = new Cursor(byTargetPath(o.manifest, o.normalize)[Symbol.asyncIterator](),
    o.applyDeletions ? async (e) => { await rm(joinRel(src, e.path), { recursive: true, force: true }); } : undefined);
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
    if (got.type === 'hardlink') {
      const tmp = tmpOf(dest);
      await rm(tmp, { force: true });
      await link(joinRel(src, got.link!), tmp); // the first name, already on the host
      await rename(tmp, dest);
      if (want) changedN++; else created++;
      return;
    }
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
      if (!changed(want, got) || (got.type !== 'hardlink' && await alreadyOnHost(hostPath(want, got), got))) continue;
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
    // List the volume, decide in tree order, then stream out only the new and changed files.
    const wanted = new Map<string, ManifestEntry | undefined>();
    const names: Buffer[] = [];
    for await (const got of volumeManifest(o.target.helper, o.signal, false)) {
      const want = await cur.at(got.path);
      if (!changed(want, got) || (got.type !== 'hardlink' && await alreadyOnHost(hostPath(want, got), got))) continue;
      if (got.type === 'file' || got.type === 'hardlink') { wanted.set(got.path.toString('latin1'), want); names.push(got.path); } else await other(want, got);
    }
    if (names.length) {
      const h = await openHelper({
        h: o.target.helper, readOnly: true, what: 'stream changed files back',
        cmd: ['tar', '-c', '--format=posix', '--numeric-owner', '--no-recursion', '-C', HELPER_MOUNT, '--null', '-T', '-'],
        input: [Buffer.concat(names.flatMap((n) => [n, Buffer.alloc(1)]))],
        ...(o.signal ? { signal: o.signal } : {}),
      });
      let out: WriteStream | undefined;
      let outFor: ManifestEntry | undefined;
      const onData = async (e: ManifestEntry, chunk: Buffer | null) => {
        if (!chunk) return;
        if (outFor !== e) { outFor = e; out = createWriteStream(tmpOf(hostPath(wanted.get(e.path.toString('latin1')), e))); }
        if (!out!.write(chunk)) await once(out!, 'drain');
      };
      let complete = false;
      try {
        for await (const got of readTar(h.stdout, onData)) {
          const want = wanted.get(got.path.toString('latin1'));
          const dest = hostPath(want, got), tmp = tmpOf(dest);
          if (got.type === 'hardlink') { await other(want, got); continue; }
          if (got.type !== 'file') continue;
          const w = outFor && outFor.path.equals(got.path) ? out! : createWriteStream(tmp);
          out = undefined; outFor = undefined;
          await new Promise<void>((res, rej) => w.end((err?: Error | null) => (err ? rej(err) : res())));
          await finish(dest, tmp, want, got);
        }
        complete = true;
      } finally {
        if (!complete) { h.kill(); await h.finished().catch(() => undefined); }
      }
      await h.finished();
    }
  }
  await cur.rest();
  const deleted = cur.gone.map((e) => showPath(targetPathOf(e)));
  return { created, changed: changedN, bytes, deleted, deletedCount: cur.goneCount, deletionsApplied: o.applyDeletions };
}
