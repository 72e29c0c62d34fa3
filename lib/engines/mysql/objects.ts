/**
 * Replaying the schema objects that follow the data: functions and procedures, views (in dependency
 * order, found by retrying), triggers (after the data, so loading never fires them), events. Each is
 * dropped and created again under the sql_mode it was defined with, so replaying twice changes nothing.
 */
import type { PoolConnection } from 'mysql2/promise';
import { FerryError } from '../../core/errors.ts';
import { oneLine, q } from './connect.ts';
import type { Manifest } from './manifest.ts';
import type { SchemaObject } from './schema-export.ts';
import { loadSqlMode } from './server.ts';

const ORDER: ReadonlyArray<SchemaObject['kind']> = ['function', 'procedure', 'view', 'trigger', 'event'];

export async function createObjects(c: PoolConnection, m: Manifest): Promise<void> {
  const [mode] = await c.query('SELECT @@SESSION.sql_mode AS m');
  const sessionMode = String((mode as Array<{ m: string }>)[0]?.m ?? '');
  try {
    for (const s of m.schemas) {
      await c.query(`USE ${q(s.database)}`);
      let pending = ORDER.flatMap((k) => s.objects.filter((o) => o.kind === k));
      // Views may select from views created later: retry until a pass makes no progress.
      while (pending.length) {
        const failed: Array<{ o: SchemaObject; e: unknown }> = [];
        for (const o of pending) {
          try { await replay(c, o, m); } catch (e) { failed.push({ o, e }); }
        }
        if (failed.length === pending.length) {
          const { o, e } = failed[0]!;
          throw new FerryError('E_MYSQL_OBJECT', `Cannot create ${o.kind} ${s.database}.${o.name} on the target: ${oneLine(e)}`, {
            hint: 'the target lacks something it needs (an account, a privilege or a dependency): fix it and run again', cause: e, detail: o.ddl.slice(0, 2000),
          });
        }
        pending = failed.map((f) => f.o);
      }
    }
  } finally {
    await c.query('SET SESSION sql_mode = ?', [sessionMode]);
  }
}

async function replay(c: PoolConnection, o: SchemaObject, m: Manifest): Promise<void> {
  await c.query('SET SESSION sql_mode = ?', [o.sqlMode ?? loadSqlMode(m.server.sqlMode)]);
  await c.query(`DROP ${o.kind.toUpperCase()} IF EXISTS ${q(o.name)}`);
  if (o.invoker) { await c.query(o.ddl); await c.query(`ALTER ${o.kind.toUpperCase()} ${q(o.name)} SQL SECURITY INVOKER`); return; }
  if (!o.timeZone) { await c.query(o.ddl); return; }
  // An event's schedule is read in the time zone it was written in (SYSTEM means the server's).
  await c.query('SET SESSION time_zone = ?', [o.timeZone === 'SYSTEM' ? 'SYSTEM' : o.timeZone]);
  try { await c.query(o.ddl); } finally { await c.query("SET SESSION time_zone = '+00:00'"); }
}
