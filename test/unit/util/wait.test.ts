import { describe, expect, it } from 'vitest';
import { retry, waitFor, type Clock } from '../../../lib/util/wait.ts';

/** A clock whose sleeps advance time instantly. */
function fakeClock(): Clock & { slept: number[] } {
  let t = 0;
  const slept: number[] = [];
  return { slept, now: () => t, sleep: async (ms) => { slept.push(ms); t += ms; } };
}

describe('waitFor', () => {
  it('polls until the probe yields a value', async () => {
    const clock = fakeClock();
    let n = 0;
    const v = await waitFor(async () => (++n >= 3 ? `ready after ${n}` : undefined), { what: 'x', timeoutMs: 10_000, intervalMs: 100, clock });
    expect(v).toBe('ready after 3');
    expect(clock.slept).toEqual([100, 100]);
  });

  it('states the budget and keeps the last error when it times out', async () => {
    const clock = fakeClock();
    const err = await waitFor(async () => { throw new Error('ECONNREFUSED 127.0.0.1:33306'); }, { what: 'mysql on 127.0.0.1:33306', timeoutMs: 1000, intervalMs: 300, clock }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_WAIT_TIMEOUT', message: 'mysql on 127.0.0.1:33306: not ready after 1000ms', detail: 'ECONNREFUSED 127.0.0.1:33306' });
    expect(clock.slept.reduce((a, b) => a + b, 0)).toBe(1000);
  });

  it('stops when aborted', async () => {
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(waitFor(async () => undefined, { what: 'x', timeoutMs: 1000, signal: ac.signal, clock: fakeClock() })).rejects.toThrow('stop');
  });

  it('stops at once on a fatal probe error, and throws its own error when the budget is spent', async () => {
    const clock = fakeClock();
    let n = 0;
    const fatal = await waitFor(async () => { n++; throw new RangeError(n < 3 ? 'not yet' : 'exited'); }, { what: 'x', timeoutMs: 10_000, intervalMs: 100, clock, fatal: (e) => (e as Error).message === 'exited' }).catch((e: unknown) => e);
    expect(fatal).toMatchObject({ message: 'exited' });
    expect(clock.slept).toEqual([100, 100]);
    const custom = await waitFor(async () => { throw new Error('refused'); }, { what: 'x', timeoutMs: 300, intervalMs: 100, clock: fakeClock(), onTimeout: async (last) => new Error(`gave up: ${(last as Error).message}`) }).catch((e: unknown) => e);
    expect(custom).toMatchObject({ message: 'gave up: refused' });
  });
});

describe('retry', () => {
  it('retries with doubling delays up to the attempt budget', async () => {
    const clock = fakeClock();
    let calls = 0;
    await expect(retry(async () => { calls++; throw new Error('flaky'); }, { attempts: 4, delayMs: 50, clock })).rejects.toThrow('flaky');
    expect(calls).toBe(4);
    expect(clock.slept).toEqual([50, 100, 200]);
    expect(await retry(async (a) => (a < 2 ? Promise.reject(new Error('once')) : a), { attempts: 3, clock })).toBe(2);
  });

  it('never retries a TypeError or what the caller calls final', async () => {
    let calls = 0;
    await expect(retry(async () => { calls++; throw new TypeError('bad arg'); }, { attempts: 5, clock: fakeClock() })).rejects.toThrow(TypeError);
    await expect(retry(async () => { calls++; throw new Error('denied'); }, { attempts: 5, clock: fakeClock(), retryable: () => false })).rejects.toThrow('denied');
    expect(calls).toBe(2);
  });
});
