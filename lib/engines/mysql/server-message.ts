/**
 * A server error or warning as ferry may show it: the error number and the NAMES the server gave (key,
 * column, constraint), never a value from the app's data. MySQL and MariaDB quote a row's value in some
 * messages ("Duplicate entry 'alice@example.com' for key 'users.email'", "Incorrect integer value: 'x'
 * for column …", "Invalid utf8mb4 character string: 'F09F'"); such values may be personal data or secrets,
 * so they are cut out before a message reaches an error, a log or the report.
 *
 * Identifiers: MySQL 8 quotes key and column names with '…' ('users.email', 'c'); MariaDB 10.11 uses '…'
 * for keys and `db`.`t`.`c` for columns. Backquoted text is always an identifier. A value may itself
 * contain quotes, so the known forms are matched whole, anchored at the message's end.
 */

/** Codes whose messages hold names and numbers only (no row value): shown as the server wrote them. */
const NAMES_ONLY = new Set([
  1044, 1045, 1142, 1143, 1227, 1370, // access denied: the account and the database, table or routine
  1048, // Column 'c' cannot be null
  1216, 1217, 1451, 1452, // foreign key constraint fails (`db`.`t`, CONSTRAINT … REFERENCES …)
  1263, // Column set to default value; NULL supplied to NOT NULL column 'c' at row 1
  1264, // Out of range value for column 'c' at row 1
  1265, // Data truncated for column 'c' at row 1
  1364, // Field 'c' doesn't have a default value
  1406, // Data too long for column 'c' at row 1
  3819, // MySQL 8: Check constraint 'c' is violated.
  4025, // MariaDB: CONSTRAINT `c` failed for `db`.`t`
]);

const IDENT = String.raw`(?:[\`'](?:[^\`']|\`\`)*[\`'])(?:\.[\`'](?:[^\`']|\`\`)*[\`'])*`;
const FORMS: ReadonlyArray<[RegExp, (m: RegExpExecArray) => string]> = [
  // 1062 ER_DUP_ENTRY, 1586 ER_DUP_ENTRY_WITH_KEY_NAME
  [new RegExp(String.raw`^Duplicate entry '[\s\S]*' for key (${IDENT})$`), (m) => `Duplicate entry for key ${m[1]}`],
  // 1366 / 1292 / 1367: Incorrect <type> value: '<v>' for column <c> at row <n>
  [new RegExp(String.raw`^(Incorrect|Truncated incorrect|Illegal) ([\w ]+?) value:? '[\s\S]*' for column (${IDENT}) at row (\d+)$`), (m) => `${m[1]} ${m[2]} value for column ${m[3]} at row ${m[4]}`],
  // 1292: Truncated incorrect <type> value: '<v>'
  [/^(Truncated incorrect|Incorrect) ([\w ]+?) value:? '[\s\S]*'$/, (m) => `${m[1]} ${m[2]} value`],
  // 1300: Invalid utf8mb4 character string: '<hex>'
  [/^(Invalid [\w ]+? character string):? '[\s\S]*'$/, (m) => m[1]!],
];

const WITHHELD = '(the rest withheld: it may hold a row\'s value)';

/** The message with any row value cut out (`code`: the server's error or warning number, 0 when unknown). */
export function safeServerText(code: number, message: string): string {
  const line = message.split('\n')[0] ?? '';
  if (NAMES_ONLY.has(code) || !line.includes("'")) return line;
  for (const [re, show] of FORMS) {
    const m = re.exec(line);
    if (m) return show(m);
  }
  // Unknown form: what precedes the first quoted text only.
  return `${line.slice(0, line.indexOf("'")).trimEnd()} … ${WITHHELD}`;
}

/**
 * A thrown error as one safe line: `Duplicate entry for key 'email' (server error 1062 ER_DUP_ENTRY)` for a
 * server error; a client-side error (socket, file) is its first line, which holds no row value.
 */
export function safeServerError(e: unknown): string {
  const x = e as { errno?: unknown; code?: unknown; sqlMessage?: unknown; message?: unknown };
  const msg = typeof x?.sqlMessage === 'string' ? x.sqlMessage : e instanceof Error ? e.message : String(e);
  if (typeof x?.errno === 'number' && typeof x.sqlMessage === 'string') {
    return `${safeServerText(x.errno, msg)} (server error ${x.errno}${typeof x.code === 'string' ? ` ${x.code}` : ''})`;
  }
  return msg.split('\n')[0] ?? '';
}

/**
 * A replica's Last_SQL_Error with row values cut out. It wraps the server's message in its own text
 * (MariaDB: "Could not execute Write_rows_v1 event on table db.t; Duplicate entry '<value>' for key
 * 'email', Error_code: 1062; handler error HA_ERR_FOUND_DUPP_KEY; the event's master log …"; MySQL 8 puts
 * "Worker 1 failed executing transaction '<gtid>' at source log …; " before it), so the value forms are
 * cut wherever they appear, each ended by what follows the value in that form.
 */
export function safeReplicaError(text: string): string {
  return text
    .replace(/Duplicate entry '[\s\S]*?' for key /g, 'Duplicate entry for key ')
    .replace(/(Incorrect|Truncated incorrect|Illegal) ([\w ]+?) value:? '[\s\S]*?'(?= for column |, Error_code|;|$)/g, '$1 $2 value')
    .replace(/(Invalid [\w ]+? character string):? '[\s\S]*?'(?=, Error_code|;|$)/g, '$1');
}
