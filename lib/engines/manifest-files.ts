/**
 * What the chunked exports (MySQL, PostgreSQL) share about their artifact directory: `manifest.json`
 * written last and atomically after `SHA256SUMS` (no manifest, no artifact), read back refusing another
 * format with an error naming the file, and chunk file names percent-encoded from any identifier.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FerryError } from '../core/errors.ts';
import type { ErrorCode } from '../core/error-codes.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';

export const MANIFEST_FILE = 'manifest.json';

/** One chunk file of a table: the engine's key range, and what proves the file and the rows in it. */
export type ChunkFileEntry<Range> = Range & {
  /** Path relative to the artifact directory. */
  readonly file: string;
  readonly rows: number;
  readonly bytes: number;
  readonly sha256: string;
  /** What identifies the range's rows on a server (the engine's checksum.ts; MySQL: the sha256 of its lines, mysql/manifest.ts). */
  readonly checksum: string;
};

/** `SHA256SUMS` (`sha256  file` per line, as sha256sum -c reads it), then the manifest. */
export async function writeManifestFiles(dir: string, sums: ReadonlyArray<readonly [sha256: string, file: string]>, manifest: unknown): Promise<void> {
  await writeFileAtomic(join(dir, 'SHA256SUMS'), sums.map(([h, f]) => `${h}  ${f}`).join('\n') + '\n');
  await writeFileAtomic(join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 1) + '\n');
}

export interface ManifestKind {
  /** The format this ferry writes (`ferry-mysql/3`). */
  readonly format: string;
  /** The error a missing or other-format manifest is. */
  readonly code: ErrorCode;
  /** For the message: "MySQL", "PostgreSQL". */
  readonly what: string;
}

/** Read and sanity-check a manifest; errors name the file. */
export async function readManifestFile<M extends { readonly format: string }>(dir: string, kind: ManifestKind): Promise<M> {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new FerryError(kind.code, `No ${kind.what} export at ${path}`, { hint: 'run the store\'s export step (export:<store>) first (or point artifactsDir at an existing export)', cause: e });
  }
  const m = JSON.parse(text) as M;
  if (m.format !== kind.format) {
    throw new FerryError(kind.code, `${path} has format ${String(m.format)}, expected ${kind.format}`, { hint: 'export again with this version of ferry' });
  }
  return m;
}

/** An identifier as a safe, unique path segment: everything but `[A-Za-z0-9_-]` percent-encoded (UTF-8 bytes). */
export const safeName = (s: string): string => s.replace(/[^A-Za-z0-9_-]/g, (ch) => `%${Buffer.from(ch).toString('hex')}`);
