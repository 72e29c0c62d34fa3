/**
 * Sort manifest entries into tree order in bounded memory: runs of `runSize` entries are sorted and
 * spilled as NDJSON to a temporary directory, then merged. A listing that fits one run never touches
 * the disk. Memory is one run plus a read buffer per spilled run, whatever the entry count.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { entryToLine, readManifest, type ManifestEntry } from './manifest.ts';
import { comparePaths } from './paths.ts';

export const DEFAULT_RUN = 50_000;

export class ExternalSort {
  private run: ManifestEntry[] = [];
  private readonly files: string[] = [];
  private dir: string | undefined;
  private readonly key: (e: ManifestEntry) => Buffer;
  private readonly runSize: number;
  private readonly parent: string;
  constructor(o: { key?: (e: ManifestEntry) => Buffer; runSize?: number; tmpDir?: string } = {}) {
    this.key = o.key ?? ((e) => e.path);
    this.runSize = o.runSize ?? DEFAULT_RUN;
    this.parent = o.tmpDir ?? tmpdir();
  }

  private cmp = (a: ManifestEntry, b: ManifestEntry) => comparePaths(this.key(a), this.key(b));

  async add(e: ManifestEntry): Promise<void> {
    this.run.push(e);
    if (this.run.length >= this.runSize) await this.spill();
  }

  private async spill(): Promise<void> {
    this.run.sort(this.cmp);
    this.dir ??= await mkdtemp(join(this.parent, 'ferry-sort-'));
    const f = join(this.dir, `run-${this.files.length}.ndjson`);
    await writeFile(f, this.run.map((e) => entryToLine(e) + '\n').join(''));
    this.files.push(f);
    this.run = [];
  }

  /** The entries in order; the spill files are removed once read (or when the consumer stops early). */
  async *sorted(): AsyncGenerator<ManifestEntry> {
    try {
      if (!this.files.length) { this.run.sort(this.cmp); const r = this.run; this.run = []; yield* r; return; }
      if (this.run.length) await this.spill();
      const its = this.files.map((f) => readManifest(f)[Symbol.asyncIterator]());
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
      if (this.dir) await rm(this.dir, { recursive: true, force: true });
    }
  }
}
