import { describe, expect, it } from 'vitest';
import { runPool, type PoolTask } from '../../../../lib/engines/postgres/task-pool.ts';

const tick = () => new Promise<void>((res) => setTimeout(res, 5));

describe('postgres import task pool', () => {
  it('starts a task once its prerequisites are done, prefers a table no other worker holds, runs everything once', async () => {
    const log: string[] = [];
    const done = new Set<string>();
    const task = (id: string, opts: { share?: string; after?: string[] } = {}): PoolTask<string> => ({
      id, ...(opts.share ? { share: opts.share } : {}),
      ready: () => (opts.after ?? []).every((x) => done.has(x)),
      run: async (w) => { log.push(`${w} start ${id}`); await tick(); done.add(id); log.push(`${w} end ${id}`); },
    });
    const tasks = [
      task('build a', { after: ['a1', 'a2'] }),
      task('analyze a', { after: ['build a'] }),
      task('a1', { share: 'a' }), task('a2', { share: 'a' }), task('b1', { share: 'b' }),
    ];
    await runPool(tasks, ['w1', 'w2']);
    const starts = log.filter((l) => l.includes(' start ')).map((l) => l.split(' start ')[1]);
    expect(starts.sort()).toEqual(['a1', 'a2', 'analyze a', 'b1', 'build a']);
    // The second worker takes b1 (a is busy) rather than sharing a; the build waits for both chunks of a.
    expect(log.slice(0, 2)).toEqual(['w1 start a1', 'w2 start b1']);
    const at = (x: string) => log.indexOf(x);
    expect(Math.min(at('w1 start build a'), at('w2 start build a') < 0 ? Infinity : at('w2 start build a')))
      .toBeGreaterThan(Math.max(log.findIndex((l) => l.endsWith('end a1')), log.findIndex((l) => l.endsWith('end a2'))));
    expect(log.findIndex((l) => l.endsWith('start analyze a'))).toBeGreaterThan(log.findIndex((l) => l.endsWith('end build a')));
  });

  it('shares a table when nothing else is ready, and fails naming the tasks a plan can never start', async () => {
    const ran: string[] = [];
    const t = (id: string): PoolTask<number> => ({ id, share: 'x', ready: () => true, run: async () => { ran.push(id); await tick(); } });
    await runPool([t('x1'), t('x2'), t('x3')], [1, 2]);
    expect(ran.sort()).toEqual(['x1', 'x2', 'x3']);
    const never: PoolTask<number> = { id: 'build z', ready: () => false, run: async () => undefined };
    await expect(runPool([t('x4'), never], [1, 2])).rejects.toThrow('import plan stalled: no task of build z can start');
  });

  it('stops taking tasks after a failure and throws it once running tasks end', async () => {
    const ran: string[] = [];
    const ok = (id: string): PoolTask<number> => ({ id, ready: () => true, run: async () => { await tick(); ran.push(id); } });
    const bad: PoolTask<number> = { id: 'bad', ready: () => true, run: async () => { throw new Error('COPY failed'); } };
    await expect(runPool([bad, ok('a'), ok('b'), ok('c')], [1])).rejects.toThrow('COPY failed');
    expect(ran).toEqual([]);
  });

  it('runs tasks a feed adds while it runs, in rank order, and ends only once the feed is closed', async () => {
    const ran: string[] = [];
    const t = (id: string, rank: number): PoolTask<number> => ({ id, rank, ready: () => true, run: async () => { ran.push(id); await tick(); } });
    let add!: (x: PoolTask<number>) => void;
    let close!: () => void;
    let ended = false;
    const pool = runPool([t('build', 0), t('analyze', 3)], [1], undefined, { connect(a, c) { add = a; close = c; } }).then(() => { ended = true; });
    add(t('chunk 1', 1));
    await tick();
    add(t('chunk 2', 1));
    await new Promise((r) => setTimeout(r, 40));
    expect(ended).toBe(false);
    add(t('chunk 3', 1));
    close();
    await pool;
    // chunk 1 was queued before analyze, and so was chunk 2 while the pool still had analyze pending.
    expect(ran.indexOf('chunk 1')).toBeLessThan(ran.indexOf('analyze'));
    expect(ran).toEqual(expect.arrayContaining(['build', 'analyze', 'chunk 1', 'chunk 2', 'chunk 3']));
    expect(ran).toHaveLength(5);
  });
});
