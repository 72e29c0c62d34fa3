import { describe, expect, it } from 'vitest';
import { keyLiteral, rangeWhere, rowChecksumExpr } from '../../../../lib/engines/mysql/checksum.ts';
import { loadSqlMode } from '../../../../lib/engines/mysql/server.ts';
import type { ColumnInfo, TableInfo } from '../../../../lib/engines/mysql/catalog.ts';

const col = (name: string, dataType: string, extra: Partial<ColumnInfo> = {}): ColumnInfo => ({
  name, dataType, columnType: dataType, generated: false, text: /char|text/.test(dataType), codec: dataType === 'bit' ? 'bit' : 'raw',
  nullable: dataType === 'float', charset: /char|text/.test(dataType) ? 'utf8mb4' : null, collation: /char|text/.test(dataType) ? 'utf8mb4_unicode_ci' : null, ...extra,
});
const hex = (s: string) => Buffer.from(s).toString('hex');
const sessions: TableInfo = {
  database: 'db', name: 'user_sessions', primaryKey: ['user_id', 'session_id'], approxBytes: 0, avgRowBytes: 0,
  columns: [col('user_id', 'int'), col('session_id', 'char'), col('flags', 'bit'), col('n', 'float'), col('g', 'int', { generated: true })],
};

describe('key ranges and the row checksum', () => {
  it('spells a composite range out so both optimizers use the index', () => {
    expect(rangeWhere(sessions, { lo: [hex('3'), hex('ab')], hi: null }))
      .toBe("((`user_id` > 3) OR (`user_id` = 3 AND `session_id` > _utf8mb4 X'6162' COLLATE utf8mb4_unicode_ci))");
    expect(rangeWhere(sessions, { lo: null, hi: null })).toBe('1');
  });

  it('refuses a numeric key that is not a number (no SQL can be smuggled through a bound)', () => {
    expect(() => keyLiteral(col('id', 'bigint'), hex('1 OR 1=1'))).toThrow(TypeError);
    expect(keyLiteral(col('id', 'bigint'), hex('18446744073709551615'))).toBe('18446744073709551615');
    expect(keyLiteral(col('b', 'varbinary'), 'ff00')).toBe("X'ff00'");
  });

  it('checksums stored columns, BIT as a number, FLOAT widened, with a null map of the nullable ones', () => {
    expect(rowChecksumExpr(sessions)).toBe("CRC32(CONCAT_WS('|', `user_id`, `session_id`, `flags`+0, (`n`+0e0), CONCAT(ISNULL(`n`))))");
  });

  it('compares character columns as bytes when the table mixes collations', () => {
    const mixed: TableInfo = { ...sessions, columns: [...sessions.columns, col('code', 'varchar', { collation: 'utf8mb4_bin' })] };
    expect(rowChecksumExpr(mixed)).toBe("CRC32(CONCAT_WS('|', `user_id`, CAST(`session_id` AS BINARY), `flags`+0, (`n`+0e0), CAST(`code` AS BINARY), CONCAT(ISNULL(`n`))))");
  });

  it('loads under the source sql_mode minus the zero-date checks', () => {
    expect(loadSqlMode('STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'))
      .toBe('STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO');
  });
});

describe('deferred keys', async () => {
  const { splitDeferred } = await import('../../../../lib/engines/mysql/deferred-keys.ts');
  const ddl = ['CREATE TABLE IF NOT EXISTS `posts` (', '  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,', '  `user_id` int(10) unsigned NOT NULL,',
    '  `url` varchar(10) NOT NULL,', '  PRIMARY KEY (`id`),', '  UNIQUE KEY `uq_url` (`url`),', '  KEY `idx_posts_user` (`user_id`),',
    '  CONSTRAINT `fk_posts_user` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`),', '  CONSTRAINT `chk` CHECK (`id` > 0)',
    ') ENGINE=InnoDB AUTO_INCREMENT=7 DEFAULT CHARSET=utf8mb4'].join('\n');
  it('moves plain KEYs and FOREIGN KEYs after the data, keeping PRIMARY, UNIQUE and CHECK', () => {
    const r = splitDeferred(ddl);
    expect(r.create).toBe(['CREATE TABLE IF NOT EXISTS `posts` (', '  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,', '  `user_id` int(10) unsigned NOT NULL,',
      '  `url` varchar(10) NOT NULL,', '  PRIMARY KEY (`id`),', '  UNIQUE KEY `uq_url` (`url`),', '  CONSTRAINT `chk` CHECK (`id` > 0)',
      ') ENGINE=InnoDB AUTO_INCREMENT=7 DEFAULT CHARSET=utf8mb4'].join('\n'));
    expect(r.deferred).toEqual([
      { kind: 'index', name: 'idx_posts_user', clause: 'ADD KEY `idx_posts_user` (`user_id`)' },
      { kind: 'foreign key', name: 'fk_posts_user', clause: 'ADD CONSTRAINT `fk_posts_user` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`)' },
    ]);
  });
  it('with foreign keys only deferred, keeps the plain KEYs in the CREATE; with none, changes nothing', () => {
    const r = splitDeferred(ddl, 'foreign keys');
    expect(r.create).toBe(ddl.replace('  KEY `idx_posts_user` (`user_id`),\n  CONSTRAINT `fk_posts_user` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`),\n', '  KEY `idx_posts_user` (`user_id`),\n'));
    expect(r.deferred).toEqual([{ kind: 'foreign key', name: 'fk_posts_user', clause: 'ADD CONSTRAINT `fk_posts_user` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`)' }]);
    expect(splitDeferred(ddl, 'none')).toEqual({ create: ddl, deferred: [] });
  });
});
