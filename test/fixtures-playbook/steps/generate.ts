/** Writes `data.txt` line by line in chunks (not atomically: a kill leaves a partial file behind). */
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { defineStep } from '../../../lib/core/step.ts';
import { artifactOf, sha256File } from '../../../lib/util/sha256.ts';
import { sleep, type FixtureCtx } from './context.ts';
import { createHash } from 'node:crypto';

const CHUNK = 100;
const line = (i: number) => `line ${i} ${createHash('sha1').update(String(i)).digest('hex')}\n`;
const expected = (n: number) => {
  const h = createHash('sha256');
  for (let i = 0; i < n; i++) h.update(line(i));
  return h.digest('hex');
};

export default defineStep<unknown, FixtureCtx>({
  id: 'generate',
  title: 'Generate data.txt',
  fingerprint: ({ ctx }) => `lines=${ctx.lines}`,
  async check({ ctx }) {
    const path = join(ctx.outDir, 'data.txt');
    const got = await sha256File(path).catch(() => null);
    return got?.sha256 === expected(ctx.lines)
      ? { done: true, reason: 'data.txt already holds every line', outputs: { artifacts: [{ path, ...got }] } }
      : { done: false, reason: 'data.txt missing or incomplete' };
  },
  async plan({ ctx }) {
    return { reads: [], changes: [`write ${join(ctx.outDir, 'data.txt')} (${ctx.lines} lines)`] };
  },
  async run({ ctx, signal, progress }) {
    await mkdir(ctx.outDir, { recursive: true });
    const path = join(ctx.outDir, 'data.txt');
    const out = createWriteStream(path);
    try {
      for (let i = 0; i < ctx.lines; i++) {
        if (!out.write(line(i))) await once(out, 'drain');
        if ((i + 1) % CHUNK === 0) {
          progress.update({ unit: 'lines', done: i + 1, total: ctx.lines });
          if (ctx.failAt === 'generate' && i + 1 >= ctx.lines / 2) throw new Error('generate: failing on purpose half way');
          await sleep(ctx.delayMs, signal);
        }
      }
    } finally {
      out.end();
      await once(out, 'close');
    }
    return { artifacts: [await artifactOf(path)] };
  },
  async verify({ ctx }) {
    const got = await sha256File(join(ctx.outDir, 'data.txt')).catch(() => null);
    return got?.sha256 === expected(ctx.lines) ? { ok: true, findings: [] } : { ok: false, findings: ['data.txt does not hold the expected lines'] };
  },
  async undo({ ctx }) {
    await rm(join(ctx.outDir, 'data.txt'), { force: true });
  },
});
