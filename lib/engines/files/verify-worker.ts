/**
 * The verify in a worker thread with a small young generation. The target's listing, its hashes and
 * the manifest stream through at disk or pipe speed; V8 answers such an allocation rate by growing the young
 * generation to its maximum (semi-spaces of 16-32 MB each) and keeps it: the process peaked at
 * 248-265 MB over 100k files while the live set stayed under 70 MB. A worker's heap takes its limits
 * from `resourceLimits` (the main thread's cannot be changed once it runs), so the comparison runs in
 * one: the same code, bounded by the engine's own setting, not the caller's node flags.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { ReportEntry } from '../../core/engine.ts';
import { FerryError } from '../../core/errors.ts';
import type { ErrorCode } from '../../core/error-codes.ts';
import type { TargetSpec } from './target.ts';
import { workerExecArgv } from '../../util/worker-exec-argv.ts';

/** Young generation of the verify's worker (MB): enough for its batches, small enough to stay flat. */
export const VERIFY_YOUNG_MB = 6;

export interface VerifyJob {
  readonly manifest: string;
  readonly artifactDir: string;
  readonly normalize: 'none' | 'nfc';
  readonly target: TargetSpec;
  readonly owner: { uid: number; gid: number } | undefined;
}

type Reply = { ok: true; entries: ReportEntry[] } | { ok: false; error: { name: string; message: string; code?: string; hint?: string; detail?: string } };

/** Compare the target with the manifest in a worker (see the module comment); aborting ends the worker. */
export function compareInWorker(job: VerifyJob, signal?: AbortSignal): Promise<ReportEntry[]> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: { ferryVerify: job }, execArgv: workerExecArgv(), resourceLimits: { maxYoungGenerationSizeMb: VERIFY_YOUNG_MB } });
    let settled = false;
    const onAbort = () => { void w.terminate(); finish(() => reject(signal!.reason ?? new Error('aborted'))); };
    const finish = (f: () => void) => { if (settled) return; settled = true; signal?.removeEventListener('abort', onAbort); f(); };
    signal?.addEventListener('abort', onAbort, { once: true });
    w.once('message', (r: Reply) => finish(() => {
      if (r.ok) { resolve(r.entries); return; }
      const e = r.error;
      reject(e.code && e.hint !== undefined ? new FerryError(e.code as ErrorCode, e.message, { hint: e.hint, ...(e.detail ? { detail: e.detail } : {}) }) : Object.assign(new Error(e.message), { name: e.name }));
    }));
    w.once('error', (e) => finish(() => reject(e)));
    w.once('exit', (code) => finish(() => reject(new Error(`the verify worker exited (${code}) without an answer`))));
  });
}

if (!isMainThread && (workerData as { ferryVerify?: VerifyJob } | undefined)?.ferryVerify) {
  const job = (workerData as { ferryVerify: VerifyJob }).ferryVerify;
  const { compareManifests } = await import('./compare.ts');
  const { byTargetPath } = await import('./copy-bind.ts');
  const { targetManifest } = await import('./target.ts');
  try {
    const entries = await compareManifests(byTargetPath(job.manifest, job.normalize, job.artifactDir), targetManifest(job.target), { owner: job.owner, normalize: job.normalize });
    parentPort!.postMessage({ ok: true, entries } satisfies Reply);
  } catch (e) {
    const f = e as Partial<FerryError> & Error;
    parentPort!.postMessage({ ok: false, error: { name: f.name, message: f.message, ...(f.code ? { code: f.code } : {}), ...(f.hint !== undefined ? { hint: f.hint } : {}), ...(f.detail ? { detail: f.detail } : {}) } } satisfies Reply);
  }
}
