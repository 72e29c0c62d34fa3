/**
 * The artifact directory: `manifest.json` (server facts, schema facts, per-table chunks with row counts,
 * digests (checksum.ts) and sha256s, sequences, roles, large objects), `SHA256SUMS` of every file,
 * `schema/pre-data.sql`, `schema/post-data.sql`, `roles.json` (0600: password hashes),
 * `data/<schema>/<table>.<n>.copy` (COPY binary or text format, per table: see catalog.ts; a keyed table's rows in key order) and `large-objects/<oid>.bin`. Written last and
 * atomically: no manifest, no artifact. It is also the rollback backup; `tar` packs it as it is.
 */
import { join } from 'node:path';
import { MANIFEST_FILE, readManifestFile, safeName, writeManifestFiles, type ChunkFileEntry } from '../manifest-files.ts';
import type { KeyRange } from './checksum.ts';
import type { LargeObjectInfo, SequenceState, TableInfo } from './catalog.ts';
import type { ServerFacts } from './server.ts';

export { MANIFEST_FILE };
/**
 * 2: a keyed table's chunk file is its range's COPY in key order and its checksum is that stream's sha256
 * (checksum.ts); 1 (server-side row-hash sums for every chunk) is refused: export again.
 */
export const MANIFEST_FORMAT = 'ferry-postgres/2';

export type ChunkEntry = ChunkFileEntry<KeyRange>;

export interface TableEntry {
  readonly table: TableInfo;
  readonly rows: number;
  readonly bytes: number;
  readonly chunks: readonly ChunkEntry[];
}

export interface Manifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly createdAt: string;
  readonly source: { readonly host: string; readonly port: number; readonly user: string; readonly database: string };
  readonly server: ServerFacts;
  readonly snapshot: { readonly id: string; readonly workers: number };
  /** Which pg_dump wrote the schema files. */
  readonly pgDump: string;
  /** Sorted schema facts (describe.ts) read in the snapshot. */
  readonly facts: readonly string[];
  readonly roles: { readonly names: readonly string[]; readonly hashes: boolean; readonly notCarried: readonly string[] };
  readonly tables: readonly TableEntry[];
  readonly sequences: readonly SequenceState[];
  readonly matviews: ReadonlyArray<{ readonly schema: string; readonly name: string }>;
  readonly largeObjects: ReadonlyArray<LargeObjectInfo & { readonly file: string; readonly sha256: string }>;
  /** sha256 of every non-chunk file (schema, roles). */
  readonly files: Readonly<Record<string, string>>;
  /** Seconds per export phase (schema, plan, data, largeObjects). */
  readonly timings: Readonly<Record<string, number>>;
  readonly totals: { readonly rows: number; readonly bytes: number; readonly chunks: number };
}

export const PRE_DATA = 'schema/pre-data.sql';
export const POST_DATA = 'schema/post-data.sql';
export const ROLES_FILE = 'roles.json';

export async function writeManifest(dir: string, m: Manifest): Promise<void> {
  await writeManifestFiles(dir, [
    ...Object.entries(m.files).map(([f, h]) => [h, f] as const),
    ...m.tables.flatMap((t) => t.chunks.map((c) => [c.sha256, c.file] as const)),
    ...m.largeObjects.map((l) => [l.sha256, l.file] as const),
  ], m);
}

/** Read and sanity-check a manifest; errors name the file. */
export const readManifest = (dir: string): Promise<Manifest> =>
  readManifestFile<Manifest>(dir, { format: MANIFEST_FORMAT, code: 'E_PG_ARTIFACT', what: 'PostgreSQL' });

/** Chunk file name: identifiers percent-encoded, so any name makes a safe, unique path. */
export function chunkFile(schema: string, table: string, index: number): string {
  return join('data', safeName(schema), `${safeName(table)}.${String(index).padStart(5, '0')}.copy`);
}
