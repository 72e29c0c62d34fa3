/**
 * The artifact directory: `manifest.json` (server facts, schema, per-table chunks with row counts,
 * identities and file sha256s), `SHA256SUMS`, and `data/<db>/<table>.<n>.tsv` chunk files.
 * It is the backup rollback relies on, so it is written last and atomically: no manifest, no artifact.
 */
import { join } from 'node:path';
import { MANIFEST_FILE, readManifestFile, safeName, writeManifestFiles, type ChunkFileEntry } from '../manifest-files.ts';
import type { BinlogPosition } from './snapshot.ts';
import type { KeyRange } from './checksum.ts';
import type { DatabaseSchema } from './schema-export.ts';
import type { TableInfo } from './catalog.ts';
import type { SchemaFacts } from './describe.ts';

export { MANIFEST_FILE };
/**
 * 3: a chunk exported as server-built lines is identified by their sha256 (`identity: 'lines'`, no
 * checksum term computed per row at export); 2 summed a CRC32 per row in the export's scan; 1 had
 * backslash-escaped TSV.
 */
export const MANIFEST_FORMAT = 'ferry-mysql/3';

/**
 * What identifies a chunk's rows on any server (chunk-compare.ts): `lines`, the sha256 of the lines the
 * server builds for its key range (then `checksum` equals `sha256`); `checksum`, the range's server-side
 * CRC32 sum (checksum.ts), for a table without a primary key or with a column type the server cannot put in a line.
 */
export type ChunkIdentity = 'lines' | 'checksum';

export type ChunkEntry = ChunkFileEntry<KeyRange & { readonly identity: ChunkIdentity }>;

export interface TableEntry {
  readonly table: TableInfo;
  readonly rows: number;
  readonly bytes: number;
  /** AUTO_INCREMENT of the source table (null without one). */
  readonly autoIncrement: number | null;
  readonly chunks: readonly ChunkEntry[];
}

export interface ServerFacts {
  readonly version: string;
  /** 'mysql' or 'mariadb', from the version string. */
  readonly flavor: 'mysql' | 'mariadb';
  readonly sqlMode: string;
  readonly characterSetServer: string;
  readonly collationServer: string;
  readonly lowerCaseTableNames: number;
  readonly localInfile: boolean;
}

export interface Manifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly createdAt: string;
  readonly source: { readonly host: string; readonly port: number; readonly user: string };
  readonly server: ServerFacts;
  readonly binlog: BinlogPosition | null;
  readonly snapshot: { readonly mode: 'locked' | 'single'; readonly note: string; readonly workers: number };
  readonly schemas: readonly DatabaseSchema[];
  /** Comparable schema facts per database (see describe.ts), for verify. */
  readonly facts: Readonly<Record<string, SchemaFacts>>;
  readonly tables: readonly TableEntry[];
  readonly totals: { readonly rows: number; readonly bytes: number; readonly chunks: number };
}

export async function writeManifest(dir: string, m: Manifest): Promise<void> {
  await writeManifestFiles(dir, m.tables.flatMap((t) => t.chunks.map((c) => [c.sha256, c.file] as const)), m);
}

/** Read and sanity-check a manifest; errors name the file. */
export const readManifest = (dir: string): Promise<Manifest> =>
  readManifestFile<Manifest>(dir, { format: MANIFEST_FORMAT, code: 'E_MYSQL_ARTIFACT', what: 'MySQL' });

/**
 * Chunk file name: identifiers are percent-encoded so any table name makes a safe, unique file name;
 * a table exported in key-range segments numbers its chunks within each segment (`t.s01.00003.tsv`).
 */
export function chunkFile(database: string, table: string, index: number, segment?: number): string {
  const seg = segment === undefined ? '' : `.s${String(segment).padStart(2, '0')}`;
  return join('data', safeName(database), `${safeName(table)}${seg}.${String(index).padStart(5, '0')}.tsv`);
}
