/** ferry verify: compare the stack with the source at any time; exit 0 when everything matches, 1 otherwise. */
import './runtime/compile-cache.ts';

// Everything else is imported once the compile cache is on (runtime/compile-cache.ts).
const { runPlaybookCli } = await import('./runtime/index.ts');
const { prepareVerify } = await import('../lib/index.ts');
const startDemo: typeof import('../demo/index.ts').startDemo = async (a) => (await import('../demo/index.ts')).startDemo(a);

process.exitCode = await runPlaybookCli({
  id: 'verify',
  title: 'Verify the stack against the source',
  description: `
Compares every store: each table (counts, checksums, schema, accounts and object definitions) of MySQL
and PostgreSQL, every Redis key (type, value digest, TTL within config.redis.ttlToleranceMs) with the
app's sessions and RQ jobs, every file (type, size, mode, owner, sha256), and writes
report.verify.{json,md}. Exit 0 when everything matches, 1 otherwise. Changes nothing on either side.`,
  // --demo: the demo is migrated first (or the last kept one reused), then this playbook runs on it.
  demo: (a) => startDemo({ ...a, migrateFirst: true }),
  prepare: (a) => prepareVerify(a),
});
