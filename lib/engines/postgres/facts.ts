/**
 * Read-only preflight facts: the source's server, database and what the export account may read; the
 * target's server (its template locale, available extensions, whether the database is there); free disk
 * where the artifact goes. Judged by assess.ts.
 */
import type pg from 'pg';
import { connectPg, hasDatabase, withDatabase, type PgTarget } from './connect.ts';
import { readServerFacts, type ServerFacts } from './server.ts';

export interface PostgresSourceFacts {
  readonly endpoint: string;
  readonly user: string;
  readonly database: string;
  readonly server: ServerFacts;
  /** Relations the account cannot SELECT (`public.orders`). */
  readonly unreadable: readonly string[];
  /**
   * Large objects the account may not read (pg_read_all_data does not cover them), by oid; absent from
   * facts gathered before this was read.
   */
  readonly unreadableLargeObjects?: readonly number[];
  /** Tables the export carries without a primary key (one chunk, compared whole). */
  readonly keyless: readonly string[];
}

export interface PostgresTargetFacts {
  readonly endpoint: string;
  readonly versionNum: number;
  readonly major: number;
  readonly encoding: string;
  readonly collate: string;
  readonly localeProvider: string;
  readonly availableExtensions: readonly string[];
  readonly databaseExists: boolean;
  readonly superuser: boolean;
}

export interface PostgresFacts {
  readonly source: PostgresSourceFacts;
  readonly target: PostgresTargetFacts | undefined;
  readonly disk: { readonly dir: string; readonly freeBytes: number };
  /** The pg_dump the export will use (`/usr/bin/pg_dump (15)`), or why there is none (and what to do). */
  readonly pgDump?: { readonly label: string } | { readonly refused: string; readonly hint: string };
}

async function withClient<T>(t: PgTarget, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = await connectPg(t, { applicationName: 'ferry preflight' });
  try { return await fn(c); } finally { await c.end(); }
}

export async function gatherSourceFacts(t: PgTarget): Promise<PostgresSourceFacts> {
  return withClient(t, async (c) => {
    const server = await readServerFacts(c);
    const rel = await c.query<{ name: string; readable: boolean; keyed: boolean; kind: string }>(`
      SELECT n.nspname || '.' || c.relname AS name, has_table_privilege(c.oid, 'SELECT') AS readable, c.relkind::text AS kind,
        EXISTS (SELECT FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS keyed
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'S', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'
      ORDER BY 1`);
    return {
      endpoint: `${t.host}:${t.port}`, user: t.user, database: t.database, server,
      unreadable: rel.rows.filter((r) => !r.readable).map((r) => r.name),
      unreadableLargeObjects: await unreadableLargeObjects(c, server.versionNum),
      keyless: rel.rows.filter((r) => r.kind === 'r' && !r.keyed).map((r) => r.name),
    };
  });
}

/**
 * Large objects the session's account may not SELECT (lo_get would refuse: 42501). PostgreSQL ≥ 17 has
 * has_largeobject_privilege; before, the server's own rule from the catalog: a superuser or
 * lo_compat_privileges reads all; a NULL lomacl (the default) lets the owner (and roles with its
 * privileges: pg_has_role USAGE) read; else a SELECT entry for PUBLIC or a role whose privileges the
 * account has.
 */
export async function unreadableLargeObjects(c: pg.Client, versionNum: number): Promise<number[]> {
  const readable = versionNum >= 170000 ? "has_largeobject_privilege(m.oid, 'SELECT')" : `CASE WHEN m.lomacl IS NULL THEN pg_has_role(m.lomowner, 'USAGE')
      ELSE EXISTS (SELECT FROM aclexplode(m.lomacl) a WHERE a.privilege_type = 'SELECT' AND (a.grantee = 0 OR pg_has_role(a.grantee, 'USAGE'))) END`;
  const r = await c.query<{ oid: string }>(`
    SELECT m.oid::int8::text AS oid FROM pg_largeobject_metadata m
    WHERE NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AND NOT current_setting('lo_compat_privileges')::bool AND NOT (${readable})
    ORDER BY m.oid`);
  return r.rows.map((x) => Number(x.oid));
}

export async function gatherTargetFacts(t: PgTarget): Promise<PostgresTargetFacts> {
  return withClient(withDatabase(t, 'postgres'), async (c) => {
    const s = await readServerFacts(c);
    const ext = await c.query<{ name: string }>('SELECT name FROM pg_available_extensions ORDER BY 1');
    return {
      endpoint: `${t.host}:${t.port}`, versionNum: s.versionNum, major: s.major, encoding: s.encoding, collate: s.collate,
      localeProvider: s.localeProvider, availableExtensions: ext.rows.map((r) => r.name), databaseExists: await hasDatabase(c, t.database), superuser: s.superuser,
    };
  });
}

