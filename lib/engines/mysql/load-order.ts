/**
 * Which chunk a free loader takes next, shared by the import and the streaming copy: a chunk of a table
 * nobody is loading first; else, where tables may be shared, one more loader on a table that already
 * holds a committed chunk. An empty table's first load always runs alone: MariaDB 10.11 loads into an
 * empty table as one bulk insert holding a table lock (unique and foreign-key checks off), and a chunk
 * checksum or second load meeting it deadlocks. (A run's first chunk of a table is now loaded with unique
 * checks on, which keeps MariaDB off that path: load-chunk.ts; the rule stays, as it costs one chunk's time.) Once a table holds rows, loads of other key ranges run
 * side by side only where LOAD DATA takes no table-level AUTO-INC lock: innodb_autoinc_lock_mode = 2
 * (MySQL 8's default); MariaDB's default 1 holds it to the end of each LOAD, so loaders would only queue.
 */
import type { Pool } from 'mysql2/promise';

/** Whether loaders may share a table on this target (innodb_autoinc_lock_mode = 2). */
export async function loadersShareTables(pool: Pool): Promise<boolean> {
  const [rows] = await pool.query('SELECT @@innodb_autoinc_lock_mode AS m');
  return Number((rows as Array<{ m: unknown }>)[0]?.m) === 2;
}

/**
 * Index of the next job in `jobs` (keyed by table), or -1 when every candidate must wait. With `keyOrder`,
 * the chosen table's job first in key order: a table split in segments is exported two at a time, and
 * loading its chunks as they arrive (segments interleaved) cost the target 6% more CPU than front to back
 * (MariaDB 10.11, 300 MB of `images`: 5.22-5.34 vs 4.91-5.02 mysqld CPU-s), inserting all over the clustered index.
 */
export function pickChunk<J>(jobs: readonly J[], tableOf: (j: J) => string, busy: ReadonlyMap<string, number>, filled: ReadonlySet<string> | undefined,
  keyOrder?: (a: J, b: J) => number): number {
  const idle = jobs.findIndex((j) => !busy.get(tableOf(j)));
  const i = idle >= 0 || !filled ? idle : jobs.findIndex((j) => filled.has(tableOf(j)));
  if (i < 0 || !keyOrder) return i;
  const t = tableOf(jobs[i]!);
  let best = i;
  jobs.forEach((j, k) => { if (tableOf(j) === t && keyOrder(j, jobs[best]!) < 0) best = k; });
  return best;
}

/**
 * Run `jobs` on `workers` loaders in that order as `pickChunk` allows; `load` returns when its chunk is
 * committed (or found there), so its table counts as filled. A failure stops the others after their chunk.
 */
export async function runLoads<J>(jobs: J[], tableOf: (j: J) => string, share: boolean, workers: number, load: (job: J, worker: number) => Promise<void>): Promise<void> {
  const busy = new Map<string, number>();
  const filled = new Set<string>();
  const waiting: Array<() => void> = [];
  const wake = () => { for (const w of waiting.splice(0)) w(); };
  let failed = false;
  // Settled, not raced: a failed loader's error is thrown once the others have finished their chunk.
  const ends = await Promise.allSettled(Array.from({ length: workers }, async (_, worker) => {
    try {
      while (jobs.length && !failed) {
        const i = pickChunk(jobs, tableOf, busy, share ? filled : undefined);
        if (i < 0) { await new Promise<void>((r) => { waiting.push(r); }); continue; }
        const job = jobs.splice(i, 1)[0]!;
        const t = tableOf(job);
        busy.set(t, (busy.get(t) ?? 0) + 1);
        try {
          await load(job, worker);
          filled.add(t);
        } finally {
          busy.set(t, busy.get(t)! - 1);
          wake();
        }
      }
    } catch (e) {
      failed = true;
      wake();
      throw e;
    }
  }));
  const failure = ends.find((e): e is PromiseRejectedResult => e.status === 'rejected');
  if (failure) throw failure.reason;
}
