/**
 * One consistent snapshot shared by parallel workers: a leader opens a REPEATABLE READ, READ ONLY
 * transaction and exports its snapshot (`pg_export_snapshot()`); each worker (and pg_dump, through
 * `--snapshot`) adopts it with `SET TRANSACTION SNAPSHOT`, so every table, chunk checksum and the schema
 * are read as of the same instant. The leader's transaction stays open until `close()`.
 */
import type pg from 'pg';
import { connectPg, type PgTarget } from './connect.ts';

export interface Snapshot {
  readonly id: string;
  readonly leader: pg.Client;
  readonly workers: readonly pg.Client[];
  close(): Promise<void>;
}

/** `exported`: a snapshot exported elsewhere (a replication slot's) that the leader adopts instead of exporting its own. */
export async function openSnapshot(t: PgTarget, workers: number, exported?: string): Promise<Snapshot> {
  const leader = await connectPg(t, { applicationName: 'ferry export' });
  const opened: pg.Client[] = [];
  const close = async () => {
    await Promise.all([leader, ...opened].map(async (c) => { await c.query('ROLLBACK').catch(() => undefined); await c.end().catch(() => undefined); }));
  };
  try {
    await leader.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    if (exported) await leader.query(`SET TRANSACTION SNAPSHOT '${exported.replace(/'/g, "''")}'`);
    const id = exported ?? (await leader.query<{ id: string }>('SELECT pg_export_snapshot() AS id')).rows[0]!.id;
    // The workers connect at once (each connection is a round trip or two and an authentication).
    const joined = await Promise.allSettled(Array.from({ length: workers }, async () => {
      const w = await connectPg(t, { applicationName: 'ferry export' });
      opened.push(w);
      await w.query(`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '${id.replace(/'/g, "''")}'`);
      return w;
    }));
    const failed = joined.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return { id, leader, workers: joined.map((r) => (r as PromiseFulfilledResult<pg.Client>).value), close };
  } catch (e) {
    await close();
    throw e;
  }
}
