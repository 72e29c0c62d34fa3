/**
 * The report per store: each `verify:<store>` step's entries (one per table, db, directory…) as the
 * engine reported them, and — for the MySQL and Redis stores — the table and database views the
 * report always had (rows and checksums per table, keys per db, sessions and jobs). A store that followed
 * is reported by its pinned verify (MySQL, PostgreSQL, Redis, files) when one ran.
 */
import type { ReportEntry } from '../core/engine.ts';
import type { StepOutputs } from '../core/step.ts';
import { manifestChecksums } from './sources.ts';
import type { AppCheckLine, RedisDbLine, StoreReport, TableLine } from './types.ts';

const VERIFY = 'verify:';
const PINNED = 'verify-pinned:';
const CAUGHT_UP = 'catch-up:';

const findingsOf = (entries: readonly ReportEntry[]) =>
  entries.flatMap((e) => (e.ok ? [] : (e.findings?.length ? e.findings.map((f) => `${e.subject}: ${f}`) : [`${e.subject} differs`])));

/**
 * One report per store, in the order the steps ran: its `verify:<store>` output; for a store that followed
 * instead (no `verify:<store>` in the run), its `verify-pinned:<store>` comparison, or else — an engine without
 * a pinned verify — its catch-up to the frozen source's final position, said as such (not a data comparison).
 */
export function storeReports(outputs: ReadonlyMap<string, StepOutputs>): StoreReport[] {
  const all = [...outputs];
  const full = new Set(all.filter(([id]) => id.startsWith(VERIFY)).map(([id]) => id.slice(VERIFY.length)));
  const pinned = new Set(all.filter(([id, o]) => id.startsWith(PINNED) && Array.isArray((o.data as { entries?: unknown } | undefined)?.entries)).map(([id]) => id.slice(PINNED.length)));
  // A pin given up (tables busy, follower over its budget): said next to the catch-up that checked the store instead.
  const givenUp = new Map(all.flatMap(([id, o]) => {
    const d = (o.data ?? {}) as { givenUp?: boolean; skipped?: string };
    return id.startsWith(PINNED) && d.givenUp && d.skipped ? [[id.slice(PINNED.length), d.skipped] as const] : [];
  }));
  return all.flatMap(([id, o]): StoreReport[] => {
    if (id.startsWith(VERIFY)) {
      const d = (o.data ?? {}) as { engine?: string; ok?: boolean; entries?: ReportEntry[] };
      const entries = d.entries ?? [];
      return [{ id: id.slice(VERIFY.length), engine: d.engine ?? 'unknown', ok: d.ok ?? entries.every((e) => e.ok), entries, findings: findingsOf(entries), how: 'full' }];
    }
    if (id.startsWith(PINNED)) {
      const store = id.slice(PINNED.length);
      const d = (o.data ?? {}) as { engine?: string; ok?: boolean; entries?: ReportEntry[] };
      if (full.has(store) || !d.entries) return [];
      return [{ id: store, engine: d.engine ?? 'unknown', ok: d.ok ?? d.entries.every((e) => e.ok), entries: d.entries, findings: findingsOf(d.entries), how: 'pinned' }];
    }
    if (id.startsWith(CAUGHT_UP)) {
      const store = id.slice(CAUGHT_UP.length);
      if (full.has(store) || pinned.has(store)) return [];
      const d = (o.data ?? {}) as { engine?: string; lag?: number; detail?: string };
      const ok = d.lag === 0;
      const why = givenUp.get(store);
      const entries: ReportEntry[] = [{ subject: `caught up with the frozen source${d.detail ? ` (${d.detail})` : ''}${why ? `; no pinned comparison: ${why}` : ''}`, ok }];
      return [{ id: store, engine: d.engine ?? 'unknown', ok, entries, findings: findingsOf(entries), how: 'caught up' }];
    }
    return [];
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
