/**
 * The journal as a JSON file in the state directory, rewritten atomically on every change (temp file,
 * fsync, rename): a SIGKILL at any instant leaves the previous or the next journal, never a torn one.
 * Reading never creates anything, so dry runs can read it.
 */
import { readFile, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FerryError } from '../core/errors.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import type { StepOutputs } from '../core/step.ts';
import type { Journal, JournalEntry } from './types.ts';

export const JOURNAL_VERSION = 1;

interface JournalFile {
  readonly version: number;
  readonly playbook: string;
  /** Set when the whole playbook completed; dropped by the next record or unrecord. */
  readonly completedAt?: string;
  readonly entries: JournalEntry[];
}

/** Where the journal of `playbook` lives in `stateDir`. */
export function journalPath(stateDir: string, playbook = 'ferry'): string {
  return join(stateDir, `journal.${playbook}.json`);
}

/**
 * A file journal for one playbook in `stateDir` (`<stateDir>/journal.<playbook>.json`). Playbooks that
 * share a state directory keep separate journals; read another's with `readJournal`.
 */
export function createFileJournal(stateDir: string, playbook = 'ferry'): Journal {
  const path = journalPath(stateDir, playbook);
  const load = async () => (await readJournalFile(path)).entries;
  const save = (entries: JournalEntry[], completedAt?: string) =>
    writeFileAtomic(path, `${JSON.stringify({ version: JOURNAL_VERSION, playbook, ...(completedAt ? { completedAt } : {}), entries } satisfies JournalFile, null, 2)}\n`);
  // One writer at a time inside this process: concurrent record/unrecord calls must not lose updates.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => undefined);
    return next;
  };
  return {
    record: (entry) => serial(async () => {
      const entries = await load();
      const i = entries.findIndex((e) => e.id === entry.id);
      if (i >= 0) entries[i] = entry; else entries.push(entry);
      await save(entries);
    }),
    unrecord: (stepId) => serial(async () => {
      const file = await readJournalFile(path);
      const rest = file.entries.filter((e) => e.id !== stepId);
      if (rest.length !== file.entries.length || file.completedAt) await save(rest);
    }),
    list: () => serial(load),
    get: (stepId) => serial(async () => (await load()).find((e) => e.id === stepId)),
    completedAt: () => serial(async () => (await readJournalFile(path)).completedAt),
    markCompleted: (at) => serial(async () => save(await load(), at)),
    // Kept beside it, renamed (atomic): what the earlier run did stays readable.
    reset: () => serial(async () => {
      const kept = join(dirname(path), `journal.${playbook}.reset-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
      try {
        await rename(path, kept);
        return kept;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new FerryError('E_JOURNAL_WRITE', `cannot move the journal ${path} aside`, { hint: 'check the state directory\'s permissions', cause: e });
      }
    }),
  };
}

/** The entries of `playbook`'s journal in `stateDir` (empty when it has none). */
export async function readJournal(stateDir: string, playbook = 'ferry'): Promise<JournalEntry[]> {
  return (await readJournalFile(journalPath(stateDir, playbook))).entries;
}

/** When `playbook`'s journal in `stateDir` says it completed (ISO time), or undefined. */
export async function readJournalCompletion(stateDir: string, playbook: string): Promise<string | undefined> {
  return (await readJournalFile(journalPath(stateDir, playbook))).completedAt;
}

/** The outputs recorded by `playbook` in `stateDir`, by step id: `RunOptions.inputs` for a playbook that reads another's (rollback reading migrate's backup). */
export async function readJournalOutputs(stateDir: string, playbook: string): Promise<Map<string, StepOutputs>> {
  return new Map((await readJournal(stateDir, playbook)).map((e) => [e.id, e.outputs]));
}

async function readJournalFile(path: string): Promise<{ entries: JournalEntry[]; completedAt?: string }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [] };
    throw new FerryError('E_JOURNAL_READ', `cannot read the journal ${path}`, { hint: 'check the state directory\'s permissions', cause: e });
  }
  let parsed: Partial<JournalFile>;
  try {
    parsed = JSON.parse(text) as Partial<JournalFile>;
  } catch (e) {
    throw new FerryError('E_JOURNAL_CORRUPT', `the journal ${path} is not valid JSON`, {
      hint: 'it was edited by hand or written by something else: restore it, or move it aside to start over',
      cause: e,
    });
  }
  if (parsed.version !== JOURNAL_VERSION || !Array.isArray(parsed.entries)) {
    throw new FerryError('E_JOURNAL_VERSION', `the journal ${path} has version ${String(parsed.version)}, expected ${JOURNAL_VERSION}`, {
      hint: 'it was written by another ferry version: finish or roll back with that version, or move it aside',
    });
  }
  return { entries: parsed.entries, ...(typeof parsed.completedAt === 'string' ? { completedAt: parsed.completedAt } : {}) };
}
