/** Appends one line to ledger.txt: not naturally idempotent, so `check` guards it (a repeat would show twice). */
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineStep } from '../../../lib/core/step.ts';
import { sleep, type FixtureCtx } from './context.ts';

const ENTRY = 'transform complete\n';
const read = (ctx: FixtureCtx) => readFile(join(ctx.outDir, 'ledger.txt'), 'utf8').catch(() => '');

export default defineStep<unknown, FixtureCtx>({
  id: 'ledger',
  title: 'Record the transform in ledger.txt',
  async check({ ctx }) {
    return (await read(ctx)).includes(ENTRY) ? { done: true, reason: 'ledger.txt already records it' } : { done: false, reason: 'not recorded yet' };
  },
  async plan({ ctx }) {
    return { reads: [join(ctx.outDir, 'ledger.txt')], changes: [`append "${ENTRY.trim()}" to ledger.txt`] };
  },
  async run({ ctx, signal }) {
    if (!(await read(ctx)).includes(ENTRY)) await appendFile(join(ctx.outDir, 'ledger.txt'), ENTRY);
    if (ctx.failAt === 'ledger') throw new Error('ledger: failing on purpose after appending');
    // A window between the effect and its record: a kill here must resume through `check`.
    await sleep(ctx.delayMs * 10, signal);
  },
  async verify({ ctx }) {
    const n = (await read(ctx)).split(ENTRY).length - 1;
    return n === 1 ? { ok: true, findings: [] } : { ok: false, findings: [`ledger.txt records it ${n} times, expected once`] };
  },
  async undo({ ctx }) {
    const text = await read(ctx);
    if (text.includes(ENTRY)) await writeFile(join(ctx.outDir, 'ledger.txt'), text.split(ENTRY).join(''));
  },
});
