/**
 * A small dependency-aware worker pool for the import: every worker takes the first task in list order
 * that is ready (its prerequisites done) and, when it names a `share` key, preferably one whose key no
 * other worker holds (two COPYs into one table contend for its extension lock); only when every ready
 * task's key is busy does it share one. A worker with nothing ready waits until a running task ends.
 * Nothing ready, nothing running and tasks left is a bug in the plan: it fails, naming the tasks.
 * The first failure stops the workers from taking new tasks and is thrown once the running ones end.
 */

export interface PoolTask<C> {
  /** For errors and tests. */
  readonly id: string;
  /** Tasks with the same key preferably run one at a time. */
  readonly share?: string;
  /** True when it may start (checked each time a worker looks for work). */
  ready(): boolean;
  run(worker: C): Promise<void>;
}

export async function runPool<C>(tasks: ReadonlyArray<PoolTask<C>>, workers: readonly C[], signal?: AbortSignal): Promise<void> {
  const pending = [...tasks];
  const busy = new Map<string, number>();
  let running = 0;
  let failure: { e: unknown } | undefined;
  let wake: (() => void) | undefined;
  let woken = new Promise<void>((res) => { wake = res; });
  const notify = () => { const w = wake; woken = new Promise<void>((res) => { wake = res; }); w?.(); };
  const take = (): PoolTask<C> | undefined => {
    let shared = -1;
    for (let i = 0; i < pending.length; i++) {
      const t = pending[i]!;
      if (!t.ready()) continue;
      if (t.share === undefined || !busy.get(t.share)) return pending.splice(i, 1)[0];
      if (shared < 0) shared = i;
    }
    return shared < 0 ? undefined : pending.splice(shared, 1)[0];
  };
  await Promise.all(workers.map(async (w) => {
    for (;;) {
      if (failure || pending.length === 0) return;
      if (signal?.aborted) { failure ??= { e: signal.reason }; notify(); return; }
      const task = take();
      if (!task) {
        if (running === 0) {
          failure ??= { e: new Error(`import plan stalled: no task of ${pending.map((t) => t.id).join(', ')} can start`) };
          notify();
          return;
        }
        await woken;
        continue;
      }
      running++;
      if (task.share !== undefined) busy.set(task.share, (busy.get(task.share) ?? 0) + 1);
      try {
        await task.run(w);
      } catch (e) {
        failure ??= { e };
      } finally {
        running--;
        if (task.share !== undefined) busy.set(task.share, busy.get(task.share)! - 1);
        notify();
      }
    }
  }));
  if (failure) throw failure.e;
}
