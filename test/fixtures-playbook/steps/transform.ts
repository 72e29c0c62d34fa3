/** Streams data.txt into upper.txt (upper-cased, salted header); its fingerprint is data.txt's checksum and the salt. */
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { defineStep } from '../../../lib/core/step.ts';
import { artifactOf, sha256File } from '../../../lib/util/sha256.ts';
import { sleep, type FixtureCtx } from './context.ts';

export default defineStep<unknown, FixtureCtx>({
  id: 'transform',
  title: 'Transform data.txt into upper.txt',
  fingerprint: async ({ ctx }) => `${(await sha256File(join(ctx.outDir, 'data.txt')).catch(() => ({ sha256: 'none' }))).sha256}:${ctx.salt}`,
  async plan({ ctx }) {
    return { reads: [join(ctx.outDir, 'data.txt')], changes: [`write ${join(ctx.outDir, 'upper.txt')}`] };
  },
  async run({ ctx, signal, progress }) {
    const path = join(ctx.outDir, 'upper.txt');
    let bytes = 0;
    const upper = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        progress.update({ unit: 'bytes', done: bytes });
        sleep(ctx.delayMs, signal).then(() => done(null, chunk.toString('utf8').toUpperCase()), done);
      },
    });
    const out = createWriteStream(path);
    out.write(`# salt ${ctx.salt}\n`);
    await pipeline(createReadStream(join(ctx.outDir, 'data.txt'), { highWaterMark: 8 * 1024 }), upper, out);
    if (ctx.failAt === 'transform') throw new Error('transform: failing on purpose after writing');
    return { artifacts: [await artifactOf(path)] };
  },
  async verify({ ctx, previous }) {
    const a = previous?.artifacts?.[0];
    const got = await sha256File(join(ctx.outDir, 'upper.txt')).catch(() => null);
    return a && got?.sha256 === a.sha256 ? { ok: true, findings: [] } : { ok: false, findings: ['upper.txt is missing or differs from what was written'] };
  },
  async undo({ ctx }) {
    await rm(join(ctx.outDir, 'upper.txt'), { force: true });
  },
});
