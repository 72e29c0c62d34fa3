/** A Redis verify as report entries: one per database, one for what no database claims, one for the app's checks. */
import type { ReportEntry } from '../../core/engine.ts';
import type { RedisVerifyReport } from './verify.ts';
import type { AppCheckReport } from './app-checks.ts';

/** Per-db entries from the key-by-key verify, and one for the app's own checks (sessions, RQ). */
export function verifyEntries(keys: RedisVerifyReport, app: AppCheckReport, redact: (s: string) => string): ReportEntry[] {
  const entries: ReportEntry[] = [];
  const dbs = Object.keys(keys.dbs).map(Number).sort((a, b) => a - b);
  for (const db of dbs) {
    const d = keys.dbs[db]!;
    const mine = keys.findings.filter((f) => f.startsWith(`db ${db} `) || f.startsWith(`db ${db}:`)).map(redact);
    entries.push({
      subject: `db ${db}`, ok: mine.length === 0,
      counts: { keys: d.compared, sourceKeys: d.sourceKeys, targetKeys: d.targetKeys, expiredDuringWindow: d.expiredDuringWindow },
      ...(mine.length ? { findings: mine } : {}),
    });
  }
  const rest = keys.findings.filter((f) => !/^db \d+[ :]/.test(f)).map(redact);
  if (rest.length) entries.push({ subject: 'keys', ok: false, findings: rest });
  const counts: Record<string, number> = {};
  for (const [name, c] of Object.entries(app.categories)) { counts[name] = c.target; counts[`${name}Source`] = c.source; counts[`${name}Differing`] = c.differing; }
  entries.push({ subject: 'app (sessions, queues)', ok: app.ok, counts, ...(app.findings.length ? { findings: app.findings.map(redact) } : {}) });
  return entries;
}
