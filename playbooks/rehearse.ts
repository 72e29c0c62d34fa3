/**
 * ferry rehearse: the whole migration from the live source into a throwaway stack (its own project
 * name), verified, then torn down. The real target and the .env are untouched; report.rehearse.md
 * gives per-step timings and the expected downtime of the real run.
 */
import './runtime/compile-cache.ts';

// Everything else is imported once the compile cache is on (runtime/compile-cache.ts).
const { runPlaybookCli } = await import('./runtime/index.ts');
const { prepareRehearse } = await import('../lib/index.ts');
const startDemo: typeof import('../demo/index.ts').startDemo = async (a) => (await import('../demo/index.ts')).startDemo(a);

process.exitCode = await runPlaybookCli({
  id: 'rehearse',
  title: 'Rehearse the migration into a throwaway stack',
  description: `
Runs preflight, export, .env transform (on a scratch copy), data services, import, verify and cutover
against a copy of the compose dir under a temp dir with its own project name and free ports, writes
report.rehearse.{json,md} (timings, expected downtime) into the state dir, then removes every
container, volume, network and file it created. The source is read, never frozen or changed.`,
  demo: (a) => startDemo(a),
  prepare: (a) => prepareRehearse(a),
});
