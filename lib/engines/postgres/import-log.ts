/**
 * The import's progress log (`<stateDir>/import.log`): one line per finished unit, appended after its
 * transaction commits. Its head names the export it loads (`export <snapshot> <createdAt>`) and that
 * export's schema (`schema <sha256 of pre-data> <sha256 of post-data>`); a unit is `begin` (roles and
 * the database), `pre`, `chunk <file>`, `post <entry>`, `refresh`, `analyze <relation>`, `lo <oid>`,
 * `analyze`, `done`. A streaming export (stream.ts) writes it as the import would.
 *
 * Another export's log: an unfinished import (begun, not done) of the same schema — a streaming export
 * killed mid-way, then exported again — carries its schema units over (`begin`, `pre`, `post N`): the
 * database is the one it began and nothing else puts objects there; every chunk is checked on the target
 * (none is carried: another export's ranges may differ). Anything else starts a new log.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../util/atomic-write.ts';

export const IMPORT_LOG = 'import.log';

export interface ProgressLog {
  /** True when this import continues one begun earlier (for this export, or carried over). */
  readonly resumed: boolean;
  has(entry: string): boolean;
  add(entry: string): Promise<void>;
}

/** The id a log's head names: one export's snapshot and creation time. */
export const exportIdOf = (m: { readonly snapshot: { readonly id: string }; readonly createdAt: string }): string => `${m.snapshot.id} ${m.createdAt}`;

/** The units of a log (none when there is no log). */
export async function readLogLines(stateDir: string): Promise<string[]> {
  return (await readFile(join(stateDir, IMPORT_LOG), 'utf8').catch(() => '')).split('\n').filter(Boolean);
}

/**
 * Open the log for the export `exportId` whose schema files hash to `schema` (`<pre> <post>`); `fresh`:
 * start it over whatever it held (a streaming export into a database it just found absent or empty).
 */
export async function openLog(stateDir: string, exportId: string, schema: string, o: { fresh?: boolean } = {}): Promise<ProgressLog> {
  await mkdir(stateDir, { recursive: true });
  const path = join(stateDir, IMPORT_LOG);
  const lines = o.fresh ? [] : await readLogLines(stateDir);
  let seen: Set<string>;
  if (lines[0] === `export ${exportId}` && lines.includes('begin')) {
    seen = new Set(lines);
  } else {
    const carried = lines.includes('begin') && !lines.includes('done') && lines.includes(`schema ${schema}`)
      ? lines.filter((l) => l === 'begin' || l === 'pre' || l.startsWith('post ')) : [];
    await writeFileAtomic(path, [`export ${exportId}`, `schema ${schema}`, ...carried].map((l) => `${l}\n`).join(''));
    seen = new Set(carried);
  }
  return {
    resumed: seen.has('begin'),
    has: (e) => seen.has(e),
    add: async (e) => { seen.add(e); await appendFile(path, `${e}\n`); },
  };
}
