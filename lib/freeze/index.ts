/**
 * The write freeze, engine-neutral parts: the operator's writer commands, the quiet proof across stores
 * (lib/steps/prove-quiet.ts samples each store's engine), and the source snapshot tests compare
 * sources with. What "frozen" means for each store (MySQL read_only, Redis CLIENT PAUSE WRITE) is its
 * engine's `freeze`/`thaw` (lib/engines/<kind>/freeze.ts), run as the steps `freeze:<store>` and
 * `thaw:<store>`.
 */
export { proveQuiet, type QuietOptions } from './quiet.ts';
export { runCommand, runCommands } from './commands.ts';
export { takeSourceSnapshot, compareSnapshots, snapshotMysql, snapshotRedis, type SourceSnapshot, type SourceEndpoints } from './snapshot.ts';
export { sampleMysql, sampleRedis, mysqlReadOnly, withMysql, withRedis, DEFAULT_REDIS_PAUSE_MS } from './source.ts';
