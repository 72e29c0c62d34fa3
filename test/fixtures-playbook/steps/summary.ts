/** Writes summary.json atomically from the outputs of the earlier steps. */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { defineStep } from '../../../lib/core/step.ts';
import { writeFileAtomic } from '../../../lib/util/atomic-write.ts';
import { sleep, type FixtureCtx } from './context.ts';

const body = (outputs: ReadonlyMap<string, { artifacts?: readonly { path: string; sha256: string; bytes: number }[] }>) =>
  `${JSON.stringify({ artifacts: ['generate', 'transform'].map((id) => ({ step: id, sha256: outputs.get(id)?.artifacts?.[0]?.sha256, bytes: outputs.get(id)?.artifacts?.[0]?.bytes })) }, null, 2)}\n`;

export default defineStep<unknown, FixtureCtx>({
  id: 'summary',
  title: 'Write summary.json',
  fingerprint: ({ outputs }) => body(outputs),
  async plan({ ctx }) {
    return { reads: ['outputs of generate and transform'], changes: [`write ${join(ctx.outDir, 'summary.json')}`] };
  },
  async run({ ctx, outputs, signal }) {
    await sleep(ctx.delayMs * 10, signal);
    await writeFileAtomic(join(ctx.outDir, 'summary.json'), body(outputs));
    if (ctx.failAt === 'summary') throw new Error('summary: failing on purpose after writing');
    return { data: { written: true } };
  },
  async verify({ ctx, outputs }) {
    const text = await readFile(join(ctx.outDir, 'summary.json'), 'utf8').catch(() => '');
    return text === body(outputs) ? { ok: true, findings: [] } : { ok: false, findings: ['summary.json does not match the outputs'] };
  },
  async undo({ ctx }) {
    await rm(join(ctx.outDir, 'summary.json'), { force: true });
  },
});
