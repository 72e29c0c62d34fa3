/**
 * A volume's verify in a worker thread with a small young generation. The listing, its hashes and the
 * manifest stream through at pipe speed; V8 answers such an allocation rate by growing the young
 * generation to its maximum (semi-spaces of 16-32 MB each) and keeps it: the process peaked at
 * 248-265 MB over 100k files while the live set stayed under 70 MB. A worker's heap takes its limits
 * from `resourceLimits` (the main thread's cannot be changed once it runs), so the comparison runs in
 * one: the same code, bounded by the engine's own setting, not the caller's node flags.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { ReportEntry } from '../../core/engine.ts';
import { FerryError } from '../../core/errors.ts';
import type { ErrorCode } from '../../core/error-codes.ts';
import type { HelperSpec } from './helper.ts';

/** Young generation of the verify's worker (MB): enough for its batches, small enough to stay flat. */
export const VERIFY_YOUNG_MB = 6;

export interface VolumeVerifyJob {
  readonly manifest: string;
  readonly artifactDir: string;
  readonly normalize: 'none' | 'nfc';
  readonly helper: HelperSpec;
  readonly owner: { uid: number; gid: number } | undefined;
}

type Reply = { ok: true; entries: ReportEntry[] } | { ok: false; error: { name: string; message: string; code?: string; hint?: string; detail?: string } };

/** Compare the volume with the manifest in a worker (see the module comment); aborting ends the worker. */
export function compareVolumeInWorker(job: VolumeVerifyJob, signal?: AbortSignal): Promise<ReportEntry[]> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: { ferryVolumeVerify: job }, resourceLimits: { maxYoungGenerationSizeMb: VERIFY_YOUNG_MB } });
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

if (!isMainThread && (workerData as { ferryVolumeVerify?: VolumeVerifyJob } | undefined)?.ferryVolumeVerify) {
  const job = (workerData as { ferryVolumeVerify: VolumeVerifyJob }).ferryVolumeVerify;
  const { compareManifests } = await import('./compare.ts');
  const { byTargetPath } = await import('./copy-bind.ts');
  const { volumeManifest } = await import('./target.ts');
  try {
    const entries = await compareManifests(byTargetPath(job.manifest, job.normalize, job.artifactDir), volumeManifest(job.helper), { owner: job.owner, normalize: job.normalize });
    parentPort!.postMessage({ ok: true, entries } satisfies Reply);
  } catch (e) {
    const f = e as Partial<FerryError> & Error;
    parentPort!.postMessage({ ok: false, error: { name: f.name, message: f.message, ...(f.code ? { code: f.code } : {}), ...(f.hint !== undefined ? { hint: f.hint } : {}), ...(f.detail ? { detail: f.detail } : {}) } } satisfies Reply);
  }
}
