/**
 * Step `report`: the run's report in JSON and Markdown (`<stateDir>/report.<mode>.{json,md}`): every
 * store's verdict with its engine's entries (per table, db, directory…), the MySQL tables' counts and
 * checksums and the Redis databases, sessions and jobs, timings from the journal, the downtime;
 * secrets redacted.
 */
import { defineStep } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext } from './context.ts';
import { readJournal } from '../journal/index.ts';
import { buildReport, writeReport, type TimingLine } from '../report/index.ts';
import { mysqlTables, redisAppChecks, redisDatabases, storeReports } from '../report/stores.ts';

export default defineStep<Config, FerryContext>({
  id: 'report',
  title: 'Write the report (JSON and Markdown)',
  async plan({ config, ctx }) {
    return { reads: ['the journal', 'every verify:<store> step\'s entries'], changes: [`write ${config.stateDir}/report.${ctx.mode}.json and .md`] };
  },
  async run({ config, ctx, outputs, log }) {
    ctx.tunnels?.release(); // a rehearsal holds them from its first catch-up and has no thaw
    const entries = await readJournal(config.stateDir, ctx.mode).catch(() => []);
    const timings: TimingLine[] = entries.filter((e) => e.id !== 'report').map((e) => ({
      step: e.id, title: e.title, status: e.status, startedAt: e.startedAt, finishedAt: e.finishedAt, durationMs: e.durationMs,
    }));
    const stores = storeReports(outputs);
    // The preset's stores (else the first of their engine) keep the tables and databases views.
    const pick = (engine: string) => stores.find((s) => s.engine === engine && s.id === engine) ?? stores.find((s) => s.engine === engine);
    const my = pick('mysql');
    const rd = pick('redis');
    const rdOptions = rd ? config.stores.find((s) => s.id === rd.id)?.options : undefined;
    const ttlToleranceMs = typeof rdOptions?.ttlToleranceMs === 'number' ? rdOptions.ttlToleranceMs : config.redis.ttlToleranceMs;
    const report = buildReport({
      playbook: ctx.mode, mode: ctx.mode, project: ctx.project, outputs, timings, stores,
      ...(my ? { mysqlStore: my.id, mysqlData: { ok: my.ok, tables: await mysqlTables(my, ctx.artifactsDir), findings: my.findings } } : {}),
      ...(rd ? {
        redisStore: rd.id,
        redisData: {
          ok: rd.ok, findings: rd.findings,
          dbs: Object.fromEntries(redisDatabases(rd).map((d) => [d.db, d])),
          app: Object.fromEntries(redisAppChecks(rd).map((a) => [a.category, { source: a.source, target: a.target, differing: a.differing }])),
        },
      } : {}),
      ttlToleranceMs, quietSeconds: config.freeze.quietSeconds, redactor: ctx.redactor,
    });
    const files = await writeReport(config.stateDir, report);
    const v = report.predictedVsMeasured;
    const predicted = v ? `, predicted ${(v.predictedMs / 1000).toFixed(1)} s (ratio ${v.ratio.toFixed(2)})` : report.prediction ? `, migrate's predicted ${(report.prediction.ms / 1000).toFixed(1)} s` : '';
    log.info(`report: ${files.markdown} (${report.ok ? 'verified' : 'NOT verified'}${report.downtimeMs !== undefined ? `, downtime ${report.downtimeKind} ${(report.downtimeMs / 1000).toFixed(1)} s` : ''}${predicted})`);
    return { data: { ok: report.ok, json: files.json, markdown: files.markdown, downtimeMs: report.downtimeMs, downtimeKind: report.downtimeKind, totalMs: report.totalMs } };
  },
});
