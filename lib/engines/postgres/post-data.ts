/**
 * pg_dump's post-data script split into its entries (each `-- Name: …; Type: …` block), so import can
 * run them resumably (one entry, one transaction, recorded) and in parallel: primary keys, unique and
 * check constraints and indexes of different tables build at once (phase `build`); everything else —
 * foreign keys, index attachments, triggers, rules, policies, default privileges — runs after, in the
 * dump's order (phase `link`).
 */

export interface PostDataEntry {
  /** Position in the dump (stable id in the progress log). */
  readonly index: number;
  readonly type: string;
  readonly name: string;
  readonly sql: string;
  readonly phase: 'build' | 'link';
  /** The table it builds on (`"public"."users"`): one table's builds run one at a time. */
  readonly table: string | null;
}

export interface PostData {
  /** The SET statements before the first entry: run first on every connection. */
  readonly header: string;
  readonly entries: readonly PostDataEntry[];
}

const IDENT = '"(?:[^"]|"")*"';
const QUALIFIED = `${IDENT}\\.${IDENT}`;
const ON_TABLE = new RegExp(`\\bON (?:ONLY )?(${QUALIFIED})`);
const ALTER_TABLE = new RegExp(`^ALTER TABLE (?:ONLY )?(${QUALIFIED})`, 'm');
const BUILD_TYPES = new Set(['CONSTRAINT', 'INDEX']);

export function parsePostData(sql: string): PostData {
  const parts = sql.split(/\n(?=--\n-- Name: )/);
  const header = (parts.shift() ?? '').split('\n').filter((l) => /^(SET|SELECT pg_catalog\.set_config)\b/.test(l)).join('\n');
  const entries = parts.map((block, index): PostDataEntry => {
    const m = /^--\n-- Name: (.*?); Type: (.*?); Schema: /.exec(block);
    const type = m?.[2] ?? 'UNKNOWN';
    const body = block.split('\n').filter((l) => !l.startsWith('--')).join('\n').trim();
    const table = type === 'INDEX' ? ON_TABLE.exec(body)?.[1] ?? null : type === 'CONSTRAINT' ? ALTER_TABLE.exec(body)?.[1] ?? null : null;
    return { index, type, name: m?.[1] ?? `entry ${index}`, sql: body, phase: BUILD_TYPES.has(type) && table ? 'build' : 'link', table };
  }).filter((e) => e.sql.length > 0);
  return { header, entries };
}

const REFERENCES = new RegExp(`\\bREFERENCES (${QUALIFIED})`);

/** A foreign key entry's two tables (quoted, as in the dump): the one it is added to and the one it references. */
export function foreignKeyTables(sql: string): { table: string; references: string } | null {
  const table = ALTER_TABLE.exec(sql)?.[1];
  const references = REFERENCES.exec(sql)?.[1];
  return table && references ? { table, references } : null;
}
