/**
 * A rehearsal that follows the live source must leave nothing on it: every store whose follow record is
 * not promoted (a failed or interrupted rehearsal) has its follow aborted before the throwaway stack goes
 * (replication stopped, the rehearsal's account / ACL user / slot / publication / role removed from the
 * source). A rehearsal killed outright cannot do that itself: it leaves `rehearsal.json` in the real state
 * dir (its project, its temp dir, its ports — no secret), and the next rehearse rebuilds its config from
 * it, aborts its follows, removes its stack and temp dir (`sweepKilledRehearsal`).
 */
import { rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/schema.ts';
import { FerryError } from '../core/errors.ts';
import { silentLogger } from '../core/logger.ts';
import { noProgress } from '../core/progress.ts';
import type { FerryContext } from '../steps/context.ts';
import { engineParams, storeStateDirOf, type StoreStepParams } from '../steps/store-params.ts';
import { readJson } from '../engines/read-json.ts';
import { readFollowRecordIn } from '../engines/follow-record.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';

export const REHEARSAL_RECORD = 'rehearsal.json';

/** Enough to rebuild a rehearsal's config: where it ran, never a secret. */
export interface RehearsalRecord {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
  readonly project: string;
  readonly base: string;
  /** Each published store's migration port in the throwaway stack. */
  readonly ports: Readonly<Record<string, number>>;
  readonly migrationPorts: { readonly mysql: number; readonly redis: number };
}

export const writeRehearsalRecord = (realStateDir: string, r: RehearsalRecord) => writeFileAtomic(join(realStateDir, REHEARSAL_RECORD), JSON.stringify(r, null, 1) + '\n', 0o600);
export const readRehearsalRecord = (realStateDir: string) => readJson<RehearsalRecord>(join(realStateDir, REHEARSAL_RECORD));
export const forgetRehearsalRecord = (realStateDir: string) => rm(join(realStateDir, REHEARSAL_RECORD), { force: true });

/** True while the recorded rehearsal's process still runs (on this host). */
export function rehearsalAlive(r: RehearsalRecord): boolean {
  if (r.host !== hostname()) return true; // another machine's: not ours to judge
  try { process.kill(r.pid, 0); return r.pid !== process.pid; } catch { return false; }
}

/**
 * Abort the follow of every store of the rehearsal `config` that still follows (or half-followed); returns
 * what was aborted. Throws, after trying every store, naming what could not be removed from a source.
 */
export async function abortRehearsalFollows(config: Config, ctx: FerryContext): Promise<string[]> {
  const aborted: string[] = [];
  const failed: string[] = [];
  for (const b of ctx.stores?.values() ?? []) {
    if (!b.engine?.abortFollow) continue;
    const p = { ctx, config, stateDir: config.stateDir, signal: AbortSignal.timeout(120_000), log: silentLogger, progress: noProgress } as unknown as StoreStepParams;
    const rec = await readFollowRecordIn<{ state?: string }>(join(storeStateDirOf(p, b.store.id), 'follow'));
    if (!rec || ['promoted', 'aborted', 'freeze-copy'].includes(rec.state ?? '')) continue;
    try {
      await b.engine.abortFollow(engineParams(p, b.store.id));
      aborted.push(b.store.id);
    } catch (e) {
      failed.push(`${b.store.id}: ${ctx.redactor.redact((e as Error).message)}`);
    }
  }
  if (failed.length) {
    throw new FerryError('E_REHEARSAL_CLEANUP', `the rehearsal could not stop following and clean the source of store ${failed[0]}`, {
      hint: `remove the rehearsal's replication objects from the source by hand (MySQL: DROP USER 'ferry_repl_…'@'%'; PostgreSQL: the ferry_… slot, publication and ferry_repl_… role; Redis: ACL DELUSER ferry-repl-…), or run rehearse again (it retries from ${REHEARSAL_RECORD})`,
      detail: failed.join('\n'),
    });
  }
  return aborted;
}
