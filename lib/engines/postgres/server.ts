/** Server and database facts: what the manifest records and preflight compares. */
import type pg from 'pg';

export interface ServerFacts {
  readonly version: string;
  /** server_version_num (150018). */
  readonly versionNum: number;
  readonly major: number;
  readonly encoding: string;
  readonly collate: string;
  readonly ctype: string;
  /** 'libc' | 'icu' | 'builtin' (before 15 always libc). */
  readonly localeProvider: string;
  readonly icuLocale: string | null;
  /** collversion of the database (glibc/ICU version its indexes were built with), when known. */
  readonly collationVersion: string | null;
  readonly extensions: ReadonlyArray<{ readonly name: string; readonly version: string }>;
  readonly superuser: boolean;
  readonly databaseBytes: number;
}

export async function readServerFacts(c: pg.Client): Promise<ServerFacts> {
  const v = await c.query<{ num: string; version: string; su: boolean }>(
    "SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS version, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS su");
  const num = Number(v.rows[0]!.num);
  const provider = num >= 150000 ? "CASE d.datlocprovider WHEN 'i' THEN 'icu' WHEN 'b' THEN 'builtin' ELSE 'libc' END" : "'libc'";
  const icu = num >= 170000 ? 'd.datlocale' : num >= 150000 ? 'd.daticulocale' : 'NULL::text';
  const collver = num >= 150000 ? 'd.datcollversion' : 'NULL::text';
  const d = await c.query<{ enc: string; collate: string; ctype: string; provider: string; icu: string | null; collver: string | null; bytes: string }>(`
    SELECT pg_encoding_to_char(d.encoding) AS enc, d.datcollate AS collate, d.datctype AS ctype, ${provider} AS provider,
      ${icu} AS icu, ${collver} AS collver, pg_database_size(d.oid)::text AS bytes
    FROM pg_database d WHERE d.datname = current_database()`);
  const e = await c.query<{ name: string; version: string }>('SELECT extname AS name, extversion AS version FROM pg_extension ORDER BY 1');
  const x = d.rows[0]!;
  return {
    version: v.rows[0]!.version, versionNum: num, major: Math.floor(num / 10000), encoding: x.enc, collate: x.collate, ctype: x.ctype,
    localeProvider: x.provider, icuLocale: x.icu, collationVersion: x.collver, extensions: e.rows, superuser: v.rows[0]!.su, databaseBytes: Number(x.bytes),
  };
}
