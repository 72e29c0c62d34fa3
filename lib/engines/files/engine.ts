/**
 * The files engine: a host directory moved into a bind-mounted directory or a named volume of the
 * stack, verified file by file. export = the manifest (stat only), import = the copy, hashing every file
 * from the same read (re-run = the delta; an already-copied manifest = nothing); the first export into
 * a host directory that holds nothing yet makes the copy as it walks (streamTarget: the import then finds
 * it recorded complete), verify = the target's
 * manifest against it, freeze = a quiet window, reverse = rollback --with-data. A volume named as in the
 * compose file and the owner from the service's `user:` come from the service's compose view.
 */
import { join } from 'node:path';
import { defineEngine, type Engine, type EngineFinding, type EngineParams, type ExportSummary, type Store } from '../../core/engine.ts';
import type { CopyResult } from './copy-bind.ts';
import { assertSourceDir, exportTree, MANIFEST_FILE, provenFingerprint, SCAN_FILE, treeFingerprint, type WalkStream } from './export.ts';
import type { filesFollowPhases } from './freeze.ts';
import { readManifest } from './manifest.ts';
import { ownerOf, parseFilesOptions, type FilesOptions } from './options.ts';
import type { ComposeView } from './compose-target.ts';
import { forgetAllRanges, forgetCopied, forgetCopyRecords, forgetScope, manifestIdentity, readCopied, readScope, recordCopied, recordScope } from './copied.ts';
import { targetSpec, type TargetSpec } from './target.ts';
import type { ScanReport } from './walk.ts';
import { access, readdir, readFile, rm } from 'node:fs/promises';
import { FerryError } from '../../core/errors.ts';
import { joinRel, targetOfPath } from './paths.ts';
import { forgetRewritten, readRewritten } from './rewritten.ts';
import { baseUnhashed, viewId, writeBaseLines, writeScopeManifest } from './manifest-delta.ts';
import { readJson } from '../read-json.ts';
import { freeBytes } from '../../util/free-bytes.ts';

import { manifestFileId, rebindCtimeRecord } from './ctime-stamp.ts';
import { withYoungGenerationHeld } from './young-gen.ts';

// What a pass that copies nothing never needs (the copies, verify, rollback, the compose view, the
// helper container, the follow phases, the walk, node:crypto) is imported where used: a delta pass of an
// unchanged tree loads a third of the modules and starts its scan sooner.

/**
 * The scoped pass's part of the manifest (see writeScopeManifest), beside it (the copy's hash log is kept
 * there too), named by what it is cut from (the manifest as read: base and delta; the scope's directories):
 * the check after a pass that moved something reads the same part, not cut again. The last one stays.
 */
async function scopePart(manifest: string, artifactDir: string, dirs: readonly string[]): Promise<string> {
  const id = (await import('node:crypto')).createHash('sha256').update(`${viewId(manifest)}\n${dirs.join('\0')}`).digest('hex').slice(0, 24);
  const name = `${SCOPE_PREFIX}${id}.ndjson`, part = join(artifactDir, name);
  if (await access(part).then(() => true, () => false)) return part;
  for (const n of await readdir(artifactDir)) if (n.startsWith(SCOPE_PREFIX) && n !== name) await rm(join(artifactDir, n), { force: true });
  await writeScopeManifest(manifest, dirs, part);
  return part;
}
const SCOPE_PREFIX = 'scope-';

export interface FilesFacts {
  readonly source: string;
  readonly scan: ScanReport;
  readonly fingerprint: string;
  readonly target: {
    readonly kind: 'bind' | 'volume'; readonly where: string; readonly freeBytes?: number;
    /** A volume's stream path (fifo.ts volumeStream): through a FIFO, or the helper's stdin (slower). */
    readonly stream?: 'fifo' | 'stdin';
  };
}

type P = EngineParams<FilesOptions>;

/** The compose view of the store's service (memoised per service handle); undefined without one. */
const views = new WeakMap<object, Promise<ComposeView | undefined>>();
function viewOf(p: P): Promise<ComposeView | undefined> {
  const s = p.service;
  if (!s?.composeView) return Promise.resolve(undefined);
  let v = views.get(s);
  if (!v) {
    v = s.composeView().catch((e: unknown) => {
      p.log.warn(`store ${p.store.id}: compose config unreadable (${(e as Error).message}): the volume name and owner are taken as configured`);
      return undefined;
    });
    views.set(s, v);
  }
  return v;
}

/**
 * The target: `targetUrl` when the playbook resolved one (`<hostPath>` or `volume:<name>`), else the
 * store's; a volume named as in the compose file (`uploads`) is the project's real volume.
 */
async function specOf(p: P): Promise<TargetSpec> {
  const u = p.targetUrl;
  const t = u === undefined ? p.store.target : u.startsWith('volume:') ? { ...p.store.target, hostPath: undefined, volume: u.slice('volume:'.length) } : { ...p.store.target, hostPath: u, volume: undefined };
  const view = t.volume ? await viewOf(p) : undefined;
  const volume = view && t.volume ? (await import('./compose-target.ts')).composeVolumeName(view, t.volume) : undefined;
  return targetSpec(p.store.id, volume ? { ...t, volume } : t, p.store.options.helperImage);
}

/**
 * The uid:gid files arrive with: `options.owner`, else the compose service's `user:` (numbers as given,
 * a name through the image's /etc/passwd); without either, the source's owners are kept.
 */
const owners = new Map<string, Promise<{ uid: number; gid: number }>>();
async function ownerFor(p: P): Promise<{ uid: number; gid: number } | undefined> {
  const configured = ownerOf(p.store.options);
  if (configured) return configured;
  const view = await viewOf(p);
  if (!view) return undefined;
  const { composeServiceUser, numericOwner, resolveImageUser } = await import('./compose-target.ts');
  const { user, image } = composeServiceUser(view, p.store.target.service);
  if (!user) return undefined;
  const n = numericOwner(user);
  if (n) return n;
  if (!image) {
    throw new FerryError('E_FILES_TARGET', `store ${p.store.id}: service ${p.store.target.service} runs as user "${user}" but names no image to resolve it in`, {
      hint: 'set the store\'s options.owner to "uid:gid" (the numbers the app runs as in its container)',
    });
  }
  const key = `${image}\0${user}`;
  let r = owners.get(key);
  if (!r) { r = resolveImageUser(image, user); owners.set(key, r); r.catch(() => owners.delete(key)); }
  return r;
}
/** The export's manifest; a FerryError when there is none yet. */
async function manifestOf(p: P): Promise<string> {
  const m = join(p.artifactDir, MANIFEST_FILE);
  await access(m).catch(() => {
    throw new FerryError('E_FILES_NO_EXPORT', `store ${p.store.id}: no manifest in ${p.artifactDir}`, { hint: `run the export of store ${p.store.id} first (export:${p.store.id})` });
  });
  return m;
}

async function facts(p: P): Promise<FilesFacts> {
  await assertSourceDir(p.store.id, p.store.source);
  const { fingerprint, report } = await treeFingerprint(p.store.source, p.store.options.normalize);
  const t = await specOf(p);
  // A bind target not made yet is measured where it will be made (its nearest existing ancestor).
  const free = t.kind === 'bind' ? await freeBytes(t.root).catch(() => undefined) : undefined;
  const stream = t.kind === 'volume' ? await (await import('./fifo.ts')).volumeStream() : undefined;
  return { source: p.store.source, scan: report, fingerprint, target: { kind: t.kind, where: t.kind === 'bind' ? t.root : t.helper.volume, ...(free !== undefined ? { freeBytes: free } : {}), ...(stream ? { stream } : {}) } };
}

function assess(f: FilesFacts, store: Store<FilesOptions>): EngineFinding[] {
  const out: EngineFinding[] = [];
  const s = f.scan;
  for (const item of s.refused.items.slice(0, 50)) {
    out.push({ severity: 'blocker', check: 'files-refused', subject: `store ${store.id}`, message: item, hint: 'remove or replace it (sockets, FIFOs, devices and links leaving the tree are not moved; unreadable entries need the permission named)' });
  }
  if (s.refused.count > 50) out.push({ severity: 'blocker', check: 'files-refused', subject: `store ${store.id}`, message: `… and ${s.refused.count - 50} more entries that cannot be moved`, hint: 'see scan.json in the store\'s artifact directory' });
  if (f.target.freeBytes !== undefined && f.target.freeBytes < s.bytes) {
    out.push({ severity: 'blocker', check: 'files-target-space', subject: `target ${f.target.where}`, message: `${(f.target.freeBytes / 1048576).toFixed(1)} MiB free, the tree holds ${(s.bytes / 1048576).toFixed(1)} MiB`, hint: 'free space on the target filesystem, or point the store at a larger one' });
  }
  for (const c of s.caseCollisions.items) out.push({ severity: 'warning', check: 'files-case-collision', subject: `store ${store.id}`, message: `names collide when case is folded: ${c}`, hint: 'both are kept on Linux; a rollback to a case-insensitive disk (APFS default) would keep only one: rename one first' });
  for (const n of s.notUtf8.items) out.push({ severity: 'warning', check: 'files-not-utf8', subject: `file ${n}`, message: 'the name is not valid UTF-8 (kept byte for byte)', hint: 'APFS refuses such names: a rollback to a Mac would fail on it; rename it if the app allows' });
  for (const n of s.nfd.items) {
    out.push(store.options.normalize === 'nfc'
      ? { severity: 'rewrite', check: 'files-nfd-name', subject: `file ${n}`, message: 'the NFD name is written in NFC on the target', hint: 'the manifest records both names' }
      : { severity: 'info', check: 'files-nfd-name', subject: `file ${n}`, message: 'the name differs from its NFC form (a Mac wrote it); kept byte for byte', hint: 'set options.normalize: "nfc" if the app looks names up in NFC' });
  }
  if (f.target.stream === 'stdin') {
    out.push({ severity: 'info', check: 'files-volume-stream', subject: `volume ${f.target.where}`, message: 'written through the helper container\'s stdin: the Docker engine does not share this machine\'s kernel and files (Docker Desktop\'s VM, a remote engine), or FERRY_VOLUME_STREAM=stdin', hint: 'nothing to do; it is slower than the FIFO used where the engine runs on this kernel (a bind mount of a host directory is faster still)' });
  }
  if (s.excluded.count) out.push({ severity: 'info', check: 'files-not-data', subject: `store ${store.id}`, message: `${s.excluded.count} Finder files (.DS_Store, AppleDouble ._*) left out, ${s.excluded.bytes} bytes`, hint: 'nothing to do: they are not the app\'s data' });
  return out;
}

/** Target copies of files rewritten in place with size and mtime kept go first: the copy sends them again (rewritten.ts). */
async function removeRewritten(p: P, t: TargetSpec, manifest: string): Promise<void> {
  const paths = (await readRewritten(p.artifactDir, manifest)).map((x) => targetOfPath(x, p.store.options.normalize));
  if (!paths.length) return;
  if (t.kind === 'bind') for (const x of paths) await rm(joinRel(Buffer.from(t.root), x), { force: true });
  else {
    const { HELPER_MOUNT, runHelper } = await import('./helper.ts');
    await runHelper({ h: t.helper, cmd: ['sh', '-c', `cd ${HELPER_MOUNT} && xargs -0 -r rm -f --`], input: [Buffer.concat(paths.flatMap((x) => [x, Buffer.alloc(1)]))], what: 'remove files rewritten in place', signal: p.signal });
  }
  await forgetRewritten(p.artifactDir);
}

/** The manifest's identity for the copy's records: its files (base, delta) and its hash log. */
async function identityOf(manifest: string, artifactDir: string): Promise<string> {
  return `${await manifestIdentity(manifest, artifactDir)}/${viewId(manifest)}`;
}

/**
 * After a copy, a manifest whose base lacks hashes (the export only stats; the copy's log holds them) has
 * its base written again with them (outside the freeze, once per bulk copy), beside the manifest file:
 * that file is the export step's journaled artifact and the import's input, and stays byte for byte as
 * the export wrote it (a resumed run must not see it changed and copy the whole tree again; see
 * BaseRecord in manifest.ts). The final pass then writes only a delta over the base
 * (manifest-delta.ts), and a scoped copy's log, which holds only its scope's, loses none.
 */
async function foldHashes(p: P, manifest: string): Promise<void> {
  if (baseUnhashed(manifest) === 0) return;
  const before = manifestFileId(manifest);
  const counted = { unhashed: 0 };
  await writeBaseLines(manifest, (await import('./hashes.ts')).foldedManifestLines(manifest, p.artifactDir, counted), () => counted.unhashed);
  await rebindCtimeRecord(p.artifactDir, before, manifestFileId(manifest));
}

/**
 * The tree's fingerprint: the last export's when the ctime scan proves nothing changed since, else a walk
 * (a pass over the tree: young generation held, young-gen.ts).
 */
function fingerprintNow(p: P): Promise<string> {
  const o = { root: p.store.source, artifactDir: p.artifactDir, normalize: p.store.options.normalize, signal: p.signal };
  return withYoungGenerationHeld(async () => await provenFingerprint(o) ?? (await treeFingerprint(p.store.source, p.store.options.normalize)).fingerprint);
}

function summary(r: CopyResult): Record<string, unknown> {
  return { entries: r.entries, copied: r.copied, bytes: r.bytes, skipped: r.skipped, fixed: r.fixed, removed: r.removed.length, ...(r.ranged ? { ranged: r.ranged } : {}), ...(r.tarStreams ? { tarStreams: r.tarStreams } : {}) };
}

/**
 * The export: the export step's (`final` false) and the final pass's inside the freeze (`final`: the
 * manifest file is the export step's journaled artifact, so even a whole walk leaves it as it is and
 * writes its base beside it; see BaseRecord in manifest.ts).
 */
async function exportFiles(p: P, final: boolean): Promise<ExportSummary> {
  let bytes = 0;
  // The last complete copy left the target equal to this manifest: a narrowed export then says where it may differ.
  const before = await readCopied(p.stateDir);
  const baseOk = before !== undefined && before.manifest === await identityOf(join(p.artifactDir, MANIFEST_FILE), p.artifactDir);
  const into = final ? undefined : await streamTarget(p);
  const r = await exportTree({
    storeId: p.store.id, root: p.store.source, artifactDir: p.artifactDir, normalize: p.store.options.normalize, concurrency: p.store.options.concurrency, signal: p.signal, keepManifest: final,
    onHashed: (n) => { bytes += n; p.progress.update({ unit: 'bytes', done: bytes, label: 'hashing' }); },
    ...(into ? { stream: (s: WalkStream) => streamInto(p, into, s) } : {}),
  });
  const streamed = r.streamed as CopyResult | undefined;
  if (streamed && into) {
    // The copy the import would make is made: recorded as the import records it (the import finds it done).
    await foldHashes(p, r.manifest);
    await recordCopied(p.stateDir, { manifest: await identityOf(r.manifest, p.artifactDir), target: into.where, owner: JSON.stringify(into.owner ?? null), entries: streamed.entries });
    p.log.info(`store ${p.store.id}: ${streamed.copied} files and links (${(streamed.bytes / 1048576).toFixed(1)} MiB) copied into ${into.root} while exporting (the import finds the copy complete)`);
  }
  if (r.scope?.length === 0) { /* unchanged: the copied record (or the scope) for this manifest stays valid as it is */ } else if (r.scope && baseOk) await recordScope(p.stateDir, { manifest: await identityOf(r.manifest, p.artifactDir), target: before.target, owner: before.owner, dirs: r.scope });
  else await forgetScope(p.stateDir);
  const s = r.report;
  return {
    manifest: r.manifest,
    // A narrowed export records its change beside the manifest file (its delta or base): the tree's fingerprint says what it holds.
    contentId: r.fingerprint,
    data: {
      files: s.files, dirs: s.dirs, symlinks: s.symlinks, hardlinks: s.hardlinks, bytes: s.bytes, excluded: s.excluded.count, nfdNames: s.nfd.count, caseCollisions: s.caseCollisions.count, fingerprint: r.fingerprint,
      scan: r.scan, ...(r.changed !== undefined ? { changed: r.changed } : {}), ...(r.fallback ? { fallback: r.fallback } : {}),
      ...(streamed ? { streamed: summary(streamed) } : {}),
    },
  };
}

interface StreamTarget { readonly root: string; readonly where: string; readonly owner: { uid: number; gid: number } | undefined }

/**
 * Where the export's walk streams the first copy (export.ts `stream`): a host directory target that
 * holds nothing yet (absent or empty: nothing on it to compare with or remove), names kept as they are
 * (the manifest's order is the target's). Else undefined: the import copies. A target that cannot be
 * resolved here is the import's to report.
 */
async function streamTarget(p: P): Promise<StreamTarget | undefined> {
  if (p.store.options.normalize !== 'none' || p.store.options.copyDuringExport === false) return undefined;
  try {
    const t = await specOf(p);
    if (t.kind !== 'bind') return undefined;
    const names = await readdir(t.root).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? [] : undefined));
    if (!names || names.length) return undefined;
    return { root: t.root, where: `bind:${t.root}`, owner: await ownerFor(p) };
  } catch {
    return undefined;
  }
}

/** The options every copy into the target takes from the store (the import's, the export's streamed one). */
function copyCommon(p: P) {
  return {
    sourceRoot: p.store.source, normalize: p.store.options.normalize, concurrency: p.store.options.concurrency, workers: p.store.options.copyWorkers,
    progressFile: join(p.stateDir, 'copy-progress.json'), signal: p.signal,
    ranges: { largeFileBytes: p.store.options.largeFileMiB * 1048576, rangeBytes: p.store.options.rangeMiB * 1048576 },
    onProgress: (d: { files: number; bytes: number }) => p.progress.update({ unit: 'bytes', done: d.bytes, label: `${d.files} files` }),
  };
}

/**
 * The first copy fed by the export's walk: once find has counted the tree (before a byte moves), the
 * target's filesystem must hold it (else declined: the import's own check refuses with the exact figure).
 */
async function streamInto(p: P, into: StreamTarget, s: WalkStream): Promise<CopyResult | undefined> {
  const size = await s.size;
  const free = size ? await freeBytes(into.root).catch(() => undefined) : undefined;
  if (!size || free === undefined || size.bytes > free) {
    s.decline();
    p.log.info(`store ${p.store.id}: the copy waits for the import (${!size ? 'no count of the tree (GNU find)' : free === undefined ? 'the target\'s free space is unknown' : 'the target may lack the space'})`);
    return undefined;
  }
  await forgetCopyRecords(p.stateDir);
  const { copyStreamToBind } = await import('./copy-bind.ts');
  return copyStreamToBind({ ...copyCommon(p), targetRoot: into.root, owner: into.owner, artifactDir: p.artifactDir, entries: s.entries, size });
}

/**
 * `fn` with a volume target's helpers run as `docker exec`s into one container kept for it (helper.ts
 * withHelperSession), where the Docker engine shares this kernel (the session's FIFO); else as it is.
 */
async function inVolumeSession<T>(p: P, t: TargetSpec, fn: () => Promise<T>): Promise<T> {
  if (t.kind !== 'volume' || await (await import('./fifo.ts')).volumeStream() !== 'fifo') return fn();
  return (await import('./helper.ts')).withHelperSession(t.helper, join(p.stateDir, 'stream'), fn);
}

/**
 * Start a volume target's session container for the final pass ahead of the freeze and wait for it
 * (helper.ts holdHelperSession; kept until releaseSession or this process's end), where helpers run in
 * sessions at all (inVolumeSession). Waited for here, outside the freeze: a start left running in the
 * background overlapped the freeze and its catch-ups in the second app's demo (its `docker run`s on the
 * same 2 cores: freeze and catch-up steps of the volumes 2-3 times longer). A run resumed after the pinned
 * verify starts the session inside the freeze, when its pass needs one, as before.
 */
async function holdSession(p: P): Promise<void> {
  const t = await specOf(p).catch(() => undefined);
  if (t?.kind !== 'volume' || await (await import('./fifo.ts')).volumeStream().catch(() => 'stdin') !== 'fifo') return;
  const h = await import('./helper.ts');
  h.holdHelperSession(t.helper, join(p.stateDir, 'stream'));
  await h.heldSessionsStarted();
}

async function releaseSession(p: P): Promise<void> {
  const t = await specOf(p).catch(() => undefined);
  if (t?.kind === 'volume') await (await import('./helper.ts')).releaseHelperSession(t.helper.volume);
}

// The final pass's export never rewrites the export step's manifest file (a kill after it must not find the export changed).
type Follow = ReturnType<typeof filesFollowPhases>;
let phases: Promise<Follow> | undefined;
const follow = (): Promise<Follow> => (phases ??= import('./freeze.ts').then((m) => m.filesFollowPhases(() => ({ ...filesEngine, export: (p: P) => withYoungGenerationHeld(() => exportFiles(p, true)) }))));

export const filesEngine: Readonly<Engine<FilesOptions, FilesFacts>> = defineEngine<FilesOptions, FilesFacts>({
  kind: 'files',
  phases: ['facts', 'assess', 'sourceState', 'export', 'import', 'verify', 'freeze', 'thaw', 'reverse', 'follow', 'catchUp', 'promote'],
  // Following = a bulk copy before the freeze and a final pass of what changed inside it (freeze.ts, loaded by the first of them).
  follow: async (p) => (await follow()).follow(p),
  followStatus: async (p) => (await follow()).followStatus(p),
  // The final pass's session container is started once the bulk copy is verified, outside the freeze (holdSession).
  verifyPinned: async (p) => { const r = await (await follow()).verifyPinned(p); await holdSession(p); return r; },
  promote: async (p) => (await follow()).promote(p),
  abortFollow: async (p) => { await releaseSession(p); await (await follow()).abortFollow(p); },
  /** Into a volume, the pass's helpers are `docker exec`s into one container kept for it (helper.ts withHelperSession). */
  // A held session is not released here, inside the freeze: its container's end (EOF, exit, removal) kept the
  // engine busy beside the next stores' catch-ups (the second app's demo: a volume's catch-up 0.07-0.19 s
  // without a held session, 0.13-0.30 s releasing it). It ends with this process (or at thaw, abortFollow,
  // or before a throwaway stack is removed: helper.ts releaseHeldSessions).
  async catchUp(p, budgetMs) {
    const f = await follow();
    return inVolumeSession(p, await specOf(p), () => f.catchUp(p, budgetMs));
  },
  parseOptions: parseFilesOptions,
  facts: (p) => withYoungGenerationHeld(() => facts(p)),
  assess,
  sourceState: fingerprintNow,
  /** `sourceState`: the tree's fingerprint as the caller just proved it (one ctime scan per decision, not two). */
  async exported(p, sourceState) {
    const scan = await readFile(join(p.artifactDir, SCAN_FILE), 'utf8').then((s) => JSON.parse(s) as { fingerprint?: string }, () => undefined);
    if (!scan?.fingerprint) return false;
    return scan.fingerprint === (sourceState ?? await fingerprintNow(p));
  },
  // Every pass over the tree (the scans, the walk, the copy, the reverse) holds the thread's young generation at its size (young-gen.ts): RSS flat in the file count.
  export: (p) => withYoungGenerationHeld(() => exportFiles(p, false)),
  import: (p) => withYoungGenerationHeld(async () => {
    const t = await specOf(p);
    const manifest = await manifestOf(p);
    const where = t.kind === 'bind' ? `bind:${t.root}` : `volume:${t.helper.volume}`;
    const own = await ownerFor(p);
    const owner = JSON.stringify(own ?? null);
    const done = await readCopied(p.stateDir);
    if (done && done.target === where && done.owner === owner && done.manifest === await identityOf(manifest, p.artifactDir)) {
      return { data: { entries: done.entries, copied: 0, bytes: 0, skipped: done.entries, fixed: 0, removed: 0, unchanged: true } };
    }
    await forgetCopied(p.stateDir);
    // Narrowed (the final pass): only the directories the export re-read can differ from the manifest.
    const sc = await readScope(p.stateDir);
    const scoped = sc && sc.target === where && sc.owner === owner && sc.manifest === await identityOf(manifest, p.artifactDir) ? sc : undefined;
    // Scoped, names kept: the copy reads only the scoped directories' part of the manifest (O(scope), not O(tree)).
    const part = scoped && p.store.options.normalize === 'none' ? await scopePart(manifest, p.artifactDir, scoped.dirs) : undefined;
    const common = { ...copyCommon(p), manifest: part ?? manifest, owner: own, ...(scoped ? { scope: new Set(scoped.dirs) } : {}) };
    // Into a volume the copy's helpers (the listing, the tar stream, the holes of sparse files, the removals)
    // are `docker exec`s into one container kept for it, as the final pass's are: an empty volume's first copy
    // of 20k files spent 2.7 of its 8.9 s starting three containers one after the other.
    const copied = await inVolumeSession(p, t, async () => {
      await removeRewritten(p, t, manifest);
      return t.kind === 'bind' ? (await import('./copy-bind.ts')).copyToBind({ ...common, targetRoot: t.root }) : (await import('./copy-volume.ts')).copyToVolume({ ...common, helper: t.helper });
    });
    // The entries outside the part (the copy counted its every line) were skipped as the last complete copy left them.
    const outside = part ? Math.max(0, ((await readJson<{ entries?: number }>(join(p.artifactDir, SCAN_FILE)))?.entries ?? copied.entries) - copied.entries) : 0;
    const r = outside ? { ...copied, entries: copied.entries + outside, skipped: copied.skipped + outside } : copied;
    await foldHashes(p, manifest);
    const id = await identityOf(manifest, p.artifactDir);
    await recordCopied(p.stateDir, { manifest: id, target: where, owner, entries: r.entries });
    if (scoped) await recordScope(p.stateDir, { ...scoped, manifest: id }); // the check after the pass lists the same directories
    return { data: { ...summary(r), ...(scoped ? { scopedDirs: scoped.dirs.length } : {}) } };
  }),
  async clearTarget(p) {
    const t = await specOf(p);
    await forgetCopyRecords(p.stateDir);
    const tops: Buffer[] = [];
    for await (const e of readManifest(await manifestOf(p))) if (!e.path.includes(0x2f)) tops.push(e.targetPath ?? e.path);
    if (t.kind === 'bind') {
      for (const n of tops) await rm(joinRel(Buffer.from(t.root), n), { recursive: true, force: true });
      // A killed copy's staging (large files' partials among it) and their range records go too.
      await rm(join(t.root, (await import('./walk.ts')).STAGING_DIR), { recursive: true, force: true });
      await forgetAllRanges(p.stateDir);
      return;
    }
    const { HELPER_MOUNT, runHelper } = await import('./helper.ts');
    if (tops.length) await runHelper({ h: t.helper, cmd: ['sh', '-c', `cd ${HELPER_MOUNT} && xargs -0 -r rm -rf --`], input: [Buffer.concat(tops.flatMap((n) => [n, Buffer.alloc(1)]))], what: 'remove what ferry copied', signal: p.signal });
  },
  async verify(p) {
    const t0 = performance.now();
    const t = await specOf(p);
    const manifest = await manifestOf(p), owner = await ownerFor(p), normalize = p.store.options.normalize;
    // The listing, hashes and comparison stream through a worker whose young generation is bounded (verify-worker.ts).
    const entries = await (await import('./verify-worker.ts')).compareInWorker({ manifest, artifactDir: p.artifactDir, normalize, target: t, owner }, p.signal);
    const ok = entries.every((e) => e.ok);
    if (!ok) await forgetCopyRecords(p.stateDir); // the next import scans all the target and repairs it
    return { ok, entries, seconds: (performance.now() - t0) / 1000 };
  },
  async freeze(p) {
    const q = await (await import('./freeze.ts')).waitQuiet({ root: p.store.source, windowMs: p.store.options.quietWindowMs, budgetMs: p.store.options.quietBudgetMs, signal: p.signal, stampDir: p.stateDir, recordDir: p.artifactDir });
    p.log.info(`store ${p.store.id}: ${p.store.source} quiet for ${p.store.options.quietWindowMs} ms (${q.proof === 'ctime' ? `no inode changed in it: ${q.scans} ctime scan${q.scans === 1 ? '' : 's'}` : `${q.scans} scans`})`);
    return { kind: 'quiet-window', ...q };
  },
  quietSample: fingerprintNow,
  async thaw(p) {
    // A quiet window changes nothing on the source: nothing to lift. A session held for the final pass ends.
    await releaseSession(p);
  },
  reverse: (p) => withYoungGenerationHeld(async () => {
    const r = await (await import('./reverse.ts')).reverseToSource({ manifest: await manifestOf(p), sourceRoot: p.store.source, target: await specOf(p), normalize: p.store.options.normalize, applyDeletions: p.store.options.applyDeletions, signal: p.signal });
    if (r.deletedCount) p.log.warn(`store ${p.store.id}: ${r.deletedCount} entries deleted in the stack ${r.deletionsApplied ? 'were deleted on the host' : 'are listed, not deleted on the host (options.applyDeletions)'}`);
    return { data: { ...r } };
  }),
});
