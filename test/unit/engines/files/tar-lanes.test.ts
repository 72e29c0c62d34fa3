import { describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { TarLanes } from '../../../../lib/engines/files/tar-lanes.ts';
import type { TarItem } from '../../../../lib/engines/files/tar-write.ts';
import type { ManifestEntry } from '../../../../lib/engines/files/manifest.ts';

const item = (i: number, type: ManifestEntry['type'] = 'file', skip = false): TarItem => {
  const path = Buffer.from(`f${String(i).padStart(5, '0')}`);
  return { entry: { path, type, size: i, mode: 0o644, mtimeMs: 0, uid: 0, gid: 0 }, name: path, uid: 0, gid: 0, ...(skip ? { skip } : {}) };
};
async function* source(items: TarItem[]): AsyncGenerator<TarItem> { for (const it of items) { await sleep(0); yield it; } }

/** Lanes that each take items and finish them after a delay of their own (a slow lane and fast ones). */
async function runLanes(lanes: TarLanes, delays: number[], seen: string[][]): Promise<void> {
  await Promise.all(delays.map(async (ms, k) => {
    seen[k] = [];
    for await (const it of lanes.lane()) {
      seen[k]!.push(it.name.toString());
      if (ms) await sleep(ms);
      await lanes.done(it, `sha-${it.name.toString()}`);
    }
  }));
  await lanes.finish();
}

describe('files dealt over several tars (tar-lanes.ts)', () => {
  it('each lane takes what it asks for; every item, dealt or not, reaches onEntry once, in the source order, with its hash', async () => {
    const items = Array.from({ length: 300 }, (_, i) => (i % 10 === 0 ? item(i, 'dir') : i % 7 === 0 ? item(i, 'file', true) : item(i)));
    const order: Array<[string, string | undefined]> = [];
    const lanes = new TarLanes(source(items), {
      toLane: (it) => !it.skip && it.entry.type !== 'dir', window: 1000,
      onEntry: async (it, sha) => { await sleep(0); order.push([it.name.toString(), sha]); },
    });
    const seen: string[][] = [];
    await runLanes(lanes, [3, 0, 0], seen);
    expect(order.map(([n]) => n)).toEqual(items.map((it) => it.name.toString()));
    for (const [i, [n, sha]] of order.entries()) expect(sha).toBe(items[i]!.skip || items[i]!.entry.type === 'dir' ? undefined : `sha-${n}`);
    const dealt = seen.flat().sort();
    expect(dealt).toEqual(items.filter((it) => !it.skip && it.entry.type !== 'dir').map((it) => it.name.toString()));
    expect(seen[0]!.length).toBeLessThan(seen[1]!.length); // the slow lane took fewer
    expect(seen[1]!.length + seen[2]!.length).toBeGreaterThan(0);
  });

  it('no lane runs more than `window` items ahead of the oldest one not done', async () => {
    const items = Array.from({ length: 200 }, (_, i) => item(i));
    let flushed = 0;
    let maxAhead = 0;
    const lanes = new TarLanes(source(items), { toLane: () => true, window: 16, onEntry: () => { flushed++; } });
    const seen: string[][] = [];
    let dealt = 0;
    await Promise.all([25, 0].map(async (ms, k) => {
      seen[k] = [];
      for await (const it of lanes.lane()) {
        dealt++;
        maxAhead = Math.max(maxAhead, dealt - flushed);
        if (ms) await sleep(ms);
        await lanes.done(it, 'x');
      }
    }));
    await lanes.finish();
    expect(flushed).toBe(200);
    expect(maxAhead).toBeLessThanOrEqual(16);
    expect(maxAhead).toBeGreaterThan(1);
  });

  it('a failing onEntry stops the dealing: the lanes and finish() throw its error', async () => {
    const items = Array.from({ length: 100 }, (_, i) => item(i));
    const lanes = new TarLanes(source(items), { toLane: () => true, window: 8, onEntry: (it) => { if (it.entry.size === 40) throw new Error('log full'); } });
    await expect(runLanes(lanes, [0, 1], [])).rejects.toThrow('log full');
    await expect(lanes.finish()).rejects.toThrow('log full');
  });

  it('a lane left mid-way (its stream failed) fails a lane waiting for the window to move, instead of leaving it waiting', async () => {
    const lanes = new TarLanes(source(Array.from({ length: 50 }, (_, i) => item(i))), { toLane: () => true, window: 4, onEntry: () => undefined });
    const a = lanes.lane()[Symbol.asyncIterator]();
    await a.next(); // item 0, never done
    const b = (async () => { for await (const it of lanes.lane()) await lanes.done(it, 'x'); })();
    await sleep(20);
    await a.return!(undefined); // lane a's consumer stopped
    await expect(b).rejects.toThrow(/a lane stopped before its end/);
    await expect(lanes.finish()).rejects.toThrow(/a lane stopped before its end/);
  });

  it('finish() refuses an item dealt and never done, and lanes that stopped before the last item', async () => {
    const lanes = new TarLanes(source([item(1), item(2)]), { toLane: () => true, window: 8, onEntry: () => undefined });
    const it = lanes.lane()[Symbol.asyncIterator]();
    const first = await it.next();
    await expect(lanes.finish()).rejects.toThrow(/1 items were dealt and not archived/);
    await lanes.done(first.value!, 'x');
    await expect(lanes.finish()).rejects.toThrow(/stopped before the last item/);
  });
});
