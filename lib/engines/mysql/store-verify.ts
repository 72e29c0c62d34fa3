/**
 * A MySQL store's verify: the target against the export (schema, accounts and DEFINERs, row counts,
 * every chunk's checksum, AUTO_INCREMENT), mismatches bisected down to rows on the source when it can
 * be reached (verifyMysql carries on without it); one report entry per table.
 */
import type { ReportEntry, VerifyReport } from '../../core/engine.ts';
import { verifyMysql } from './verify.ts';
import { readManifest } from './manifest.ts';
import { sourceOf, targetOf, type MysqlParams } from './store.ts';

/** One report entry per table, and one for the schema when it differs. */
export function verifyEntries(r: Awaited<ReturnType<typeof verifyMysql>>, redact: (s: string) => string): ReportEntry[] {
  const entries: ReportEntry[] = r.schema.length ? [{ subject: 'schema', ok: false, findings: r.schema.map(redact) }] : [];
  if (r.accounts.length) entries.push({ subject: 'accounts and object DEFINERs', ok: false, findings: r.accounts.map(redact) });
  for (const t of r.tables) {
    const mine = r.findings.filter((f) => f.startsWith(`${t.table}:`)).map(redact);
    entries.push({
      subject: `table ${t.table}`, ok: t.ok,
      counts: { rows: t.actualRows, expectedRows: t.expectedRows, chunks: t.chunks, mismatchedChunks: t.mismatchedChunks },
      ...(mine.length ? { findings: mine } : {}),
    });
  }
  return entries;
}

export async function verifyStore(p: MysqlParams): Promise<VerifyReport> {
  const m = await readManifest(p.artifactDir);
  const t = targetOf(p, m.schemas.map((s) => s.database));
  // The source (when it can be reached: not after it is gone) speeds verify up and bisects a mismatch down to rows.
  const source = await sourceOf(p).catch(() => undefined);
  const r = await verifyMysql({
    target: t, dir: p.artifactDir, parallelism: p.store.options.parallelism, progress: p.progress, signal: p.signal, ...(source ? { source } : {}),
  });
  return { ok: r.ok, entries: verifyEntries(r, (s) => p.redactor.redact(s)), seconds: r.seconds };
}
