/**
 * Step `mysql-import`: load the export into the target (schema, data, then triggers, routines, views,
 * events). Resumable per chunk through `<stateDir>/mysql/import-progress.json`; a re-run skips chunks
 * whose checksum already matches on the target. `undo` drops the imported databases on the TARGET.
 */
import { readFile, rm } from 'node:fs/promises';
import { defineStep } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext } from './context.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { connectMysql, importMysql, readManifest, verifyMysql } from '../engines/mysql/index.ts';
import { envAccounts, exportDir, stateFile, targetOf, where, type MysqlStepParams } from './mysql-shared.ts';
import { passwordSource } from '../engines/mysql/accounts-env.ts';
import { formatWarningGroup } from '../engines/mysql/load-warnings.ts';

const PROGRESS = 'import-progress.json';
const DONE = 'import-done.json';

async function doneMarker(p: MysqlStepParams): Promise<{ export: string; target: string } | undefined> {
  return readFile(stateFile(p, DONE), 'utf8').then((t) => JSON.parse(t) as { export: string; target: string }, () => undefined);
}

export default defineStep<Config, FerryContext>({
  id: 'mysql-import',
  title: 'Import into the target MySQL (parallel chunks, resumable)',
  async check(p) {
    const [m, d] = await Promise.all([readManifest(exportDir(p)), doneMarker(p)]);
    const t = targetOf(p);
    const same = d?.export === m.createdAt && d.target === `${t.host}:${t.port}`;
    return same ? { done: true, reason: `the export of ${m.createdAt} was imported into ${where(t)}` } : { done: false, reason: 'this export has not been imported into the target' };
  },
  async plan(p) {
    const t = targetOf(p);
    return { reads: [exportDir(p)], changes: [`${where(t)}: create and load the exported databases`] };
  },
  async run(p) {
    const t = targetOf(p);
    const m = await readManifest(exportDir(p));
    const notes: string[] = [];
    const r = await importMysql({
      target: t, dir: exportDir(p), stateFile: stateFile(p, PROGRESS), parallelism: p.config.mysql.parallelism,
      progress: p.progress, signal: p.signal, note: (n) => { notes.push(n); p.log.warn(n); },
      passwordFor: passwordSource(p.config.mysql.accounts, await envAccounts(p)),
    });
    for (const w of r.warnings) p.log.warn(`mysql load warning on a value kept exactly: ${formatWarningGroup(w)}`);
    for (const a of r.accounts) p.log.info(`mysql account ${a.account}: ${a.action} (${a.reason})`);
    p.log.info(`mysql import: ${r.chunksLoaded} chunks loaded, ${r.chunksSkipped} already there, via ${r.via}, ${r.seconds.toFixed(1)} s`);
    await writeFileAtomic(stateFile(p, DONE), JSON.stringify({ export: m.createdAt, target: `${t.host}:${t.port}` }));
    return { data: { ...r, notes, rowsPerSec: Math.round(r.rows / Math.max(r.seconds, 1e-3)) } };
  },
  async verify(p) {
    const r = await verifyMysql({ target: targetOf(p), dir: exportDir(p), parallelism: p.config.mysql.parallelism, signal: p.signal });
    return { ok: r.ok, findings: r.findings, report: { tables: r.tables.length, seconds: r.seconds } };
  },
  async undo(p) {
    const t = targetOf(p);
    const m = await readManifest(exportDir(p)).catch(() => undefined);
    await rm(stateFile(p, DONE), { force: true });
    await rm(stateFile(p, PROGRESS), { force: true });
    if (!m) return;
    const pool = await connectMysql(t, { connections: 1 });
    try {
      for (const s of m.schemas) {
        p.log.warn(`undo mysql-import: dropping database ${s.database} on the target ${where(t)}`);
        await pool.query(`DROP DATABASE IF EXISTS \`${s.database.replace(/`/g, '``')}\``);
      }
    } finally {
      await pool.end();
    }
  },
});
