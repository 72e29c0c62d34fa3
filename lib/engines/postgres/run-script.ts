/** Running pg_dump's scripts on the target: all or nothing, "already there" accepted only on a resumed import. */
import type pg from 'pg';
import { FerryError } from '../../core/errors.ts';
import { oneLine } from './connect.ts';

/**
 * A whole script in one simple query: one implicit transaction, all or nothing. `resumed`: a run killed
 * between its commit and the log line left it applied, so "already exists" means done (the database is
 * the one this import created: nothing else put objects there); any other error is fatal.
 */
export async function runScript(c: pg.Client, sql: string, what: string, resumed: boolean): Promise<void> {
  try {
    await c.query(sql);
  } catch (e) {
    if (resumed && alreadyThere(e)) return;
    throw new FerryError('E_PG_SCHEMA', `The ${what} schema failed on the target: ${oneLine(e)}`, {
      hint: 'read the server message (a missing extension or role is named there); nothing of this script was applied', cause: e,
    });
  }
}

/**
 * 42P07 relation, 42710 object, 42P06 schema, 42723 function (also aggregates, procedures, operators: the
 * first object of an app without schemas or types of its own) already exists; 42P16 "multiple primary
 * keys" (a primary key added twice).
 */
export function alreadyThere(e: unknown): boolean {
  const x = e as { code?: string; message?: string };
  return x.code === '42P07' || x.code === '42710' || x.code === '42P06' || x.code === '42723' || (x.code === '42P16' && /multiple primary keys/.test(x.message ?? ''));
}
