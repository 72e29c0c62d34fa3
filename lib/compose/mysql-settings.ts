/** The server settings the migration matches or changes, read over a short-lived connection. */
import type { RowDataPacket } from 'mysql2/promise';
import { FerryError } from '../core/errors.ts';
import type { MysqlEndpoint } from '../engines/mysql/endpoint.ts';
import { withMysql } from '../engines/mysql/connect.ts';

export interface MysqlServerSettings {
  readonly lowerCaseTableNames: number;
  readonly characterSet: string;
  readonly collation: string;
  readonly localInfile: boolean;
  readonly version: string;
}

export async function readMysqlSettings(endpoint: MysqlEndpoint): Promise<MysqlServerSettings> {
  try {
    // Through the MySQL engine's one connect (its connect errors already name host:port and user).
    return await withMysql(endpoint, async (conn) => {
      const [rows] = await conn.query<RowDataPacket[]>(
        'SELECT @@lower_case_table_names AS lc, @@character_set_server AS cs, @@collation_server AS co, @@local_infile AS li, VERSION() AS v');
      const r = rows[0]!;
      return { lowerCaseTableNames: Number(r.lc), characterSet: String(r.cs), collation: String(r.co), localInfile: Number(r.li) === 1, version: String(r.v) };
    });
  } catch (e) {
    if (e instanceof FerryError) throw e;
    throw new FerryError('E_MYSQL_SETTINGS', `cannot read server settings from ${endpoint.user}@${endpoint.host}:${endpoint.port}: ${(e as Error).message.split('\n')[0]}`, {
      hint: 'check that the server is up and the credentials are right', cause: e,
    });
  }
}
