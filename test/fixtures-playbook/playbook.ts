/**
 * A tiny playbook of real file-writing steps, run through the real CLI runtime: the SIGKILL, SIGINT,
 * --json and --dry-run tests drive it as a child process.
 *   node test/fixtures-playbook/playbook.ts --config test/fixtures-playbook/ferry.config.json --out /tmp/x
 */
import { resolve } from 'node:path';
import { runPlaybookCli, type PlaybookCli } from '../../playbooks/runtime/index.ts';
import type { FixtureCtx } from './steps/context.ts';
import generate from './steps/generate.ts';
import transform from './steps/transform.ts';
import ledger from './steps/ledger.ts';
import summary from './steps/summary.ts';

const cli: PlaybookCli<FixtureCtx> = {
  id: 'fixture',
  title: 'Fixture playbook',
  description: 'Writes data.txt, upper.txt, ledger.txt and summary.json into --out, slowly enough to be interrupted.',
  options: {
    out: { type: 'string', help: 'directory the steps write into (required)' },
    lines: { type: 'string', default: '2000', help: 'lines generate writes' },
    'delay-ms': { type: 'string', default: '5', help: 'pause between chunks' },
    'fail-at': { type: 'string', help: 'step whose run fails on purpose after a partial effect' },
    salt: { type: 'string', default: 'a', help: 'changes transform\'s input fingerprint' },
  },
  async prepare({ config, flags }) {
    if (typeof flags.out !== 'string') throw new Error('--out DIR is required');
    const ctx: FixtureCtx = {
      outDir: resolve(flags.out),
      lines: Number(flags.lines),
      delayMs: Number(flags['delay-ms']),
      salt: String(flags.salt),
      ...(typeof flags['fail-at'] === 'string' ? { failAt: flags['fail-at'] } : {}),
    };
    return { playbook: { id: 'fixture', title: 'Fixture playbook', steps: [generate, transform, ledger, summary] }, ctx, stateDir: config.stateDir };
  },
};

runPlaybookCli(cli).then((code) => { process.exitCode = code; });
