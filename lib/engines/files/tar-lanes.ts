/**
 * A first copy into a volume over several `tar -x` side by side (copy-volume.ts): the helper's single
 * tar, fed through one pipe, was the copy's bound — from a file the same tar extracts a 20k-file tree
 * in ~1.3 s, through a pipe in ~2.0-2.3 s, and ferry's stream kept it ~65 % busy while ferry's main
 * thread was ~45 % busy (each waiting on the other). Two tars, each on its own pipe with half the files,
 * extract that tree in ~1.2 s.
 *
 * The files go to whichever lane asks for its next item (a lane whose tar reads faster takes more); the
 * items' results (their hashes, for the copy's hash log) are still handed on in the manifest's order,
 * so the log and its lookups stay forward-only. A lane may run at most `window` items ahead of the
 * oldest one not yet done (a large file in one lane holds the others' results in memory until then).
 */
import type { TarItem } from './tar-write.ts';

/** An item dealt to a lane, with its place in the manifest's order. */
export type DealtItem = TarItem & { readonly seq: number };

export class TarLanes {
  private readonly source: AsyncIterator<TarItem>;
  private readonly toLane: (it: TarItem) => boolean;
  private readonly window: number;
  private readonly onEntry: (it: TarItem, sha256: string | undefined) => Promise<void> | void;
  /** Items taken from the source (the next one's seq). */
  private dealt = 0;
  /** Every item below this has had its onEntry. */
  private flushed = 0;
  private readonly results = new Map<number, { it: TarItem; sha256: string | undefined }>();
  private flushing = false;
  private exhausted = false;
  private failure: { err: unknown } | undefined;
  private roomWaiters: Array<() => void> = [];
  /** Takes from the source one at a time, in the order the lanes ask. */
  private taking: Promise<unknown> = Promise.resolve();

  /**
   * `toLane`: the items a lane archives (the others — skipped files, directories and hard links, which
   * the caller sends in phases of their own — only pass through `onEntry`, in their turn).
   */
  constructor(source: AsyncIterable<TarItem>, o: { toLane: (it: TarItem) => boolean; window: number; onEntry: (it: TarItem, sha256: string | undefined) => Promise<void> | void }) {
    this.source = source[Symbol.asyncIterator]();
    this.toLane = o.toLane;
    this.window = Math.max(1, o.window);
    this.onEntry = o.onEntry;
  }

  /**
   * A lane's items: each asks for its next when it needs one. A lane left before its end (its stream
   * failed) fails the others too: an item it held would never be done, and a lane waiting for the window
   * to move would wait forever.
   */
  lane(): AsyncIterable<DealtItem> {
    return { [Symbol.asyncIterator]: async function* (this: TarLanes) {
      let ended = false;
      try {
        for (;;) {
          const x = await this.next();
          if (!x) { ended = true; return; }
          yield x;
        }
      } finally {
        if (!ended) this.fail(new Error('tar lanes: a lane stopped before its end'));
      }
    }.bind(this) };
  }

  /** A lane archived `it` (its sha256, if a file hashed from the bytes sent). */
  async done(it: TarItem, sha256: string | undefined): Promise<void> {
    this.results.set((it as DealtItem).seq, { it, sha256 });
    await this.flush();
  }

  /** Every item the source held has passed through onEntry (call once the lanes are done). */
  async finish(): Promise<void> {
    await this.taking.catch(() => undefined);
    await this.flush();
    this.rethrow();
    if (this.flushed !== this.dealt) throw new Error(`tar lanes: ${this.dealt - this.flushed} items were dealt and not archived`);
    if (!this.exhausted) throw new Error('tar lanes: the lanes stopped before the last item');
  }

  private next(): Promise<DealtItem | undefined> {
    const p = this.taking.then(() => this.take());
    this.taking = p.catch(() => undefined);
    return p;
  }

  private async take(): Promise<DealtItem | undefined> {
    for (;;) {
      this.rethrow();
      while (this.dealt - this.flushed >= this.window) {
        await new Promise<void>((r) => this.roomWaiters.push(r));
        this.rethrow();
      }
      const r = await this.source.next();
      if (r.done) { this.exhausted = true; return undefined; }
      const seq = this.dealt++;
      if (this.toLane(r.value)) return { ...r.value, seq };
      this.results.set(seq, { it: r.value, sha256: undefined });
      await this.flush();
    }
  }

  /** onEntry for each finished item in order, up to the first one still in a lane. */
  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      for (let r = this.results.get(this.flushed); r; r = this.results.get(this.flushed)) {
        this.results.delete(this.flushed);
        await this.onEntry(r.it, r.sha256);
        this.flushed++;
        const waiters = this.roomWaiters;
        this.roomWaiters = [];
        for (const w of waiters) w();
      }
    } catch (err) {
      this.fail(err);
      throw err;
    } finally {
      this.flushing = false;
    }
  }

  /** Stop dealing: every lane's next ask, and finish(), throw `err` (the first failure's). */
  private fail(err: unknown): void {
    this.failure ??= { err };
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const w of waiters) w();
  }

  private rethrow(): void {
    if (this.failure) throw this.failure.err;
  }
}
