/** The loaders' order (load-order.ts): an empty table's first chunk alone; sharing only when allowed; a failure waits for the others. */
import { describe, expect, it } from 'vitest';
import { pickChunk, runLoads } from '../../lib/engines/mysql/load-order.ts';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('mysql load order', () => {
  it('picks a table nobody loads, else a filled one when sharing', () => {
    const jobs = ['a1', 'a2', 'b1'];
    const t = (j: string) => j[0]!;
    expect(pickChunk(jobs, t, new Map([['a', 1]]), undefined)).toBe(2);
    expect(pickChunk(['a2', 'a3'], t, new Map([['a', 1]]), undefined)).toBe(-1);
    expect(pickChunk(['a2', 'a3'], t, new Map([['a', 1]]), new Set())).toBe(-1); // a is not filled yet
    expect(pickChunk(['a2', 'a3'], t, new Map([['a', 1]]), new Set(['a']))).toBe(0);
  });

  it('with a key order, takes the chosen table\'s first chunk in key order, whatever arrived first', () => {
    const t = (j: string) => j[0]!;
    const order = (a: string, b: string) => a.localeCompare(b);
    // Segments exported two at a time arrive interleaved: s1's chunk before s0's next one.
    const arrived = ['a.s01.00000', 'b.00000', 'a.s00.00001', 'a.s00.00002'];
    expect(pickChunk(arrived, t, new Map(), undefined, order)).toBe(2);
    expect(pickChunk(arrived, t, new Map([['a', 1]]), undefined, order)).toBe(1);
    expect(pickChunk(['a.s01.00000', 'a.s00.00003'], t, new Map([['a', 1]]), new Set(['a']), order)).toBe(1);
    expect(pickChunk(['a.s01.00000'], t, new Map([['a', 1]]), undefined, order)).toBe(-1);
  });

  it('runs one table on two loaders only after its first chunk, and every job once', async () => {
    for (const share of [false, true]) {
      const log: string[] = [];
      let together = 0;
      let max = 0;
      await runLoads(['a1', 'a2', 'a3', 'a4', 'b1'], (j) => j[0]!, share, 2, async (j) => {
        if (j[0] === 'a') { together++; max = Math.max(max, together); }
        log.push(`start ${j}`);
        await tick();
        if (j[0] === 'a') together--;
      });
      expect(log.filter((l) => l.startsWith('start')).length).toBe(5);
      expect(max).toBe(share ? 2 : 1);
      expect(log[0]).toBe('start a1');
      expect(log[1]).toBe('start b1'); // a is empty until a1 is in: the second loader takes b
    }
  });

  it('throws the first failure once the other loader has finished its chunk', async () => {
    let finished = false;
    const err = await runLoads(['a1', 'b1', 'c1'], (j) => j[0]!, false, 2, async (j) => {
      if (j === 'a1') throw new Error('a1 failed');
      await tick(); await tick();
      finished = true;
    }).catch((e: unknown) => e);
    expect(String(err)).toMatch(/a1 failed/);
    expect(finished).toBe(true);
  });
});
