/**
 * A cheap fingerprint of the source database: the schema facts plus every table's write counters
 * (n_tup_ins/upd/del, truncates show as a new relfilenode) and every sequence's position. It changes when
 * the app writes; it can also change when statistics are reset (a re-export, never a wrong resume).
 * PostgreSQL flushes the counters at most a second after a commit.
 * An account that may not read a sequence (its position is part of the fingerprint and of the export) is
 * E_PG_PRIVILEGE naming the sequences with the GRANT for them, before any is read; any other missing
 * privilege gets the export's GRANT.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { FerryError } from '../../core/errors.ts';
import { connectPg, isPrivilegeError, privilegeError, qi, qn, type PgTarget } from './connect.ts';
import { describeSchema } from './describe.ts';
import { readSequences } from './catalog.ts';
import { EXPORT_GRANT } from './export.ts';

export async function sourceFingerprint(t: PgTarget): Promise<string> {
  const c = await connectPg(t, { applicationName: 'ferry fingerprint' });
  try {
    await assertSequencesReadable(c, t);
    await c.query('SELECT pg_stat_clear_snapshot()');
    const facts = await describeSchema(c);
    const stats = await c.query<{ s: string | null }>(`
      SELECT string_agg(s.relid::text || ':' || c.relfilenode || ':' || (s.n_tup_ins + s.n_tup_upd + s.n_tup_del), ',' ORDER BY s.relid) AS s
      FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid`);
    const seqs = await readSequences(c);
    return createHash('sha256').update(JSON.stringify([facts, stats.rows[0]?.s ?? '', seqs])).digest('hex').slice(0, 32);
  } catch (e) {
    if (isPrivilegeError(e)) throw privilegeError(e, t, `reading the source's state of ${t.database}`, EXPORT_GRANT);
    throw e;
  } finally {
    await c.end();
  }
}

/** The sequences readSequences reads (not an extension's) that the account may not SELECT: refused, each named, with its GRANT. */
async function assertSequencesReadable(c: pg.Client, t: PgTarget): Promise<void> {
  const r = await c.query<{ schema: string; name: string }>(`
    SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'S' AND NOT has_table_privilege(c.oid, 'SELECT')
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
    ORDER BY 1, 2`);
  if (!r.rows.length) return;
  const names = r.rows.map((s) => `${s.schema}.${s.name}`);
  throw new FerryError('E_PG_PRIVILEGE', `${t.user} may not read ${names.length} sequence(s) on ${t.host}:${t.port}/${t.database} (their values are part of the export): ${names.slice(0, 10).join(', ')}${names.length > 10 ? ', …' : ''}`, {
    hint: `as a superuser run: GRANT SELECT ON SEQUENCE ${r.rows.map((s) => qn(s.schema, s.name)).join(', ')} TO ${qi(t.user)};`,
  });
}
