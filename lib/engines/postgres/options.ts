/** A PostgreSQL store's options (`stores[].options`), defaults in one place. */
import { z } from 'zod';
import type { Store } from '../../core/engine.ts';
import { parseStoreOptions } from '../parse-options.ts';

export const postgresOptionsSchema = z.object({
  /** Connections working at once (export, import, verify). */
  parallelism: z.number().int().min(1).max(16).default(2),
  /** Size of one chunk of table (bytes on the source). */
  chunkBytes: z.number().int().min(64 << 10).default(16 << 20),
  /** Drop a target database that already exists (its data is lost). */
  replace: z.boolean().default(false),
  /** Allow a target whose major is older than the source's (a blocker otherwise). */
  allowDowngrade: z.boolean().default(false),
  /** The pg_dump to dump the schema with (major ≥ the source's); default: the newest on the host, else a postgres:<major> image's. */
  pgDump: z.string().min(1).optional(),
  /** The target database's name; default: the source URL's. */
  targetDatabase: z.string().min(1).optional(),
  /**
   * Follow the live source by logical replication (set: the export creates a slot first and exports in its
   * snapshot): the source as the stack's container reaches it; `{}` derives it (a loopback source is
   * `host.docker.internal`). Absent: the copy runs inside the freeze.
   */
  followFrom: z.object({ host: z.string().min(1).optional(), port: z.number().int().min(1).max(65535).optional() }).strict().optional(),
}).strict();

export type PostgresOptions = Readonly<z.output<typeof postgresOptionsSchema>>;
export type PostgresStore = Store<PostgresOptions>;

export const parsePostgresOptions = (raw: unknown, storeId: string): PostgresOptions => parseStoreOptions(postgresOptionsSchema, raw, storeId, 'postgres');
