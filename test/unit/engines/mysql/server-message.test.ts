import { describe, expect, it } from 'vitest';
import { safeReplicaError, safeServerError, safeServerText } from '../../../../lib/engines/mysql/server-message.ts';

describe('server messages without row values (server-message.ts)', () => {
  it('1062 keeps the key name, drops the value (MySQL 8 and MariaDB forms, a value holding quotes)', () => {
    expect(safeServerText(1062, "Duplicate entry 'alice@example.com' for key 'users.email'")).toBe("Duplicate entry for key 'users.email'");
    expect(safeServerText(1062, "Duplicate entry 'o'brien' for key 'email'")).toBe("Duplicate entry for key 'email'");
    expect(safeServerText(1062, "Duplicate entry 'x' for key 'email'\nmore")).toBe("Duplicate entry for key 'email'");
  });
  it('1366 / 1292 / 1300 keep type, column and row, drop the value', () => {
    expect(safeServerText(1366, "Incorrect integer value: 'secret123' for column `db`.`t`.`n` at row 4")).toBe('Incorrect integer value for column `db`.`t`.`n` at row 4');
    expect(safeServerText(1366, "Incorrect string value: '\\xF0\\x9F' for column 'c' at row 1")).toBe("Incorrect string value for column 'c' at row 1");
    expect(safeServerText(1292, "Incorrect datetime value: '0000-00-00 12:00' for column 'd' at row 2")).toBe("Incorrect datetime value for column 'd' at row 2");
    expect(safeServerText(1292, "Truncated incorrect DOUBLE value: 'token-abc'")).toBe('Truncated incorrect DOUBLE value');
    expect(safeServerText(1300, "Invalid utf8mb4 character string: 'F09F'")).toBe('Invalid utf8mb4 character string');
  });
  it('messages that hold names only are kept; an unknown form is cut before its first quote', () => {
    expect(safeServerText(1264, "Out of range value for column 'n' at row 1")).toBe("Out of range value for column 'n' at row 1");
    expect(safeServerText(4025, 'CONSTRAINT `c` failed for `db`.`t`')).toBe('CONSTRAINT `c` failed for `db`.`t`');
    const cut = safeServerText(9999, "Something about 'hunter2' here");
    expect(cut).not.toMatch(/hunter2/);
    expect(cut).toMatch(/^Something about … \(the rest withheld/);
  });
  it("a replica's Last_SQL_Error (MariaDB and MySQL 8 forms) keeps table, key name, codes and positions, not the value", () => {
    expect(safeReplicaError("Could not execute Write_rows_v1 event on table gm.users; Duplicate entry 'o'brien@example.com' for key 'email', Error_code: 1062; handler error HA_ERR_FOUND_DUPP_KEY; the event's master log mysql-bin.000001, end_log_pos 1234"))
      .toBe("Could not execute Write_rows_v1 event on table gm.users; Duplicate entry for key 'email', Error_code: 1062; handler error HA_ERR_FOUND_DUPP_KEY; the event's master log mysql-bin.000001, end_log_pos 1234");
    expect(safeReplicaError("Worker 1 failed executing transaction 'ANONYMOUS' at source log binlog.000002, end_log_pos 99; Could not execute Update_rows event on table db.t; Incorrect integer value: 'tok-123' for column 'n' at row 1, Error_code: 1366; Duplicate entry 'x' for key 't.PRIMARY', Error_code: 1062"))
      .toBe("Worker 1 failed executing transaction 'ANONYMOUS' at source log binlog.000002, end_log_pos 99; Could not execute Update_rows event on table db.t; Incorrect integer value for column 'n' at row 1, Error_code: 1366; Duplicate entry for key 't.PRIMARY', Error_code: 1062");
  });
  it('a mysql2 server error is shown with its number and code; a client error as it is', () => {
    const e = Object.assign(new Error("Duplicate entry 'bob@example.com' for key 'email'"), { errno: 1062, code: 'ER_DUP_ENTRY', sqlMessage: "Duplicate entry 'bob@example.com' for key 'email'" });
    expect(safeServerError(e)).toBe("Duplicate entry for key 'email' (server error 1062 ER_DUP_ENTRY)");
    const denied = Object.assign(new Error('x'), { errno: 1142, code: 'ER_TABLEACCESS_DENIED_ERROR', sqlMessage: "ALTER command denied to user 'f'@'10.0.0.1' for table `db`.`t`" });
    expect(safeServerError(denied)).toBe("ALTER command denied to user 'f'@'10.0.0.1' for table `db`.`t` (server error 1142 ER_TABLEACCESS_DENIED_ERROR)");
    expect(safeServerError(new Error("ENOENT: no such file or directory, open '/tmp/x'"))).toBe("ENOENT: no such file or directory, open '/tmp/x'");
  });
});
