/**
 * Step `stop-writers`: run the operator's commands that stop the app's writers on the host
 * (`freeze.stopWriters`, e.g. `brew services stop vedfolnir`). Intent is written to
 * `<stateDir>/writers.json` first, so a failure or a kill right after still starts them again.
 * `undo` runs `freeze.startWriters`.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { defineStep } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext } from './context.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { runCommands } from '../freeze/commands.ts';

const file = (stateDir: string) => join(stateDir, 'writers.json');
const startedFile = (stateDir: string) => join(stateDir, 'writers-started-at');

export async function writersStopped(stateDir: string): Promise<boolean> {
  return readFile(file(stateDir), 'utf8').then((t) => (JSON.parse(t) as { stopped?: boolean }).stopped === true, () => false);
}

/** Record that the host's writers were started again (stop-writers then runs again on resume). */
export async function markWritersStarted(stateDir: string): Promise<void> {
  await writeFileAtomic(startedFile(stateDir), new Date().toISOString());
  await rm(file(stateDir), { force: true });
}

/** Start the writers again when this run stopped them; returns the commands run. */
export async function startWriters(config: Config, stateDir: string, signal?: AbortSignal): Promise<readonly string[]> {
  if (!(await writersStopped(stateDir))) return [];
  await runCommands(config.freeze.startWriters, 'startWriters', signal ? { signal } : {});
  await markWritersStarted(stateDir);
  return config.freeze.startWriters;
}

export default defineStep<Config, FerryContext>({
  id: 'stop-writers',
  title: 'Stop the app\'s writers on the host',
  // Started again since it ran (a failure lifted the freeze): a resume stops them again.
  fingerprint: ({ stateDir }) => readFile(startedFile(stateDir), 'utf8').catch(() => 'never'),
  async plan({ config }) {
    return { reads: [], changes: config.freeze.stopWriters.map((c) => `run \`${c}\``), pending: config.freeze.stopWriters.length > 0 };
  },
  async run({ config, stateDir, signal, log }) {
    if (!config.freeze.stopWriters.length) return { data: { stopped: [] } };
    await writeFileAtomic(file(stateDir), JSON.stringify({ stopped: true, at: new Date().toISOString() }));
    await runCommands(config.freeze.stopWriters, 'stopWriters', { signal });
    log.info(`writers stopped: ${config.freeze.stopWriters.join('; ')}`);
    return { data: { stopped: config.freeze.stopWriters } };
  },
  async undo({ config, stateDir, log }) {
    for (const c of await startWriters(config, stateDir)) log.info(`ran \`${c}\``);
  },
});
