/**
 * A demo kept with FERRY_DEMO_KEEP=1 is remembered (`<tmpdir>/ferry-demo-kept.json` points at its
 * directory; its config, with the throwaway passwords, stays in that 0700 directory as a 0600 file), so
 * `verify --demo` and `rollback --demo` reuse it while its servers run, its migrate completed and no
 * rollback has completed since.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigInput } from '../lib/config/index.ts';
import { readJournalCompletion } from '../lib/journal/index.ts';
import { exec } from '../lib/util/exec.ts';
import { DEMO_RUN_LABEL } from './servers.ts';

const POINTER = join(tmpdir(), 'ferry-demo-kept.json');

interface KeptPointer { readonly base: string; readonly run: string; readonly project: string }

export interface KeptDemo extends KeptPointer {
  readonly input: ConfigInput;
  readonly migratedAt: string;
}

export async function rememberKeptDemo(d: KeptPointer & { readonly input: ConfigInput }): Promise<void> {
  await writeFile(join(d.base, 'demo.json'), JSON.stringify(d.input), { mode: 0o600 });
  await writeFile(POINTER, JSON.stringify({ base: d.base, run: d.run, project: d.project } satisfies KeptPointer));
}

export async function forgetKeptDemo(): Promise<void> {
  await rm(POINTER, { force: true });
}

/** Where the kept demo is, reusable or not (for removing it). */
export async function keptPointer(): Promise<KeptPointer | undefined> {
  try { return JSON.parse(await readFile(POINTER, 'utf8')) as KeptPointer; } catch { return undefined; }
}

/** The kept demo when it can be reused as it is; undefined otherwise. */
export async function keptDemo(): Promise<KeptDemo | undefined> {
  try {
    const p = JSON.parse(await readFile(POINTER, 'utf8')) as KeptPointer;
    const input = JSON.parse(await readFile(join(p.base, 'demo.json'), 'utf8')) as ConfigInput;
    const stateDir = join(p.base, 'state');
    const migratedAt = await readJournalCompletion(stateDir, 'migrate');
    if (!migratedAt || (await readJournalCompletion(stateDir, 'rollback'))) return undefined;
    const running = await exec('docker', ['ps', '-q', '--filter', `label=${DEMO_RUN_LABEL}=${p.run}`]);
    if (running.exitCode !== 0 || running.stdout.trim().split('\n').filter(Boolean).length < 2) return undefined;
    return { ...p, input, migratedAt };
  } catch {
    return undefined;
  }
}
