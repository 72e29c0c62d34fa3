/**
 * Verify a target against an export: schema equality, exact row counts, every chunk read back from the
 * target (chunk-compare.ts: its lines' sha256, or its server-side checksum), AUTO_INCREMENT values, the carried accounts and their grants, and
 * who each object runs as (DEFINER, SQL SECURITY); with the source at hand, each mismatched chunk is
 * bisected down to the differing key range and rows. One report entry per table.
 */
import type { Pool } from 'mysql2/promise';
import { noProgress, type Progress } from '../../core/progress.ts';
import { connectMysql, q, withConnection, type MysqlTarget } from './connect.ts';
import { str } from './catalog.ts';
import { holdsChunk } from './chunk-compare.ts';
import { bisectRange, describeRange, type RangeDifference } from './bisect.ts';
import { describeSchema, diffSchema, type SchemaFacts } from './describe.ts';
import { readManifest, type TableEntry } from './manifest.ts';
import { readAccountsExport, type ObjectSecurity } from './accounts.ts';
import { verifyAccounts } from './accounts-apply.ts';

export interface VerifyOptions {
  readonly target: MysqlTarget;
  /** The source, still frozen: needed only to bisect a mismatch down to rows. */
  readonly source?: MysqlTarget;
  readonly dir: string;
  readonly parallelism?: number;
  /** Rows listed per table at most. Default 20. */
  readonly rowLimit?: number;
  readonly progress?: Progress;
  readonly signal?: AbortSignal;
}

export interface TableVerdict {
  readonly table: string;
  readonly ok: boolean;
  readonly expectedRows: number;
  readonly actualRows: number;
  readonly chunks: number;
  readonly mismatchedChunks: number;
  readonly autoIncrement: { readonly expected: number | null; readonly actual: number | null };
  /** Differing key ranges (bisected when the source was given) and rows. */
  readonly differences: readonly RangeDifference[];
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly schema: readonly string[];
  /** Accounts, grants and object DEFINER / SQL SECURITY differences (empty when they match). */
  readonly accounts: readonly string[];
  readonly tables: readonly TableVerdict[];
  /** One line per finding, for the step's VerifyResult. */
  readonly findings: readonly string[];
  readonly seconds: number;
}

export async function verifyMysql(o: VerifyOptions): Promise<VerifyReport> {
  const started = performance.now();
  const m = await readManifest(o.dir);
  const parallelism = o.parallelism ?? 2;
  const target = await connectMysql(o.target, { connections: parallelism + 1 });
  let source: Pool | undefined;
  try {
    const carried = await readAccountsExport(o.dir);
    const schemaCheck = Promise.all(m.schemas.map(async (s) => diffSchema(s.database, expectedFacts(m.facts[s.database] ?? {}, s.database, carried.objects), await describeSchema(target, s.database))));
    // With the (frozen) source at hand and the same server on both sides, CHECKSUM TABLE on both decides a
    // table at the servers' own speed; only tables whose checksums differ are checked chunk by chunk.
    // An unreachable source only costs the fast path and the bisection (ranges are still named).
    if (o.source) source = await connectMysql(o.source, { connections: 2 }).catch(() => undefined);
    const settled = source ? await equalTables(source, target, m.tables) : new Set<TableEntry>();
    const work = m.tables.filter((t) => !settled.has(t)).flatMap((t) => t.chunks.map((c) => ({ t, c })));
    const bad = new Map<TableEntry, Array<(typeof work)[number]['c']>>();
    const actual = new Map<TableEntry, number>([...settled].map((t) => [t, t.rows]));
    const autoIncrement = new Map<TableEntry, number | null>();
    const progress = o.progress ?? noProgress;
    let done = 0;
    await Promise.all(Array.from({ length: parallelism }, () => withConnection(target, async (c) => {
      for (let w = work.shift(); w; w = work.shift()) {
        o.signal?.throwIfAborted();
        if (!autoIncrement.has(w.t)) autoIncrement.set(w.t, await autoIncrementOf(target, w.t));
        const now = await holdsChunk(c, w.t.table, w.c);
        actual.set(w.t, (actual.get(w.t) ?? 0) + now.rows);
        if (!now.same) bad.set(w.t, [...(bad.get(w.t) ?? []), w.c]);
        done += w.c.rows;
        progress.update({ unit: 'rows', done, total: m.totals.rows, label: `table ${w.t.table.name}` });
      }
    })));
    for (const t of settled) autoIncrement.set(t, await autoIncrementOf(target, t));
    const schema = (await schemaCheck).flat();
    const accounts = await verifyAccounts(target, carried);

    const tables: TableVerdict[] = [];
    const findings = [...schema, ...accounts];
    for (const t of m.tables) {
      const name = `${t.table.database}.${t.table.name}`;
      const chunks = bad.get(t) ?? [];
      const differences: RangeDifference[] = [];
      for (const c of chunks) {
        if (source) differences.push(...(await bisectRange(source, target, t.table, c, (o.rowLimit ?? 20) - differences.reduce((n, d) => n + d.rows.length, 0))));
        else differences.push({ range: describeRange(t.table, c), sourceRows: c.rows, targetRows: -1, rows: [] });
      }
      const ai = autoIncrement.get(t) ?? null;
      const verdict: TableVerdict = {
        table: name, ok: chunks.length === 0 && ai === t.autoIncrement, expectedRows: t.rows, actualRows: actual.get(t) ?? 0,
        chunks: t.chunks.length, mismatchedChunks: chunks.length, autoIncrement: { expected: t.autoIncrement, actual: ai }, differences,
      };
      tables.push(verdict);
      if (verdict.actualRows !== verdict.expectedRows) findings.push(`${name}: ${verdict.actualRows} rows on the target, ${verdict.expectedRows} exported`);
      for (const d of differences) {
        const rows = d.rows.map((r) => `${r.key} ${r.issue}`).join('; ');
        findings.push(`${name}: ${d.range} differs (source ${d.sourceRows} rows, target ${d.targetRows < 0 ? '?' : d.targetRows})${rows ? `: ${rows}` : ''}`);
      }
      if (ai !== t.autoIncrement) findings.push(`${name}: AUTO_INCREMENT is ${ai ?? 'unset'} on the target, ${t.autoIncrement ?? 'unset'} on the source`);
    }
    return { ok: findings.length === 0, schema, accounts, tables, findings, seconds: (performance.now() - started) / 1000 };
  } finally {
    await target.end();
    await source?.end();
  }
}

/** The source's schema facts as the target must show them: a view stripped of its DEFINER runs as INVOKER. */
function expectedFacts(facts: SchemaFacts, database: string, objects: readonly ObjectSecurity[]): SchemaFacts {
  const out = { ...facts };
  for (const v of objects.filter((x) => x.kind === 'view' && x.database === database && x.security)) {
    const k = `view ${v.name}`;
    if (out[k]) out[k] = out[k].replace(/^(DEFINER|INVOKER) /, `${v.security} `);
  }
  return out;
}

/**
 * Tables whose CHECKSUM TABLE is the same on both servers. Its value depends on the server and the row
 * format, so it is compared only between the same flavor and major.minor version; a table whose values
 * differ (or that either server cannot checksum) is left to the chunk checksums.
 */
async function equalTables(source: Pool, target: Pool, tables: readonly TableEntry[]): Promise<Set<TableEntry>> {
  const out = new Set<TableEntry>();
  if (!tables.length) return out;
  const version = async (db: Pool) => str(((await db.query('SELECT VERSION() AS v'))[0] as Array<{ v: unknown }>)[0]?.v);
  const [a, b] = await Promise.all([version(source), version(target)]);
  const kind = (v: string) => `${/mariadb/i.test(v) ? 'mariadb' : 'mysql'} ${/^(\d+\.\d+)/.exec(v)?.[1] ?? v}`;
  if (kind(a) !== kind(b)) return out;
  const names = tables.map((t) => `${q(t.table.database)}.${q(t.table.name)}`).join(', ');
  const sums = async (db: Pool) => new Map(((await db.query(`CHECKSUM TABLE ${names}`))[0] as Array<{ Table: unknown; Checksum: unknown }>)
    .map((r) => [str(r.Table), r.Checksum == null ? null : str(r.Checksum)]));
  const [x, y] = await Promise.all([sums(source), sums(target)]);
  for (const t of tables) {
    const k = `${t.table.database}.${t.table.name}`;
    if (x.get(k) != null && x.get(k) === y.get(k)) out.add(t);
  }
  return out;
}

/** From SHOW CREATE TABLE (information_schema caches it for a day on MySQL 8). */
async function autoIncrementOf(db: Pool, t: TableEntry): Promise<number | null> {
  const [rows] = await db.query(`SHOW CREATE TABLE ${q(t.table.database)}.${q(t.table.name)}`).catch(() => [[]] as const);
  const ddl = str((rows as Array<Record<string, unknown>>)[0]?.['Create Table'] ?? '');
  const m = /\bAUTO_INCREMENT=(\d+)/.exec(ddl);
  return m ? Number(m[1]) : null;
}
