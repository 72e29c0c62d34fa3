/** The journal: what ran, with which inputs and outputs; the run lock; the invariants checked first. */
export type { Journal, JournalEntry } from './types.ts';
export { createMemoryJournal } from './memory-journal.ts';
export { createFileJournal, readJournal, readJournalOutputs, readJournalCompletion, journalPath, JOURNAL_VERSION } from './file-journal.ts';
export { acquireRunLock, readLock, isStale, lockPath } from './run-lock.ts';
export type { RunLock, RunLockOptions, LockInfo, LockBreak } from './run-lock.ts';
export { assertJournalMatches } from './invariants.ts';
