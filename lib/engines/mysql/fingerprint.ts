/**
 * A cheap "has the source changed?" value: the binlog position and GTID set when binary logging is on,
 * else a hash of `CHECKSUM TABLE` over every base table (a second or two per million rows).
 */
import { createHash } from 'node:crypto';
import { connectMysql, q, type MysqlTarget } from './connect.ts';
import { str } from './catalog.ts';
import { readBinlog } from './snapshot.ts';

export async function sourceFingerprint(source: MysqlTarget, databases: readonly string[]): Promise<string> {
  const pool = await connectMysql(source, { connections: 1 });
  try {
    const binlog = await readBinlog(pool);
    if (binlog) return `binlog:${binlog.file}:${binlog.position}:${binlog.gtid}`;
    const [tables] = await pool.query(
      "SELECT TABLE_SCHEMA AS d, TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA IN (?) AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1, 2", [databases]);
    const names = (tables as Array<{ d: unknown; t: unknown }>).map((r) => `${q(str(r.d))}.${q(str(r.t))}`);
    const hash = createHash('sha256');
    if (names.length) {
      const [sums] = await pool.query(`CHECKSUM TABLE ${names.join(', ')} EXTENDED`);
      for (const r of sums as Array<{ Table: unknown; Checksum: unknown }>) hash.update(`${str(r.Table)}=${str(r.Checksum)}\n`);
    }
    return `checksum:${hash.digest('hex')}`;
  } finally {
    await pool.end();
  }
}
