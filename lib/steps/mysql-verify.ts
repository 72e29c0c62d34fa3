/**
 * Step `mysql-verify`: the target against the export — schema (modulo DEFINER), exact row counts,
 * every chunk's server-side checksum, AUTO_INCREMENT — with mismatches bisected on the (frozen) source
 * down to key ranges and rows. One report entry per table. Read-only: no `undo`.
 */
import { defineStep } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext } from './context.ts';
import { FerryError } from '../core/errors.ts';
import { verifyMysql } from '../engines/mysql/index.ts';
import { exportDir, targetOf, where, type MysqlStepParams } from './mysql-shared.ts';

const run = (p: MysqlStepParams, bisect: boolean) => verifyMysql({
  target: targetOf(p), dir: exportDir(p), parallelism: p.config.mysql.parallelism, progress: p.progress, signal: p.signal,
  ...(bisect && p.ctx.source.mysql ? { source: p.ctx.source.mysql } : {}),
});

export default defineStep<Config, FerryContext>({
  id: 'mysql-verify',
  title: 'Verify the target MySQL against the export (counts, checksums, schema)',
  async plan(p) {
    return { reads: [exportDir(p), where(targetOf(p)), ...(p.ctx.source.mysql ? [`${where(p.ctx.source.mysql)} (only to bisect a mismatch)`] : [])], changes: [] };
  },
  async run(p) {
    const r = await run(p, true);
    if (!r.ok) {
      throw new FerryError('E_MYSQL_VERIFY', `MySQL target differs from the export: ${r.findings[0]}`, {
        hint: 'run the import again (damaged chunks are found by checksum and reloaded), then verify', detail: r.findings.join('\n'),
      });
    }
    return { data: { tables: r.tables, seconds: r.seconds } };
  },
  async verify(p) {
    const r = await run(p, false);
    return { ok: r.ok, findings: r.findings, report: { tables: r.tables.map((t) => ({ table: t.table, ok: t.ok, rows: t.actualRows })), seconds: r.seconds } };
  },
});
