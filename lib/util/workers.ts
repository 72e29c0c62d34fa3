/**
 * `n` workers side by side, every one awaited. The first that throws stops the others: `stopped()` turns
 * true (each checks it between its units of work) and `onStop` runs once (to wake workers waiting for
 * work). The error is thrown only once all have returned, so none still writes (a chunk file, a query on
 * a connection about to be released) after the caller cleans up; of several, the first worker's in order.
 */
export async function runWorkers(n: number, work: (worker: number, stopped: () => boolean) => Promise<void>, onStop?: () => void): Promise<void> {
  let stop = false;
  const stopped = () => stop;
  const ends = await Promise.allSettled(Array.from({ length: n }, (_, i) => work(i, stopped).catch((e: unknown) => {
    if (!stop) { stop = true; onStop?.(); }
    throw e;
  })));
  const failure = ends.find((e): e is PromiseRejectedResult => e.status === 'rejected');
  if (failure) throw failure.reason;
}
