/**
 * Freeze for files: ferry cannot stop an app writing into a directory, so it waits for quiet: the tree
 * is quiet when a stat-only scan shows no change across the whole quiet window. Nothing is changed on
 * the source, so there is nothing to thaw.
 */
import { lstatSync, rmSync } from 'node:fs';
import { mkdir, readdir, realpath, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { EngineParams, ExportSummary, FollowStatus, ImportSummary, VerifyReport } from '../../core/engine.ts';
import { FerryError } from '../../core/errors.ts';
import { systemClock, waitFor, type Clock } from '../../util/wait.ts';
import { FOLLOW_RECORD_FILE, readFollowRecordIn, writeFollowRecordIn } from '../follow-record.ts';
import { readJson } from '../read-json.ts';
import { SCAN_FILE, treeFingerprint } from './export.ts';
import { forgetCopied } from './copied.ts';
import { joinRel } from './paths.ts';
import { CTIME_RECORD_FILE, type CtimeRecord } from './ctime-stamp.ts';
import type { FilesOptions } from './options.ts';

export interface QuietOptions {
  readonly root: string;
  readonly windowMs: number;
  readonly budgetMs: number;
  readonly signal?: AbortSignal;
  /** Injectable for tests (default: the system clock). A clock given: the two-scan proof only (the ctime proof reads the kernel's clock). */
  readonly clock?: Clock;
  /** Where the ctime proof may write its reference file (the store's state directory); absent: the two-scan proof. */
  readonly stampDir?: string;
  /**
   * The store's artifact directory: the last pass's ctime record there (its directories, with their
   * children counted) splits the ctime proof's scan over one find per core (scan-split.ts livePlan).
   */
  readonly recordDir?: string;
}

export interface QuietResult {
  /**
   * The two-scan proof's sample (the tree's quick fingerprint). The ctime proof takes none: its one scan
   * prints nothing for a quiet tree, and the fingerprint rollback compares with is prove-quiet's
   * (the engine's sourceState), recorded right after; a second walk here was ~0.7 s of a 100k-file freeze.
   */
  readonly fingerprint?: string;
  readonly quietAt: string;
  readonly scans: number;
  /** `ctime`: no entry's ctime fell in the window before the scan (one scan can prove it); `scans`: two scans a window apart were equal. */
  readonly proof: 'ctime' | 'scans';
}

/**
 * How long past the window the ctime proof looks back: the kernel stamps an inode with its coarse clock,
 * up to a tick (≤ 10 ms) behind the time of the change; looking 50 ms further back, a change inside the
 * window can never carry a ctime before the reference.
 */
const CTIME_MARGIN_MS = 50;

export async function waitQuiet(o: QuietOptions): Promise<QuietResult> {
  if (o.stampDir && !o.clock) {
    const r = await quietByCtime(o, o.stampDir);
    if (r) return r;
  }
  return quietByScans(o);
}

const fingerprintOf = async (root: string, signal?: AbortSignal) =>
  // GNU find's stat stream (C, finer: ctime and inode too) where there is one, else the Node walk.
  await (await import('./quick-scan.ts')).quickFingerprint(root, signal) ?? (await treeFingerprint(root)).fingerprint;

/** Two scans a window apart, equal (the proof wherever ctime cannot be trusted). */
async function quietByScans(o: QuietOptions): Promise<QuietResult> {
  let before: string | undefined;
  let scans = 0;
  return waitFor(async () => {
    const after = await fingerprintOf(o.root, o.signal);
    scans++;
    const quiet = after === before;
    before = after;
    return quiet ? { fingerprint: after, quietAt: new Date().toISOString(), scans, proof: 'scans' as const } : undefined;
  }, {
    what: o.root, timeoutMs: o.budgetMs, intervalMs: o.windowMs, clock: o.clock ?? systemClock,
    ...(o.signal ? { signal: o.signal } : {}),
    fatal: () => true, // a scan that fails is an error, not a tree still moving
    onTimeout: () => notQuiet(o, scans),
  });
}

const notQuiet = (o: QuietOptions, scans: number) => new FerryError('E_FILES_NOT_QUIET', `${o.root} kept changing: no quiet window of ${o.windowMs} ms within ${o.budgetMs} ms (${scans} scans)`, {
  hint: 'stop the app writing into the directory (maintenance mode, stop its workers), or raise quietBudgetMs, then run again',
});

/**
 * The window proven by ctime, where the source's filesystem stamps it with this kernel's clock to the
 * nanosecond: every change to a tree (a write, a chmod, a link, an entry created, removed or renamed in a
 * directory) sets an inode's ctime to the time of the change, so "no entry whose ctime is after now −
 * window" proves the tree unchanged for the whole window in one scan, looking back at time already
 * passed. A tree whose writers stopped a window ago is proven at once; a store frozen after another
 * counts the time the first one waited (two stores' windows overlap instead of adding up). Otherwise it
 * waits until a window has passed since the newest change it saw, and scans again.
 * Undefined where it cannot be trusted (a network or FUSE filesystem, ctimes in whole seconds, a stamp
 * directory whose clock differs, find failing or printing too much): the two-scan proof then runs.
 */
async function quietByCtime(o: QuietOptions, stampDir: string): Promise<QuietResult | undefined> {
  const { localCtime, setReference, takeStamp } = await import('./ctime-stamp.ts');
  if (!(await localCtime(o.root)) || !(await fineCtimes(o.root))) return undefined;
  // A state directory inside the tree: the reference file itself would be a change every scan sees (and
  // the source is never written).
  const [r, d] = await Promise.all([realpath(o.root), realpath(stampDir).catch(() => resolve(stampDir))]);
  if (d === r || d.startsWith(r.endsWith('/') ? r : `${r}/`)) return undefined;
  await mkdir(stampDir, { recursive: true });
  const { changedInWindow } = await import('./ctime-scan.ts');
  const dirs = o.recordDir ? await recordedDirs(o.recordDir, o.root) : undefined;
  const started = Date.now();
  let scans = 0;
  for (;;) {
    o.signal?.throwIfAborted();
    const stamp = takeStamp(stampDir, Date.now, 'quiet-stamp');
    if (!stamp) return undefined;
    try {
      const since = stamp.ctimeMs - o.windowMs - CTIME_MARGIN_MS;
      if (!setReference(stamp.file, since)) return undefined;
      const changed = await changedInWindow(o.root, stamp.file, o.signal, dirs);
      scans++;
      if (!changed) return undefined;
      if (changed.length === 0) {
        return { quietAt: new Date().toISOString(), scans, proof: 'ctime' };
      }
      // Wait until a window has passed since the newest change seen (an entry gone since: a moment).
      let newest = since;
      for (const rel of changed) {
        const st = lstatSync(rel.length ? joinRel(Buffer.from(o.root), rel) : o.root, { throwIfNoEntry: false });
        if (st && st.ctimeMs > newest) newest = st.ctimeMs;
      }
      const wait = Math.max(10, newest + o.windowMs + CTIME_MARGIN_MS - stamp.ctimeMs);
      if (Date.now() + wait - started > o.budgetMs) throw notQuiet(o, scans);
      await systemClock.sleep(wait, o.signal);
    } finally {
      rmSync(stamp.file, { force: true });
    }
  }
}

/** The last pass's recorded directories of this very root (its device and inode), or undefined. */
async function recordedDirs(recordDir: string, root: string): Promise<CtimeRecord['dirs'] | undefined> {
  const r = await readJson<CtimeRecord>(join(recordDir, CTIME_RECORD_FILE)).catch(() => undefined);
  const st = lstatSync(root, { throwIfNoEntry: false });
  return r && Array.isArray(r.dirs) && st && r.dev === st.dev && r.ino === st.ino ? r.dirs : undefined;
}

/**
 * Whether the tree's filesystem keeps ctimes finer than a second: the root's and its first entries'
 * ctimes are not all whole seconds (a filesystem of whole seconds would round a change inside the window
 * down to before it).
 */
async function fineCtimes(root: string): Promise<boolean> {
  const names = await readdir(root).catch(() => [] as string[]);
  for (const p of [root, ...names.slice(0, 32).map((n) => join(root, n))]) {
    const st = lstatSync(p, { bigint: true, throwIfNoEntry: false });
    if (st && (st.ctimeNs % 1_000_000_000n !== 0n || st.mtimeNs % 1_000_000_000n !== 0n)) return true;
  }
  return false;
}

/**
 * Following, for files (issue 16): ferry itself carries the changes. The bulk copy (export + import)
 * runs before the freeze while the app writes on the host; `verifyPinned` compares the target with the
 * bulk copy's manifest (the pin: the target does not move while the app runs on the host); inside the
 * freeze, after the quiet window, `catchUp` is the final pass: the manifest again (hashes of unchanged
 * files reused, so only what changed is read), the delta copy (only what changed, removals included),
 * and a bounded final check (after a pass that moved something, the target listed again against the
 * final manifest: nothing left to send).
 * Nothing is created on the source, so promote and abort have nothing to remove.
 */
export interface FilesPasses {
  export(p: EngineParams<FilesOptions>): Promise<ExportSummary>;
  import(p: EngineParams<FilesOptions>): Promise<ImportSummary>;
  verify(p: EngineParams<FilesOptions>): Promise<VerifyReport>;
  sourceState(p: EngineParams<FilesOptions>): Promise<string>;
}

/** What the final pass moved, for the catch-up step's record and the report. */
export interface FinalPass { readonly files: number; readonly bytes: number; readonly removed: number; readonly entries: number; readonly ms: number }

interface FilesFollowRecord { readonly since: string; readonly bulkFingerprint?: string; readonly finalPass?: FinalPass; readonly updatedAt?: string }

const num = (v: unknown) => (typeof v === 'number' ? v : 0);

async function bulkFingerprint(p: EngineParams<FilesOptions>): Promise<string | undefined> {
  return readJson<{ fingerprint?: string }>(join(p.artifactDir, SCAN_FILE)).then((s) => s?.fingerprint);
}

export function filesFollowPhases(engine: () => FilesPasses) {
  const status = async (p: EngineParams<FilesOptions>): Promise<FollowStatus> => {
    const rec = await readFollowRecordIn<FilesFollowRecord>(p.stateDir);
    if (!rec) return { following: false, lag: 0, unit: 'passes', detail: 'no bulk copy recorded as the base of a final pass yet' };
    if (rec.finalPass) return { following: true, lag: 0, unit: 'passes', detail: `final pass done: ${rec.finalPass.files} files, ${rec.finalPass.bytes} bytes` };
    const now = await engine().sourceState(p);
    const changed = now !== (await bulkFingerprint(p));
    return { following: true, lag: changed ? 1 : 0, unit: 'passes', detail: changed ? 'the tree changed since the bulk copy: the final pass inside the freeze copies what changed' : 'the tree is as the bulk copy left it' };
  };
  return {
    /** The bulk copy (import) is the base: recorded so the final pass knows what it follows. */
    async follow(p: EngineParams<FilesOptions>): Promise<FollowStatus> {
      const rec = await readFollowRecordIn<FilesFollowRecord>(p.stateDir);
      const fp = await bulkFingerprint(p);
      if (!rec) await writeFollowRecordIn<FilesFollowRecord>(p.stateDir, { since: new Date().toISOString(), ...(fp ? { bulkFingerprint: fp } : {}) });
      return status(p);
    },
    followStatus: status,
    /** The target against the bulk copy's manifest, while the app keeps writing on the host. */
    verifyPinned: (p: EngineParams<FilesOptions>) => engine().verify(p),
    async catchUp(p: EngineParams<FilesOptions>, budgetMs: number): Promise<FollowStatus & { finalPass: FinalPass }> {
      const t0 = performance.now();
      const budget = AbortSignal.timeout(budgetMs);
      const q = { ...p, signal: AbortSignal.any([p.signal, budget]) };
      try {
        await engine().export(q);
        const pass = (await engine().import(q)).data;
        // The pass's own listing proved a pass that moved nothing; after one that did, the target is listed again.
        const moved = num(pass.copied) + num(pass.removed) + num(pass.fixed) > 0;
        if (moved) await forgetCopied(p.stateDir); // the check lists the target again (not the finished copy's record)
        const check = moved ? (await engine().import(q)).data : {};
        if (num(check.copied) || num(check.removed) || num(check.fixed)) {
          throw new FerryError('E_FILES_FINAL_CHECK', `store ${p.store.id}: after the final pass the target still differs from the frozen tree (${num(check.copied)} files copied, ${num(check.removed)} removed again)`, {
            hint: `something else writes into the target of store ${p.store.id}, or the source is not quiet: stop it, then run migrate again`,
          });
        }
        const finalPass: FinalPass = { files: num(pass.copied), bytes: num(pass.bytes), removed: num(pass.removed), entries: num(pass.entries), ms: Math.round(performance.now() - t0) };
        const rec = await readFollowRecordIn<FilesFollowRecord>(p.stateDir);
        await writeFollowRecordIn<FilesFollowRecord>(p.stateDir, { since: rec?.since ?? new Date().toISOString(), ...(rec?.bulkFingerprint ? { bulkFingerprint: rec.bulkFingerprint } : {}), finalPass });
        p.log.info(`store ${p.store.id}: final pass copied ${finalPass.files} files (${finalPass.bytes} bytes), removed ${finalPass.removed}, in ${finalPass.ms} ms`);
        return { following: true, lag: 0, unit: 'passes', detail: `final pass: ${finalPass.files} files, ${finalPass.bytes} bytes copied, ${finalPass.removed} removed`, finalPass };
      } catch (e) {
        if (!budget.aborted || p.signal.aborted) throw e;
        throw new FerryError('E_FOLLOW_BUDGET', `store ${p.store.id}: the final pass did not finish within ${budgetMs} ms`, {
          hint: 'the freeze is lifted and the app stays on the host; run migrate again (the pass resumes per file), or raise cutover.budgetSeconds',
          cause: e,
        });
      }
    },
    /** Nothing to stop or remove: ferry made the passes itself. */
    async promote(p: EngineParams<FilesOptions>): Promise<void> {
      p.log.info(`store ${p.store.id}: nothing to promote (no replication; the final pass left the target complete)`);
    },
    async abortFollow(p: EngineParams<FilesOptions>): Promise<void> {
      await rm(join(p.stateDir, FOLLOW_RECORD_FILE), { force: true });
    },
  };
}
