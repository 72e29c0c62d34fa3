import type { Journal, JournalEntry } from './types.ts';

/** A journal in memory, for unit tests and library calls that keep no state. */
export function createMemoryJournal(initial: readonly JournalEntry[] = []): Journal {
  const entries = new Map<string, JournalEntry>(initial.map((e) => [e.id, e]));
  let completed: string | undefined;
  return {
    async record(entry) { entries.set(entry.id, structuredClone(entry)); completed = undefined; },
    async unrecord(stepId) { entries.delete(stepId); completed = undefined; },
    async list() { return [...entries.values()].map((e) => structuredClone(e)); },
    async get(stepId) {
      const e = entries.get(stepId);
      return e === undefined ? undefined : structuredClone(e);
    },
    async completedAt() { return completed; },
    async markCompleted(at) { completed = at; },
    async reset() {
      if (entries.size === 0 && completed === undefined) return undefined;
      entries.clear(); completed = undefined;
      return 'memory';
    },
  };
}
