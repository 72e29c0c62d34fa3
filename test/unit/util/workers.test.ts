import { describe, expect, it } from 'vitest';
import { runWorkers } from '../../../lib/util/workers.ts';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('runWorkers', () => {
  it('the first error stops the others at their next unit and is thrown only once every worker has returned', async () => {
    const done: string[] = [];
    let stops = 0;
    const run = runWorkers(3, async (i, stopped) => {
      for (let unit = 0; unit < 10 && !stopped(); unit++) {
        await tick(5);
        if (i === 1 && unit === 2) throw new Error('worker 1 failed');
        if (i === 2 && unit === 2) throw new Error('worker 2 failed too');
      }
      await tick(20); // still busy after the failure: the error waits for it
      done.push(`worker ${i} returned`);
    }, () => { stops++; });
    await expect(run).rejects.toThrow('worker 1 failed');
    expect(done).toEqual(['worker 0 returned']);
    expect(stops).toBe(1);
  });

  it('resolves when every worker does, none stopped', async () => {
    const seen: boolean[] = [];
    await runWorkers(2, async (_, stopped) => { await tick(1); seen.push(stopped()); });
    expect(seen).toEqual([false, false]);
    await runWorkers(0, async () => { throw new Error('never run'); });
  });
});
