import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeInOrder } from '../../../../lib/engines/files/fifo.ts';

const dir = mkdtempSync(join(tmpdir(), 'ferry-fifo-write-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A real file whose writes take a while (as a FIFO's do while the helper's tar is busy), recording whether
 * two writes ever overlapped.
 */
async function slowFile(path: string, delayMs: (n: number) => number) {
  const fh = await open(path, 'w');
  let active = 0, overlapped = false, n = 0;
  const slow = {
    async write(buf: Uint8Array, off: number, len: number, pos: number | null) {
      active++;
      if (active > 1) overlapped = true;
      const mine = n++;
      await sleep(delayMs(mine));
      // Written in two parts (a pipe may take less than asked): the caller writes the rest.
      const part = Math.max(1, Math.floor(len / 2));
      const r = await fh.write(buf, off, part, pos);
      active--;
      return r;
    },
  };
  return { slow: slow as unknown as FileHandle, fh, overlapped: () => overlapped };
}

describe('writing a stream ahead of its writes (fifo.ts writeInOrder)', () => {
  it('writes every chunk in order, never two writes at once, and makes the next chunk only while at most `ahead` wait', async () => {
    for (const ahead of [1, 3]) {
      const path = join(dir, `ordered-${ahead}.bin`);
      const f = await slowFile(path, (i) => (i % 3 === 0 ? 4 : 0));
      const chunks = Array.from({ length: 24 }, (_, i) => Buffer.alloc(100 + i, 0x41 + (i % 26)));
      let made = 0;
      /** Per chunk made: how many chunks before it were still not written out when it was asked for. */
      const unwritten: number[] = [];
      async function* input() {
        for (let i = 0; i < chunks.length; i++) {
          // A chunk is out once all its bytes are on the file (the file holds a prefix of the stream).
          const onFile = readFileSync(path).length;
          let out = 0;
          for (let end = 0; out < i && (end += chunks[out]!.length) <= onFile;) out++;
          unwritten.push(i - out);
          made++;
          yield chunks[i]!;
        }
      }
      await writeInOrder(f.slow, input(), ahead);
      await f.fh.close();
      expect(made).toBe(chunks.length);
      expect(readFileSync(path).equals(Buffer.concat(chunks))).toBe(true);
      expect(f.overlapped()).toBe(false);
      // Chunk k is out before chunk k + ahead + 1 is asked for: at most `ahead` unwritten when one is asked for.
      expect(Math.max(...unwritten)).toBeLessThanOrEqual(ahead);
      // And the producer did run ahead of the writes when it could (slow writes, ahead > 1).
      if (ahead > 1) expect(Math.max(...unwritten)).toBeGreaterThan(1);
    }
  });

  it('a failing write stops the stream with its error, after the write in flight ends', async () => {
    const path = join(dir, 'fails.bin');
    const fh = await open(path, 'w');
    let writes = 0, active = 0, activeAtEnd = -1;
    const failing = {
      async write(buf: Uint8Array, off: number, len: number, pos: number | null) {
        active++;
        try {
          await sleep(2);
          if (++writes === 3) throw Object.assign(new Error('EPIPE: the helper went away'), { code: 'EPIPE' });
          return await fh.write(buf, off, len, pos);
        } finally { active--; }
      },
    } as unknown as FileHandle;
    let asked = 0;
    async function* input() { for (let i = 0; i < 50; i++) { asked++; yield Buffer.alloc(10, i); } }
    await expect(writeInOrder(failing, input(), 4).finally(() => { activeAtEnd = active; })).rejects.toThrow(/EPIPE/);
    expect(activeAtEnd).toBe(0);
    expect(asked).toBeLessThan(50);
    await fh.close();
    expect(readFileSync(path).length).toBe(20); // the two chunks written before the failure
  });

  it('a failing producer stops the stream with its error, with no write left in flight', async () => {
    const path = join(dir, 'producer.bin');
    const f = await slowFile(path, () => 3);
    async function* input() {
      yield Buffer.from('first ');
      yield Buffer.from('second ');
      throw new Error('file changed size while archived');
    }
    let settled = false;
    const run = writeInOrder(f.slow, input(), 4).finally(() => { settled = true; });
    await expect(run).rejects.toThrow(/changed size/);
    expect(settled).toBe(true);
    // What was written is whole chunks from the start (the stream is abandoned: queued chunks are dropped);
    // the file is closed only after writeInOrder returned, and no write landed after that.
    const before = readFileSync(path, 'utf8');
    await sleep(20);
    expect(readFileSync(path, 'utf8')).toBe(before);
    expect(['', 'first ', 'first second ']).toContain(before);
    await f.fh.close();
  });
});
