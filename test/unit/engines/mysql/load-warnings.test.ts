import { describe, expect, it } from 'vitest';
import { dataLoadSqlMode, formatWarningGroup, groupWarnings, parseWarning, type LoadWarning } from '../../../../lib/engines/mysql/load-warnings.ts';

describe('load warnings', () => {
  it('loads in the source\'s sql_mode without strictness, zero-date checks or modes one flavor lacks', () => {
    expect(dataLoadSqlMode('STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'))
      .toBe('NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO');
    expect(dataLoadSqlMode('')).toBe('NO_AUTO_VALUE_ON_ZERO');
    expect(dataLoadSqlMode('PAD_CHAR_TO_FULL_LENGTH,NO_AUTO_CREATE_USER,TIME_TRUNCATE_FRACTIONAL,ANSI_QUOTES,NO_AUTO_VALUE_ON_ZERO'))
      .toBe('PAD_CHAR_TO_FULL_LENGTH,ANSI_QUOTES,NO_AUTO_VALUE_ON_ZERO');
  });

  it('reads column and row from MySQL 8 and MariaDB messages', () => {
    expect(parseWarning("Data truncated for column 'e' at row 7")).toEqual({ column: 'e', row: 7 });
    expect(parseWarning("Incorrect datetime value: '2020-13-01' for column `db`.`t`.`d``x` at row 12")).toEqual({ column: 'd`x', row: 12 });
    expect(parseWarning("Incorrect string value: '\\xFF' for column 's' at row 1")).toEqual({ column: 's', row: 1 });
    expect(parseWarning('Row 3 was truncated; it contained more data than there were input columns')).toEqual({ column: null, row: 3 });
    expect(parseWarning('Something else')).toEqual({ column: null, row: 0 });
  });

  it('lists each warning once per table, column and code, with its first keys', () => {
    const w = (key: string, column = 'e', code = 1265): LoadWarning => ({ table: 'db.t', column, key, level: 'Warning', code, message: `Data truncated for column '${column}' at row 1` });
    const groups = groupWarnings([w('id 1'), w('id 2'), w('id 2'), w('id 9', 'n', 1264), ...Array.from({ length: 10 }, (_, i) => w(`id ${10 + i}`))]);
    expect(groups.map((g) => [g.column, g.code, g.count, g.keys.length])).toEqual([['e', 1265, 13, 5], ['n', 1264, 1, 1]]);
    expect(formatWarningGroup(groups[1]!)).toMatch(/^db\.t\.n: Warning 1264 ×1 \(.*\); keys id 9 — the target holds the source's value/);
  });
});
