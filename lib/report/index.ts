/** The migration report: build it from outputs and timings, render it, write both files atomically. */
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { renderMarkdown } from './markdown.ts';
import type { FerryReport } from './types.ts';

export * from './types.ts';
export { buildReport, FREEZE_WINDOW_STEPS, type BuildReportOptions } from './build.ts';
export { renderMarkdown } from './markdown.ts';
export { tableLines, redisDbLines, appCheckLines } from './collect.ts';
export { storeReports, mysqlTables, redisDatabases, redisAppChecks } from './stores.ts';

/** Writes `<dir>/report.<playbook>.json` and `.md`; returns their paths. */
export async function writeReport(dir: string, r: FerryReport): Promise<{ json: string; markdown: string }> {
  const json = join(dir, `report.${r.playbook}.json`);
  const markdown = join(dir, `report.${r.playbook}.md`);
  await writeFileAtomic(json, JSON.stringify(r, null, 2) + '\n');
  await writeFileAtomic(markdown, renderMarkdown(r));
  return { json, markdown };
}
