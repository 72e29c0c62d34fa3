/**
 * The import's progress log (`<stateDir>/import.log`): one line per finished unit, appended after its
 * transaction commits. Its head names the export it loads (`export <snapshot> <createdAt>`), then the
 * sha256 of that export's schema files (`schema pre-data <sha256>`, `schema post-data <sha256>`: a streaming export
 * (stream.ts) writes each as pg_dump's is out, before applying it); a unit is `begin` (roles and the
 * database), `pre`, `chunk <file>`, `post <entry>`, `refresh`, `analyze <relation>`, `lo <oid>`,
 * `analyze`, `done`.
 *
 * Another export's log: an unfinished import (begun, not done) — a streaming export killed mid-way,
 * then exported again — carries its schema units over where the schema is the same: `begin` and `pre`
 * (same pre-data), `post N` (same post-data too). The database is the one it began and nothing else puts
 * objects there; every chunk is checked on the target (none is carried: another export's ranges may
 * differ). Anything else starts a new log.
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

/** The line recording the sha256 of a schema file (no unit's line starts like it). */
export const schemaLine = (file: 'pre-data' | 'post-data', sha256: string): string => `schema ${file} ${sha256}`;

/** The sha256 of an export's pre-data and post-data files. */
export interface SchemaId {
  readonly pre: string;
  readonly post: string;
}

/**
 * Open the log for the export `exportId` whose schema files hash to `schema`; `fresh`: start it over
 * whatever it held (a streaming export into a database it found absent or empty, its schema to come).
 */
export async function openLog(stateDir: string, exportId: string, schema: SchemaId | undefined, o: { fresh?: boolean } = {}): Promise<ProgressLog> {
  await mkdir(stateDir, { recursive: true });
  const path = join(stateDir, IMPORT_LOG);
  const lines = o.fresh ? [] : await readLogLines(stateDir);
  let seen: Set<string>;
  if (lines[0] === `export ${exportId}` && lines.includes('begin')) {
    seen = new Set(lines);
  } else {
    const unfinished = lines.includes('begin') && !lines.includes('done');
    const samePre = !!schema && unfinished && lines.includes(schemaLine('pre-data', schema.pre));
    const samePost = samePre && lines.includes(schemaLine('post-data', schema!.post));
    const carried = lines.filter((l) => (samePre && (l === 'begin' || l === 'pre')) || (samePost && l.startsWith('post ')));
    const head = [`export ${exportId}`, ...(schema ? [schemaLine('pre-data', schema.pre), schemaLine('post-data', schema.post)] : [])];
    await writeFileAtomic(path, [...head, ...carried].map((l) => `${l}\n`).join(''));
    seen = new Set(carried);
  }
  return {
    resumed: seen.has('begin'),
    has: (e) => seen.has(e),
    add: async (e) => { seen.add(e); await appendFile(path, `${e}\n`); },
  };
}
