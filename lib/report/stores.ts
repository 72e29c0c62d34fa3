/**
 * The report per store: each `verify:<store>` step's entries (one per table, db, directory…) as the
 * engine reported them, and — for the MySQL and Redis stores — the table and database views the
 * report always had (rows and checksums per table, keys per db, sessions and jobs).
 */
import type { ReportEntry } from '../core/engine.ts';
import type { StepOutputs } from '../core/step.ts';
import { manifestChecksums } from './sources.ts';
import type { AppCheckLine, RedisDbLine, StoreReport, TableLine } from './types.ts';

const VERIFY = 'verify:';

/** One report per `verify:<store>` output, in the order the steps ran. */
export function storeReports(outputs: ReadonlyMap<string, StepOutputs>): StoreReport[] {
  return [...outputs].filter(([id]) => id.startsWith(VERIFY)).map(([id, o]) => {
    const d = (o.data ?? {}) as { engine?: string; ok?: boolean; entries?: ReportEntry[] };
    const entries = d.entries ?? [];
    return {
      id: id.slice(VERIFY.length), engine: d.engine ?? 'unknown', ok: d.ok ?? entries.every((e) => e.ok), entries,
      findings: entries.flatMap((e) => (e.ok ? [] : (e.findings?.length ? e.findings.map((f) => `${e.subject}: ${f}`) : [`${e.subject} differs`]))),
    };
  });
}

/** A MySQL store's tables: rows from its entries, checksums from its export's manifest (equal when no chunk differed). */
export async function mysqlTables(s: StoreReport, artifactsDir: string): Promise<TableLine[]> {
  const sums = await manifestChecksums(artifactsDir, s.id).catch(() => new Map<string, string>());
  return s.entries.filter((e) => e.subject.startsWith('table ')).map((e) => {
    const table = e.subject.slice('table '.length);
    const sum = sums.get(table);
    const bad = e.counts?.mismatchedChunks ?? 0;
    return {
      table, ok: e.ok,
      ...(e.counts?.expectedRows !== undefined ? { sourceRows: e.counts.expectedRows } : {}),
      ...(e.counts?.rows !== undefined ? { targetRows: e.counts.rows } : {}),
      ...(sum ? { sourceChecksum: sum, targetChecksum: bad === 0 ? sum : `differs in ${bad}/${e.counts?.chunks ?? '?'} chunk(s)` } : {}),
    };
  });
}

export function redisDatabases(s: StoreReport): RedisDbLine[] {
  return s.entries.filter((e) => /^db \d+$/.test(e.subject)).map((e) => ({
    db: Number(e.subject.slice(3)), types: {},
    ...(e.counts?.sourceKeys !== undefined ? { sourceKeys: e.counts.sourceKeys } : {}),
    ...(e.counts?.targetKeys !== undefined ? { targetKeys: e.counts.targetKeys } : {}),
    ...(e.counts?.expiredDuringWindow !== undefined ? { expiredDuringWindow: e.counts.expiredDuringWindow } : {}),
  })).sort((a, b) => a.db - b.db);
}

export function redisAppChecks(s: StoreReport): AppCheckLine[] {
  const app = s.entries.find((e) => e.subject.startsWith('app'));
  const c = app?.counts ?? {};
  return Object.keys(c).filter((k) => !k.endsWith('Source') && !k.endsWith('Differing')).map((category) => ({
    category, source: c[`${category}Source`] ?? c[category] ?? 0, target: c[category] ?? 0, differing: c[`${category}Differing`] ?? 0,
  }));
}
