/**
 * A cheap fingerprint of the source database: the schema facts plus every table's write counters
 * (n_tup_ins/upd/del, truncates show as a new relfilenode) and every sequence's position. It changes when
 * the app writes; it can also change when statistics are reset (a re-export, never a wrong resume).
 * PostgreSQL flushes the counters at most a second after a commit.
 */
import { createHash } from 'node:crypto';
import { connectPg, type PgTarget } from './connect.ts';
import { describeSchema } from './describe.ts';
import { readSequences } from './catalog.ts';

export async function sourceFingerprint(t: PgTarget): Promise<string> {
  const c = await connectPg(t, { applicationName: 'ferry fingerprint' });
  try {
    await c.query('SELECT pg_stat_clear_snapshot()');
    const facts = await describeSchema(c);
    const stats = await c.query<{ s: string | null }>(`
      SELECT string_agg(s.relid::text || ':' || c.relfilenode || ':' || (s.n_tup_ins + s.n_tup_upd + s.n_tup_del), ',' ORDER BY s.relid) AS s
      FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid`);
    const seqs = await readSequences(c);
    return createHash('sha256').update(JSON.stringify([facts, stats.rows[0]?.s ?? '', seqs])).digest('hex').slice(0, 32);
  } finally {
    await c.end();
  }
}
