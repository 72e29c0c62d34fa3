/** openBoth: two opens side by side; a failure of either closes the other and throws the first's before the second's. */
import { describe, expect, it } from 'vitest';
import { openBoth } from '../../../lib/util/open-both.ts';

const after = <T>(ms: number, v: T) => () => new Promise<T>((res) => setTimeout(() => res(v), ms));
const failAfter = (ms: number, e: Error) => () => new Promise<string>((_, rej) => setTimeout(() => rej(e), ms));

describe('openBoth', () => {
  it('opens both at once', async () => {
    const events: string[] = [];
    const open = (x: string) => async () => { events.push(`start ${x}`); await after(20, x)(); events.push(`end ${x}`); return x; };
    const closed: string[] = [];
    expect(await openBoth(open('a'), open('b'), { a: (x) => closed.push(x), b: (x) => closed.push(x) })).toEqual(['a', 'b']);
    expect(events.slice(0, 2)).toEqual(['start a', 'start b']); // the second begins before the first has opened
    expect(closed).toEqual([]);
  });

  it('closes the one that opened when the other fails, and throws the failure', async () => {
    const closed: string[] = [];
    await expect(openBoth(after(5, 'a'), failAfter(10, new Error('target down')), { a: (x) => closed.push(x), b: (x) => closed.push(x) })).rejects.toThrow('target down');
    expect(closed).toEqual(['a']);
    await expect(openBoth(failAfter(10, new Error('source down')), after(5, 'b'), { a: (x) => closed.push(x), b: (x) => closed.push(`${x}!`) })).rejects.toThrow('source down');
    expect(closed).toEqual(['a', 'b!']);
  });

  it('throws the first one\'s failure when both fail, and a close that fails does not hide it', async () => {
    await expect(openBoth(failAfter(20, new Error('first')), failAfter(1, new Error('second')), { a: () => undefined, b: () => undefined })).rejects.toThrow('first');
    await expect(openBoth(after(1, 'a'), failAfter(5, new Error('second')), { a: () => Promise.reject(new Error('close failed')), b: () => undefined })).rejects.toThrow('second');
  });
});
