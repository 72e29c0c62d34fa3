/**
 * Freeze for files: ferry cannot stop an app writing into a directory, so it waits for quiet: the tree
 * is quiet when a stat-only scan shows no change across the whole quiet window. Nothing is changed on
 * the source, so there is nothing to thaw.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { EngineParams, ExportSummary, FollowStatus, ImportSummary, VerifyReport } from '../../core/engine.ts';
import { FerryError } from '../../core/errors.ts';
import { systemClock, waitFor, type Clock } from '../../util/wait.ts';
import { FOLLOW_RECORD_FILE, readFollowRecordIn, writeFollowRecordIn } from '../follow-record.ts';
import { readJson } from '../read-json.ts';
import { SCAN_FILE, treeFingerprint } from './export.ts';
import { forgetCopied } from './copied.ts';
import type { FilesOptions } from './options.ts';

export interface QuietOptions {
  readonly root: string;
  readonly windowMs: number;
  readonly budgetMs: number;
  readonly signal?: AbortSignal;
  /** Injectable for tests (default: the system clock). */
  readonly clock?: Clock;
}

export interface QuietResult { readonly fingerprint: string; readonly quietAt: string; readonly scans: number }

export async function waitQuiet(o: QuietOptions): Promise<QuietResult> {
  let before: string | undefined;
  let scans = 0;
  return waitFor(async () => {
    // GNU find's stat stream (C, finer: ctime and inode too) where there is one, else the Node walk.
    const after = await (await import('./quick-scan.ts')).quickFingerprint(o.root, o.signal) ?? (await treeFingerprint(o.root)).fingerprint;
    scans++;
    const quiet = after === before;
    before = after;
    return quiet ? { fingerprint: after, quietAt: new Date().toISOString(), scans } : undefined;
  }, {
    what: o.root, timeoutMs: o.budgetMs, intervalMs: o.windowMs, clock: o.clock ?? systemClock,
    ...(o.signal ? { signal: o.signal } : {}),
    fatal: () => true, // a scan that fails is an error, not a tree still moving
    onTimeout: () => new FerryError('E_FILES_NOT_QUIET', `${o.root} kept changing: no quiet window of ${o.windowMs} ms within ${o.budgetMs} ms (${scans} scans)`, {
      hint: 'stop the app writing into the directory (maintenance mode, stop its workers), or raise quietBudgetMs, then run again',
    }),
  });
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
