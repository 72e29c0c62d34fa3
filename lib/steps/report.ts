/**
 * Step `report`: the run's report in JSON and Markdown (`<stateDir>/report.<mode>.{json,md}`): per
 * table counts and checksums, per db and type key counts, sessions and jobs, TTL tolerance, timings
 * from the journal, the downtime; secrets redacted.
 */
import { defineStep } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext } from './context.ts';
import { readJournal } from '../journal/index.ts';
import { buildReport, writeReport, type TimingLine } from '../report/index.ts';
import { mysqlVerifyData, redisVerifyData } from '../report/sources.ts';

export default defineStep<Config, FerryContext>({
  id: 'report',
  title: 'Write the report (JSON and Markdown)',
  async plan({ config, ctx }) {
    return { reads: ['the journal', 'the verify steps\' outputs'], changes: [`write ${config.stateDir}/report.${ctx.mode}.json and .md`] };
  },
  async run({ config, ctx, outputs, log }) {
    const entries = await readJournal(config.stateDir, ctx.mode).catch(() => []);
    const timings: TimingLine[] = entries.filter((e) => e.id !== 'report').map((e) => ({
      step: e.id, title: e.title, status: e.status, startedAt: e.startedAt, finishedAt: e.finishedAt, durationMs: e.durationMs,
    }));
    const report = buildReport({
      playbook: ctx.mode, mode: ctx.mode, project: ctx.project, outputs, timings,
      mysqlData: await mysqlVerifyData(outputs, ctx.artifactsDir), redisData: await redisVerifyData(outputs, config.stateDir),
      ttlToleranceMs: config.redis.ttlToleranceMs, quietSeconds: config.freeze.quietSeconds, redactor: ctx.redactor,
    });
    const files = await writeReport(config.stateDir, report);
    log.info(`report: ${files.markdown} (${report.ok ? 'verified' : 'NOT verified'}${report.downtimeMs !== undefined ? `, downtime ${report.downtimeKind} ${(report.downtimeMs / 1000).toFixed(1)} s` : ''})`);
    return { data: { ok: report.ok, json: files.json, markdown: files.markdown, downtimeMs: report.downtimeMs, downtimeKind: report.downtimeKind, totalMs: report.totalMs } };
  },
});
