/**
 * ferry migrate: preflight → .env transform → the stack's data services → freeze → export (a MySQL or
 * PostgreSQL export streams into the running target) → import → verify → cutover → thaw → report, for
 * every store of the app (mysql, postgres, redis, files); with stores that follow, the freeze waits only
 * for their catch-up and promote (lib/steps/order.ts). Resumable from any failure through the journal:
 * re-run the same command.
 */
import './runtime/compile-cache.ts';

// Everything else is imported once the compile cache is on (runtime/compile-cache.ts).
const { runPlaybookCli } = await import('./runtime/index.ts');
const { prepareMigrate } = await import('../lib/index.ts');
const startDemo: typeof import('../demo/index.ts').startDemo = async (a) => (await import('../demo/index.ts')).startDemo(a);

process.exitCode = await runPlaybookCli({
  id: 'migrate',
  title: 'Migrate Vedfolnir from host services into the compose stack',
  description: `
Refuses before a byte moves when preflight finds a blocker; starts the stack's data services, freezes
writes (or, with cutover: follow, lets the stack follow the source and freezes only for the last
changes); exports, imports and verifies every store (MySQL, PostgreSQL, Redis, files) row by row, key
by key and file by file; rewrites the .env (backed up with its checksum); cuts over; writes
report.migrate.{json,md} in the state directory. Killed or failed at any point, the same command resumes
from the journal. Runbook: MIGRATION.md.`,
  demo: (a) => startDemo(a),
  prepare: (a) => prepareMigrate(a),
});
