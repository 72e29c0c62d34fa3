/** Facts about a server that decide how data is read and replayed (recorded in the manifest). */
import type { Pool, PoolConnection } from 'mysql2/promise';
import { str } from './catalog.ts';
import type { ServerFacts } from './manifest.ts';

export async function readServerFacts(db: Pool | PoolConnection): Promise<ServerFacts> {
  const [rows] = await db.query(`SELECT VERSION() AS v, @@GLOBAL.sql_mode AS m, @@character_set_server AS cs, @@collation_server AS co,
    @@lower_case_table_names AS l, @@GLOBAL.local_infile AS li`);
  const r = (rows as Array<Record<string, unknown>>)[0]!;
  const version = str(r.v);
  return {
    version, flavor: /mariadb/i.test(version) ? 'mariadb' : 'mysql', sqlMode: str(r.m),
    characterSetServer: str(r.cs), collationServer: str(r.co), lowerCaseTableNames: Number(str(r.l)), localInfile: str(r.li) === '1',
  };
}

const CHECKS = /^(NO_ZERO_DATE|NO_ZERO_IN_DATE|TRADITIONAL)$/;

/**
 * The sql_mode for loading data: the source's own modes (strictness included, so a value that does not fit
 * fails loudly), minus the zero-date checks that would refuse values the source already holds, plus NO_AUTO_VALUE_ON_ZERO so an id 0
 * stays 0, as mysqldump does.
 */
export function loadSqlMode(sourceMode: string): string {
  const modes = sourceMode.split(',').map((s) => s.trim()).filter((s) => s && !CHECKS.test(s));
  return [...new Set([...modes, 'NO_AUTO_VALUE_ON_ZERO'])].join(',');
}
