/**
 * ferry rollback, for incidents: stop the stack (volumes kept), restore the original .env (checksum
 * verified), check the source against its pre-migration snapshot, lift the freeze and restart the
 * host services. --with-data first copies back what was written in the containers after cutover.
 */
import './runtime/compile-cache.ts';

// Everything else is imported once the compile cache is on (runtime/compile-cache.ts).
const { runPlaybookCli } = await import('./runtime/index.ts');
const { prepareRollback } = await import('../lib/index.ts');
const startDemo: typeof import('../demo/index.ts').startDemo = async (a) => (await import('../demo/index.ts')).startDemo(a);

process.exitCode = await runPlaybookCli({
  id: 'rollback',
  title: 'Roll back to the host services',
  description: `
Stops every container of the stack (containers, volumes and data directories are kept), puts the
original .env back byte for byte, checks the source still matches the snapshot taken at the freeze,
lifts the freeze and runs freeze.startWriters. Safe to run twice. With --with-data, the stack's data
is copied back to the host first (the same engines, reversed) and verified instead.`,
  options: {
    'with-data': { type: 'boolean', help: 'copy back to the host what was written in the containers after cutover, then verify' },
  },
  // --demo: the demo is migrated first (or the last kept one reused), then this playbook runs on it.
  demo: (a) => startDemo({ ...a, migrateFirst: true }),
  prepare: (a) => prepareRollback(a),
});
