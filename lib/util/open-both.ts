/**
 * Two connections opened side by side (a source and a target: inside the write freeze each handshake is
 * downtime, and through an exec tunnel one costs a `docker exec`). When either fails the other is closed
 * and the failure thrown, the first one's before the second's (the order the sequential code reported).
 */
export async function openBoth<A, B>(a: () => Promise<A>, b: () => Promise<B>, close: { a: (x: A) => unknown; b: (x: B) => unknown }): Promise<[A, B]> {
  const [x, y] = await Promise.allSettled([a(), b()]);
  if (x.status === 'fulfilled' && y.status === 'fulfilled') return [x.value, y.value];
  if (x.status === 'fulfilled') await Promise.resolve(close.a(x.value)).catch(() => undefined);
  if (y.status === 'fulfilled') await Promise.resolve(close.b(y.value)).catch(() => undefined);
  throw x.status === 'rejected' ? x.reason : (y as PromiseRejectedResult).reason;
}
