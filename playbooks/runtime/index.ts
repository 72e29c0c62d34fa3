/**
 * The playbook runtime: flags → config → the playbook's `prepare` → runPlaybook, rendered by listr2 (a
 * TTY), plain lines never reprinted (CI logs) or JSON lines (`--json`). SIGINT/SIGTERM abort the run:
 * the runner rolls the in-flight step back and the journal resumes on the next run. Returns the exit
 * code; never throws.
 */
import { resolve } from 'node:path';
import { configSecrets, deepFreeze, FerryError, findConfig, loadConfig, Redactor, runPlaybook, toFerryError, type Config, type Playbook, type RunResult } from '../../lib/index.ts';
import { helpText, parseCliArgs, type CliOptionDef, type DemoAppName, type Flags } from './cli-args.ts';
import { formatError } from './format.ts';
import { createJsonView, jsonLine } from './json-view.ts';
import { createListrView, type View } from './listr-view.ts';
import { createPlainView } from './plain-view.ts';
import { createPlanView } from './plan-view.ts';

export interface PlaybookCli<Ctx> {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  /** Extra parseArgs options and their --help lines. */
  readonly options?: Record<string, CliOptionDef>;
  /** --demo: start throwaway source servers seeded from fixtures, return the config to run against and a cleanup. */
  readonly demo?: (a: { signal: AbortSignal; log: (line: string) => void; dryRun: boolean; app?: DemoAppName }) => Promise<{ config: Config; cleanup(): Promise<void> }>;
  /** Build the steps and the ctx from the validated config and flags. */
  readonly prepare: (a: { config: Config; flags: Record<string, string | boolean | undefined>; redactor: Redactor; dryRun: boolean }) =>
    Promise<{ playbook: Playbook<Config, Ctx>; ctx: Ctx; stateDir: string; undoOnFailure?: boolean; cleanup?(): Promise<void> }>;
  /** Map the result to an exit code (default: 0 ok / dry run nothing pending, 2 dry run pending, 1 failed, 130 cancelled). */
  readonly exitCode?: (r: RunResult) => number;
}

export type { CliOptionDef, Flags };
export { helpText, parseCliArgs } from './cli-args.ts';
export { formatError, formatProgress, formatPlan, formatBytes, formatDuration } from './format.ts';

export function defaultExitCode(r: RunResult): number {
  if (r.status === 'cancelled') return 130;
  if (r.status === 'failed') return 1;
  if (r.status === 'planned') return r.pending ? 2 : 0;
  return 0;
}

export async function runPlaybookCli<Ctx>(def: PlaybookCli<Ctx>, argv: string[] = process.argv.slice(2)): Promise<number> {
  // A closed reader (`| head`) must not crash the run: it goes on, unseen, and keeps its journal.
  const ignoreEpipe = (e: NodeJS.ErrnoException) => { if (e.code !== 'EPIPE') throw e; };
  process.stdout.on('error', ignoreEpipe);
  const out = (s: string) => { process.stdout.write(s); };
  const err = (s: string) => { process.stderr.write(s); };
  const redactor = new Redactor();
  let flags: Flags;
  try {
    flags = parseCliArgs(def.options, argv);
  } catch (e) {
    err(`${formatError(toFerryError(e).toJSON() as never)}\n`);
    return 1;
  }
  if (flags.help) {
    out(helpText(def));
    return 0;
  }
  const json = flags.json === true;
  const dryRun = flags['dry-run'] === true;
  const fail = (e: unknown): number => {
    const error = redactor.redactValue(toFerryError(e).toJSON());
    if (json) out(jsonLine({ type: 'error', error }, redactor));
    err(`${formatError(error as never)}\n`);
    return 1;
  };

  const abort = new AbortController();
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts++;
    if (interrupts > 1) process.exit(130); // a second Ctrl-C: the operator insists
    if (!json) err(`\n${sig}: cancelling, rolling back the step in progress… (again to quit at once)\n`);
    abort.abort(new FerryError('E_CANCELLED', `cancelled by ${sig}`, { hint: 're-run the same command to resume' }));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const cleanups: Array<() => Promise<void>> = [];
  try {
    let config: Config;
    if (flags.demo) {
      if (!def.demo) throw new FerryError('E_USAGE', `playbook ${def.id} has no --demo`, { hint: 'pass --config <file> instead' });
      const log = (line: string) => (json ? out(jsonLine({ type: 'log', level: 'info', message: line }, redactor)) : err(`${redactor.redact(line)}\n`));
      const demo = await def.demo({ signal: abort.signal, log, dryRun, ...(typeof flags.demo === 'string' ? { app: flags.demo as DemoAppName } : {}) });
      cleanups.push(() => demo.cleanup());
      config = demo.config;
    } else {
      const path = typeof flags.config === 'string' ? flags.config : await findConfig(process.cwd());
      if (!path) throw new FerryError('E_CONFIG_MISSING', `no ferry.config.ts or ferry.config.json in ${process.cwd()}`, { hint: 'pass --config <file>, or create ferry.config.ts here' });
      config = await loadConfig(path);
    }
    if (typeof flags['state-dir'] === 'string') config = deepFreeze({ ...config, stateDir: resolve(flags['state-dir']) });
    // --pg-dump: the pg_dump every postgres store dumps its schema with (its pgDump option).
    const pgDump = flags['pg-dump'];
    if (typeof pgDump === 'string') config = deepFreeze({ ...config, stores: config.stores.map((s) => (s.engine === 'postgres' ? { ...s, options: { ...s.options, pgDump: resolve(pgDump) } } : s)) });
    redactor.add(...configSecrets(config));
    if (abort.signal.aborted) return 130;

    const prep = await def.prepare({ config, flags, redactor, dryRun });
    const warnings: string[] = [];
    if (prep.cleanup) cleanups.push(() => prep.cleanup!());
    const view: View = json ? createJsonView(out, redactor)
      : dryRun ? createPlanView(out)
      : process.stdout.isTTY === true ? createListrView(prep.playbook.steps, { verbose: flags.verbose === true })
      : createPlainView(out, { verbose: flags.verbose === true });
    const result = await runPlaybook({
      playbook: prep.playbook, config, ctx: prep.ctx, stateDir: prep.stateDir, redactor, dryRun,
      undoOnFailure: flags['undo-on-failure'] === true || prep.undoOnFailure === true,
      breakStaleLock: flags['break-stale-lock'] === true,
      ...(typeof flags['restart-from'] === 'string' ? { restartFrom: flags['restart-from'] } : {}),
      signal: abort.signal,
      onEvent: (e) => {
        // A renderer shows a step's latest line only: warnings are repeated once the run is drawn.
        if (!json && e.type === 'log' && e.level === 'warn') warnings.push(`⚠ ${e.step ? `${e.step}: ` : ''}${e.message}`);
        view.onEvent(e);
      },
    });
    await view.finish(result);
    if (warnings.length > 0) err(`${warnings.join('\n')}\n`);
    if (!json && result.completedAt) out(`${completedLine(def.id, result.completedAt, prep.playbook.steps[0]?.id)}\n`);
    if (!json) reportFailures(result, err);
    return (def.exitCode ?? defaultExitCode)(result);
  } catch (e) {
    return abort.signal.aborted ? (fail(e), 130) : fail(e);
  } finally {
    for (const c of cleanups.reverse()) await c().catch((e: unknown) => err(`${formatError(redactor.redactValue(toFerryError(e).toJSON()) as never)}\n`));
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** What a completed playbook's re-run says, and how to redo. */
export function completedLine(id: string, at: string, first: string | undefined): string {
  return `✔ ${id} completed at ${at}: nothing to do. To run a step and those after it again: --restart-from STEP${first ? ` (everything: --restart-from ${first})` : ''}`;
}

function reportFailures(result: RunResult, err: (s: string) => void): void {
  const errors = [result.error, ...result.steps.map((s) => s.error)].filter((e) => e !== undefined);
  for (const e of errors) err(`${formatError(e)}\n`);
  if (result.status === 'cancelled') err('Cancelled. The journal is intact: re-run the same command to resume.\n');
}
