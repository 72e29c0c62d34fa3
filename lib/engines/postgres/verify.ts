/**
 * Verify the target against the export: schema facts (normalised catalog lines, not dump text), each
 * table's exact count and every chunk's digest recomputed from the target with the same algorithm
 * (checksum.ts: the sha256 of the range's ordered COPY, chunks spread over the workers); a
 * chunk that differs is narrowed to its rows by loading the chunk file into a temporary table on the
 * target and joining on the key (missing, extra and changed keys, and the key range they span). Then
 * sequences, large objects (sha256 by the server) and roles. One report entry per table.
 */
import { join } from 'node:path';
import type pg from 'pg';
import { copyInFromFile } from './copy-protocol.ts';
import type { ReportEntry, VerifyReport } from '../../core/engine.ts';
import { connectPg, qi, qn, type PgTarget } from './connect.ts';
import { storedColumns, type TableInfo } from './catalog.ts';
import { copyFormat, describeRange, keyOrder, rangeDigest, rowHashExpr, rangeWhere } from './checksum.ts';
import { describeSchema, diffFacts } from './describe.ts';
import { readManifest, type ChunkEntry, type TableEntry } from './manifest.ts';

export interface VerifyOptions {
  readonly target: PgTarget;
  readonly dir: string;
  /**
   * The source, when it can be reached: a chunk that differs from the export but equals the source's same
   * range (same digest, computed from the source) is right — the target followed the source past its
   * export (cutover.mode follow), as MySQL's verify settles tables by the source's CHECKSUM TABLE.
   */
  readonly source?: PgTarget;
  readonly parallelism?: number;
  readonly signal?: AbortSignal;
}

const MAX_FINDINGS = 10;

export async function verifyPostgres(o: VerifyOptions): Promise<VerifyReport> {
  const started = performance.now();
  const m = await readManifest(o.dir);
  const entries: ReportEntry[] = [];
  const c = await connectPg(o.target, { applicationName: 'ferry verify' });
  try {
    const d = diffFacts(m.facts, await describeSchema(c));
    entries.push({
      subject: `schema ${o.target.database}`, ok: d.missing.length + d.extra.length === 0, counts: { facts: m.facts.length },
      findings: [...d.missing.map((f) => `missing on target: ${f}`), ...d.extra.map((f) => `only on target: ${f}`)].slice(0, MAX_FINDINGS),
    });
  } finally {
    await c.end();
  }
  // Work items are chunks, biggest tables first, so a big table's chunks spread over every worker.
  const jobs = [...m.tables].sort((a, b) => b.bytes - a.bytes).flatMap((e) => e.chunks.map((ch) => ({ e, ch })));
  const results = new Map<TableEntry, { targetRows: number; findings: string[][] }>(m.tables.map((e) => [e, { targetRows: 0, findings: e.chunks.map(() => []) }]));
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(Math.max(1, o.parallelism ?? 2), jobs.length) }, async () => {
    const w = await connectPg(o.target, { applicationName: 'ferry verify' });
    const s = o.source ? await connectPg(o.source, { applicationName: 'ferry verify' }).catch(() => undefined) : undefined;
    try {
      for (let job = jobs[next++]; job; job = jobs[next++]) {
        o.signal?.throwIfAborted();
        const r = results.get(job.e)!;
        const got = await verifyChunk(w, o.dir, job.e.table, job.ch, s);
        r.targetRows += got.rows;
        r.findings[job.e.chunks.indexOf(job.ch)] = got.findings;
      }
    } finally {
      await w.end();
      await s?.end();
    }
  }));
  entries.push(...m.tables.map((e): ReportEntry => {
    const r = results.get(e)!;
    const findings = r.findings.flat();
    return { subject: `table ${e.table.schema}.${e.table.name}`, ok: findings.length === 0, counts: { rows: e.rows, targetRows: r.targetRows, chunks: e.chunks.length }, findings: findings.slice(0, MAX_FINDINGS) };
  }));
  const f = await connectPg(o.target, { applicationName: 'ferry verify' });
  try {
    entries.push(await verifySequences(f, m.sequences));
    if (m.largeObjects.length) entries.push(await verifyLargeObjects(f, m.largeObjects));
    const have = new Set((await f.query<{ rolname: string }>('SELECT rolname FROM pg_roles')).rows.map((r) => r.rolname));
    const missing = m.roles.names.filter((r) => !have.has(r));
    entries.push({ subject: 'roles', ok: missing.length === 0, counts: { roles: m.roles.names.length }, findings: missing.map((r) => `role ${r} is missing on the target`) });
  } finally {
    await f.end();
  }
  return { ok: entries.every((e) => e.ok), entries, seconds: (performance.now() - started) / 1000 };
}

/** One chunk: its digest on the target against the export's (and the source's, when at hand); a difference narrowed to rows. */
async function verifyChunk(c: pg.Client, dir: string, t: TableInfo, ch: ChunkEntry, source?: pg.Client): Promise<{ rows: number; findings: string[] }> {
  const got = await rangeDigest(c, t, ch);
  if (got.rows === ch.rows && got.sum === ch.checksum) return { rows: got.rows, findings: [] };
  const findings: string[] = [];
  if (source) {
    const want = await rangeDigest(source, t, ch);
    if (got.rows === want.rows && got.sum === want.sum) return { rows: got.rows, findings: [] };
    findings.push(`${describeRange(t, ch)}: ${got.rows} rows on the target, ${want.rows} on the source; checksums differ`);
  } else {
    findings.push(`${describeRange(t, ch)}: ${got.rows} rows on the target, ${ch.rows} exported; checksums differ`);
  }
  // Narrowed to the rows (against the export's copy of the range): the damaged key is named either way.
  if (t.key.length) findings.push(...(await differingRows(c, dir, t, ch)));
  return { rows: got.rows, findings };
}

/** The chunk's rows as exported (its file in a temporary table) joined with the target's on the key. */
async function differingRows(c: pg.Client, dir: string, t: TableInfo, ch: ChunkEntry): Promise<string[]> {
  const cols = storedColumns(t).map((x) => qi(x.name)).join(', ');
  const expect = 'ferry_verify_expected';
  await c.query(`DROP TABLE IF EXISTS pg_temp.${expect}; CREATE TEMP TABLE ${expect} AS SELECT ${cols} FROM ONLY ${qn(t.schema, t.name)} WITH NO DATA`);
  try {
    await copyInFromFile(c, `COPY pg_temp.${expect} (${cols}) FROM STDIN${copyFormat(t)}`, join(dir, ch.file));
    const keyText = t.key.map((k) => `${qi(k)}::text`).join(` || ', ' || `);
    const side = (from: string, where: string) => `SELECT ${keyText} AS k, ROW(${keyOrder(t)}) AS o, ${rowHashExpr(t)} AS h FROM ${from} WHERE ${where}`;
    const r = await c.query<{ k: string; state: string }>(`
      SELECT coalesce(e.k, g.k) AS k, CASE WHEN e.k IS NULL THEN 'only on target' WHEN g.k IS NULL THEN 'missing on target' ELSE 'changed' END AS state
      FROM (${side(`pg_temp.${expect}`, 'true')}) e FULL JOIN (${side(`ONLY ${qn(t.schema, t.name)}`, rangeWhere(t, ch))}) g ON e.o = g.o
      WHERE e.h IS DISTINCT FROM g.h ORDER BY coalesce(e.o, g.o) LIMIT 1000`);
    if (r.rows.length === 0) return [];
    const keyName = t.key.length === 1 ? t.key[0]! : `(${t.key.join(', ')})`;
    const first = r.rows[0]!.k;
    const last = r.rows.at(-1)!.k;
    return [
      `${r.rows.length}${r.rows.length === 1000 ? '+' : ''} rows differ, keys ${keyName} from ${first} to ${last}`,
      ...r.rows.slice(0, 5).map((x) => `${keyName} = ${x.k}: ${x.state}`),
    ];
  } finally {
    await c.query(`DROP TABLE IF EXISTS pg_temp.${expect}`);
  }
}

async function verifySequences(c: pg.Client, seqs: ReadonlyArray<{ schema: string; name: string; lastValue: string; isCalled: boolean }>): Promise<ReportEntry> {
  const findings: string[] = [];
  for (const s of seqs) {
    const r = await c.query<{ v: string; called: boolean }>(`SELECT last_value::text AS v, is_called AS called FROM ${qn(s.schema, s.name)}`).catch(() => undefined);
    const got = r?.rows[0];
    // The target may have moved on (the app wrote): behind the export is the failure.
    if (!got) findings.push(`sequence ${s.schema}.${s.name} is missing on the target`);
    else if (BigInt(got.v) < BigInt(s.lastValue) || (BigInt(got.v) === BigInt(s.lastValue) && s.isCalled && !got.called)) {
      findings.push(`sequence ${s.schema}.${s.name} is at ${got.v}, the export had ${s.lastValue}`);
    }
  }
  return { subject: 'sequences', ok: findings.length === 0, counts: { sequences: seqs.length }, findings: findings.slice(0, MAX_FINDINGS) };
}

async function verifyLargeObjects(c: pg.Client, los: ReadonlyArray<{ oid: number; sha256: string }>): Promise<ReportEntry> {
  const r = await c.query<{ oid: string; h: string }>('SELECT oid::int8::text AS oid, encode(sha256(lo_get(oid)), \'hex\') AS h FROM pg_largeobject_metadata');
  const have = new Map(r.rows.map((x) => [Number(x.oid), x.h]));
  const findings = los.filter((l) => have.get(l.oid) !== l.sha256).map((l) => `large object ${l.oid} ${have.has(l.oid) ? 'differs' : 'is missing'} on the target`);
  return { subject: 'large objects', ok: findings.length === 0, counts: { objects: los.length }, findings: findings.slice(0, MAX_FINDINGS) };
}
