/** ferry verify: compare the stack with the source at any time; exit 0 when everything matches, 1 otherwise. */
import { runPlaybookCli } from './runtime/index.ts';
import { prepareVerify } from '../lib/index.ts';
import { startDemo } from '../demo/index.ts';

process.exitCode = await runPlaybookCli({
  id: 'verify',
  title: 'Verify the stack against the source',
  description: `
Compares every table (counts, checksums, schema) and every Redis key (type, value digest, TTL within
config.redis.ttlToleranceMs), checks sessions and RQ jobs, and writes report.verify.{json,md}.
Exit 0 when everything matches, 1 otherwise. Changes nothing on either side.`,
  // --demo: the demo is migrated first (or the last kept one reused), then this playbook runs on it.
  demo: (a) => startDemo({ ...a, migrateFirst: true }),
  prepare: (a) => prepareVerify(a),
});
