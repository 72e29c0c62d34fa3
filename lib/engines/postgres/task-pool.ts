/**
 * A small dependency-aware worker pool for the import: every worker takes the first task in list order
 * that is ready (its prerequisites done) and, when it names a `share` key, preferably one whose key no
 * other worker holds (two COPYs into one table contend for its extension lock); only when every ready
 * task's key is busy does it share one. A worker with nothing ready waits until a running task ends.
 * Nothing ready, nothing running and tasks left is a bug in the plan: it fails, naming the tasks.
 * The first failure stops the workers from taking new tasks and is thrown once the running ones end.
 * A `feed` adds tasks while the pool runs (a streaming export's chunks, as their files complete): the
 * pool then ends only once the feed is closed and everything ran; a task added goes before the first
 * pending task of a higher `rank`, so the list keeps its preference order.
 */

export interface PoolTask<C> {
  /** For errors and tests. */
  readonly id: string;
  /** Tasks with the same key preferably run one at a time. */
  readonly share?: string;
  /** Where an added task goes in the list: before every pending task of a higher rank (default 0). */
  readonly rank?: number;
  /** True when it may start (checked each time a worker looks for work). */
  ready(): boolean;
  run(worker: C): Promise<void>;
}

/** Tasks arriving while the pool runs: `connect` is called once, at once, with the pool's two entry points. */
export interface PoolFeed<C> {
  connect(add: (task: PoolTask<C>) => void, close: () => void): void;
}

export async function runPool<C>(tasks: ReadonlyArray<PoolTask<C>>, workers: readonly C[], signal?: AbortSignal, feed?: PoolFeed<C>): Promise<void> {
  const pending = [...tasks];
  const busy = new Map<string, number>();
  let running = 0;
  let open = !!feed;
  let failure: { e: unknown } | undefined;
  let wake: (() => void) | undefined;
  let woken = new Promise<void>((res) => { wake = res; });
  const notify = () => { const w = wake; woken = new Promise<void>((res) => { wake = res; }); w?.(); };
  feed?.connect((task) => {
    const at = pending.findIndex((t) => (t.rank ?? 0) > (task.rank ?? 0));
    pending.splice(at < 0 ? pending.length : at, 0, task);
    notify();
  }, () => { open = false; notify(); });
  const onAbort = () => notify();
  signal?.addEventListener('abort', onAbort);
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
  try {
    await Promise.all(workers.map(async (w) => {
      for (;;) {
        if (failure || (pending.length === 0 && !open)) return;
        if (signal?.aborted) { failure ??= { e: signal.reason }; notify(); return; }
        const task = take();
        if (!task) {
          if (running === 0 && !open) {
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
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (failure) throw failure.e;
}
