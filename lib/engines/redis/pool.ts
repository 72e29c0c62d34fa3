/** Bounded concurrency for per-key checks: their round trips overlap on one connection (ioredis queues them). */
export const VERIFY_CONCURRENCY = 32;

/** Run `fn` over `items`, at most `n` at a time. */
export async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}
