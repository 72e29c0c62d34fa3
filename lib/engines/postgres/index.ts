/** ferry's PostgreSQL engine: one-snapshot export through COPY, resumable import, verification down to the row. */
export { postgresEngine } from './engine.ts';
export { parsePgUrl, connectPg, describeConnectError, type PgTarget } from './connect.ts';
export { exportPostgres, type ExportOptions } from './export.ts';
export { importPostgres, type ImportOptions, type ImportResult } from './import.ts';
export { verifyPostgres, type VerifyOptions } from './verify.ts';
export { readManifest, MANIFEST_FILE, type Manifest } from './manifest.ts';
export { assessPostgres } from './assess.ts';
export type { PostgresFacts } from './facts.ts';
export type { PostgresOptions } from './options.ts';
