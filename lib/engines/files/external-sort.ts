/**
 * Sort manifest entries into tree order in bounded memory: runs of `runSize` entries are sorted and
 * spilled as NDJSON to a temporary directory, then merged. A listing that fits one run never touches
 * the disk. Memory is one run plus a read buffer per spilled run, whatever the entry count.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { entryToLine, readManifest, type ManifestEntry } from './manifest.ts';
import { comparePaths } from './paths.ts';

export const DEFAULT_RUN = 20_000;
const MERGE_BUFFER = 32 << 10;

export class ExternalSort {
  private run: ManifestEntry[] = [];
  private readonly files: string[] = [];
  private dir: Promise<string> | undefined;
  private readonly key: (e: ManifestEntry) => Buffer;
  private readonly runSize: number;
  private readonly parent: string;
  constructor(o: { key?: (e: ManifestEntry) => Buffer; runSize?: number; tmpDir?: string } = {}) {
    this.key = o.key ?? ((e) => e.path);
    this.runSize = o.runSize ?? DEFAULT_RUN;
    this.parent = o.tmpDir ?? tmpdir();
  }

  private cmp = (a: ManifestEntry, b: ManifestEntry) => comparePaths(this.key(a), this.key(b));

  /** Add an entry; callers that do not await (a parser's callback) still get each full run spilled once. */
  add(e: ManifestEntry): Promise<void> {
    this.run.push(e);
    if (this.run.length < this.runSize) return Promise.resolve();
    const w = this.spill();
    this.writes.push(w);
    return w;
  }
  private readonly writes: Promise<void>[] = [];

  private async spill(): Promise<void> {
    // The run is taken before any await: entries added meanwhile start the next run.
    const run = this.run.sort(this.cmp);
    this.run = [];
    const n = this.files.length;
    const f = `run-${n}.ndjson`;
    this.files.push(f);
    this.dir ??= mkdtemp(join(this.parent, 'ferry-sort-'));
    const dir = await this.dir;
    this.files[n] = join(dir, f);
    // Written in ~1 MiB pieces: never the whole run as one string.
    const fh = await open(this.files[n], 'w');
    try {
      let piece = '';
      for (const e of run) {
        piece += entryToLine(e) + '\n';
        if (piece.length >= 1 << 20) { await fh.write(piece); piece = ''; }
      }
      if (piece) await fh.write(piece);
    } finally {
      await fh.close();
    }
  }

  /** The entries in order; the spill files are removed once read (or when the consumer stops early). */
  async *sorted(): AsyncGenerator<ManifestEntry> {
    try {
      if (!this.files.length) { this.run.sort(this.cmp); const r = this.run; this.run = []; yield* r; return; }
      if (this.run.length) this.writes.push(this.spill());
      await Promise.all(this.writes);
      // Small read buffers: memory for the merge grows by 32 KiB per run, not 256 KiB.
      const its = this.files.map((f) => readManifest(f, MERGE_BUFFER)[Symbol.asyncIterator]());
      try {
        const heads = await Promise.all(its.map((it) => it.next()));
        for (;;) {
          let min = -1;
          for (let i = 0; i < heads.length; i++) if (!heads[i]!.done && (min < 0 || this.cmp(heads[i]!.value as ManifestEntry, heads[min]!.value as ManifestEntry) < 0)) min = i;
          if (min < 0) break;
          yield heads[min]!.value as ManifestEntry;
          heads[min] = await its[min]!.next();
        }
      } finally {
        for (const it of its) await it.return?.(undefined);
      }
    } finally {
      if (this.dir) await rm(await this.dir, { recursive: true, force: true });
    }
  }
}
