/**
 * rollback --with-data for a MySQL store: what the stack wrote after the cutover goes back to the host.
 * The same export and import, reversed: the stack's server is exported (a consistent snapshot) into
 * `dir`, then imported into the host's server; chunks the host already holds unchanged are skipped by
 * checksum, the others are cleared and reloaded. Its state stays apart from the forward migration's.
 */
import { noProgress, type Progress } from '../../core/progress.ts';
import { exportMysql } from './export.ts';
import { importMysql, type ImportResult } from './import.ts';
import { verifyMysql } from './verify.ts';
import type { DefinerPolicy } from './definer.ts';
import type { MysqlEndpoint } from './endpoint.ts';
import { FerryError } from '../../core/errors.ts';

export interface ReverseOptions {
  /** The stack's server (the migration's target), read. */
  readonly from: MysqlEndpoint;
  /** The host's server (the migration's source), written. */
  readonly to: MysqlEndpoint;
  readonly databases: readonly string[];
  /** Where the reverse export goes (kept: it is what the host was given). */
  readonly dir: string;
  readonly stateFile: string;
  readonly parallelism: number;
  readonly definer: DefinerPolicy;
  readonly progress?: Progress;
  readonly signal?: AbortSignal;
  readonly note?: (message: string) => void;
}

export interface ReverseResult extends ImportResult {
  readonly exportedRows: number;
}

export async function reverseMysql(o: ReverseOptions): Promise<ReverseResult> {
  const progress = o.progress ?? noProgress;
  const m = await exportMysql({ source: o.from, databases: o.databases, dir: o.dir, parallelism: o.parallelism, definer: o.definer, progress, ...(o.signal ? { signal: o.signal } : {}) });
  const r = await importMysql({
    target: o.to, dir: o.dir, stateFile: o.stateFile, parallelism: o.parallelism, progress,
    ...(o.signal ? { signal: o.signal } : {}), ...(o.note ? { note: o.note } : {}),
  });
  const v = await verifyMysql({ target: o.to, dir: o.dir, parallelism: o.parallelism, ...(o.signal ? { signal: o.signal } : {}) });
  if (!v.ok) {
    throw new FerryError('E_MYSQL_VERIFY', `the host MySQL differs from the stack's data after the reverse copy: ${v.findings[0]}`, {
      hint: 'run the rollback again (damaged chunks are reloaded), or restore the export of the migration', detail: v.findings.join('\n'),
    });
  }
  return { ...r, exportedRows: m.totals.rows };
}
