/** ferry's MySQL engine: consistent export, resumable import, verification down to the row. */
export { connectMysql, describeConnectError, type MysqlTarget } from './connect.ts';
export { exportMysql, type ExportOptions } from './export.ts';
export { importMysql, type ImportOptions, type ImportResult } from './import.ts';
export { verifyMysql, type VerifyOptions, type VerifyReport, type TableVerdict } from './verify.ts';
export { readManifest, MANIFEST_FILE, type Manifest } from './manifest.ts';
export { applyDefiner, type DefinerPolicy, type DefinerRewrite } from './definer.ts';
export { readBinlog } from './snapshot.ts';
export { sourceFingerprint } from './fingerprint.ts';
export { packExport, unpackExport } from './pack.ts';
export { mysqlEngine, type MysqlEngineFacts } from './engine.ts';
export type { MysqlEndpoint } from './endpoint.ts';
export type { MysqlOptions } from './options.ts';
