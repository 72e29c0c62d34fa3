/**
 * A bounded hand-over from one producer to one consumer in the same thread: the export's walk hands each
 * entry to the first copy streamed from it (export.ts, engine.ts) while it writes the manifest. The
 * producer waits while `limit` items wait (memory stays bounded whatever the tree); the consumer may
 * detach (it declined: later items are dropped and the producer goes on alone) or stop with an error
 * (the producer's next push rejects with it); the producer ends the stream, with an error when it
 * failed (the consumer's iteration throws it).
 */
export class Handoff<T> implements AsyncIterable<T> {
  private buf: T[] = [];
  private head = 0;
  private ended = false;
  private failure: { err: unknown } | undefined;
  private stopped: { err: unknown } | undefined;
  private detached = false;
  private wakeReader: (() => void) | undefined;
  private wakeWriter: (() => void) | undefined;
  private readonly limit: number;

  constructor(limit: number) { this.limit = Math.max(1, limit); }

  /** Items handed over and not yet taken. */
  get waiting(): number { return this.buf.length - this.head; }

  /** Hand over `x`; resolves once fewer than `limit` items wait. Rejects once the consumer stopped. */
  async push(x: T): Promise<void> {
    this.rethrow();
    if (this.detached || this.ended) return;
    this.buf.push(x);
    this.wake('reader');
    while (this.waiting >= this.limit && !this.detached) await new Promise<void>((r) => { this.wakeWriter = r; });
    this.rethrow();
  }

  private rethrow(): void {
    if (this.stopped) throw this.stopped.err;
  }

  /** No more items; `err`: the producer failed (the consumer's iteration throws it). */
  end(err?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    if (err !== undefined) this.failure = { err };
    this.wake('reader');
  }

  /** The consumer takes nothing more: items waiting and later pushes are dropped. */
  detach(): void {
    this.detached = true;
    this.buf = [];
    this.head = 0;
    this.wake('writer');
  }

  /** The consumer failed: the producer's next push rejects with `err`. */
  stop(err: unknown): void {
    this.stopped ??= { err };
    this.detach();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      if (this.detached) return;
      if (this.head < this.buf.length) {
        const x = this.buf[this.head++]!;
        if (this.head >= 4096 && this.head * 2 >= this.buf.length) { this.buf = this.buf.slice(this.head); this.head = 0; }
        if (this.waiting < this.limit) this.wake('writer');
        yield x;
        continue;
      }
      if (this.ended) {
        if (this.failure) throw this.failure.err;
        return;
      }
      await new Promise<void>((r) => { this.wakeReader = r; });
    }
  }

  private wake(which: 'reader' | 'writer'): void {
    const f = which === 'reader' ? this.wakeReader : this.wakeWriter;
    if (which === 'reader') this.wakeReader = undefined; else this.wakeWriter = undefined;
    f?.();
  }
}
