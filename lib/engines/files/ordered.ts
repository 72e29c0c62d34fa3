/** Map an async stream with up to `n` calls in flight, yielding results in the input's order. */
export async function* orderedMap<T, R>(source: AsyncIterable<T> | Iterable<T>, n: number, fn: (item: T) => Promise<R> | R): AsyncGenerator<R> {
  const window: Array<Promise<R>> = [];
  for await (const item of source) {
    const p = Promise.resolve().then(() => fn(item));
    p.catch(() => undefined); // surfaced when its turn comes
    window.push(p);
    if (window.length >= n) yield await window.shift()!;
  }
  while (window.length) yield await window.shift()!;
}
