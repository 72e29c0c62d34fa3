/**
 * The files store's options, validated once at the config boundary. zod loads on the first parse (the
 * engine's module graph does not import it): a pass handed options already parsed, as the bench's
 * children are, never loads it (~90 modules, half of the engine's import time).
 */
import type * as Zod from 'zod';
import { parseStoreOptions } from '../parse-options.ts';

const OWNER = /^\d+:\d+$/;

function schemaWith(z: typeof Zod) {
  return z.object({
    /** `uid:gid` the app runs as in the container (the design's non-root user); default: the source's owners. */
    owner: z.string().regex(OWNER, 'expected `uid:gid` in numbers, e.g. `10001:10001`').optional(),
    /** Keep names byte for byte (`none`), or write NFC names on the target (`nfc`, reflected in the manifest). */
    normalize: z.enum(['none', 'nfc']).default('none'),
    /** Files in flight at once. */
    concurrency: z.number().int().min(1).max(64).default(8),
    /** Copy worker threads into a bind mount (each a V8 isolate, ~12 MB); default one per core, at most 4 and `concurrency`. */
    copyWorkers: z.number().int().min(1).max(16).optional(),
    /** A file of at least this many MiB is copied in ranges into a bind mount, resumed range by range (ranges.ts); in a volume, resumed after its intact ranges when a kill cut it (resume-volume.ts). */
    largeFileMiB: z.number().int().min(1).default(64),
    /** The size of one range, MiB. */
    rangeMiB: z.number().int().min(1).max(1024).default(16),
    /** How long a scan must show no change before the tree counts as quiet (freeze). */
    quietWindowMs: z.number().int().min(0).default(5000),
    /** Budget for reaching a quiet window. */
    quietBudgetMs: z.number().int().min(1000).default(300_000),
    /** Image of the short-lived helper container for named volumes (needs sh, tar, find, sha256sum). */
    helperImage: z.string().min(1).default('debian:bookworm-slim'),
    /**
     * The first export into a host-directory target that holds nothing yet copies as it walks (the import
     * then finds the copy complete): the walk and the copy overlap. `false`: the export only writes the
     * manifest and the target is first written by the import step.
     */
    copyDuringExport: z.boolean().default(true),
    /** rollback --with-data: also delete on the host what the stack deleted (listed either way). */
    applyDeletions: z.boolean().default(false),
  }).strict();
}

export type FilesOptions = Readonly<Zod.infer<ReturnType<typeof schemaWith>>>;

let schema: ReturnType<typeof schemaWith> | undefined;

/**
 * The schema, built on first use. zod is required by the file `import` resolves it to (its ESM build),
 * so it is the same module instance the rest of ferry imports, not a second (CommonJS) copy; node:module
 * too loads only then.
 */
export function filesOptionsSchema(): ReturnType<typeof schemaWith> {
  if (!schema) {
    const { createRequire } = process.getBuiltinModule('node:module'), { fileURLToPath } = process.getBuiltinModule('node:url');
    schema = schemaWith(createRequire(import.meta.url)(fileURLToPath(import.meta.resolve('zod'))) as typeof Zod);
  }
  return schema;
}

export function parseFilesOptions(raw: unknown, storeId: string): FilesOptions {
  return parseStoreOptions(filesOptionsSchema(), raw, storeId, 'files');
}

export function ownerOf(o: FilesOptions): { uid: number; gid: number } | undefined {
  if (!o.owner) return undefined;
  const [uid, gid] = o.owner.split(':').map(Number) as [number, number];
  return { uid, gid };
}
