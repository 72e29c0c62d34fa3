/**
 * ferry migrate: preflight → freeze → export MySQL and Redis → .env → data services → import → verify →
 * cutover → unfreeze → report. Resumable from any failure through the journal: re-run the same command.
 */
import { runPlaybookCli } from './runtime/index.ts';
import { prepareMigrate } from '../lib/index.ts';
import { startDemo } from '../demo/index.ts';

process.exitCode = await runPlaybookCli({
  id: 'migrate',
  title: 'Migrate Vedfolnir from host services into the compose stack',
  description: `
Refuses before a byte moves when preflight finds a blocker; freezes writes for the final pass; exports,
imports and verifies MySQL and Redis row by row and key by key; rewrites the .env (backed up with its
checksum); cuts over; writes report.migrate.{json,md} in the state directory. Killed or failed at any
point, the same command resumes from the journal. Runbook: MIGRATION.md.`,
  demo: (a) => startDemo(a),
  prepare: (a) => prepareMigrate(a),
});
