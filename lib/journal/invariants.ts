/** Checks made before a run touches anything: the journal must describe this playbook's steps. */
import { FerryError } from '../core/errors.ts';
import type { JournalEntry } from './types.ts';

/**
 * Refuse a journal that names steps the playbook does not have (a renamed or removed step): resuming
 * would skip or repeat work on a guess.
 */
export function assertJournalMatches(playbook: { readonly id: string; readonly steps: readonly { readonly id: string }[] }, entries: readonly JournalEntry[], where: string): void {
  const known = new Set(playbook.steps.map((s) => s.id));
  const unknown = entries.filter((e) => !known.has(e.id)).map((e) => e.id);
  if (unknown.length > 0) {
    throw new FerryError('E_JOURNAL_MISMATCH', `the journal ${where} names step${unknown.length > 1 ? 's' : ''} ${unknown.map((s) => `"${s}"`).join(', ')} that playbook "${playbook.id}" does not have`, {
      hint: 'a step was renamed or removed since that run: finish it with the ferry version that started it, or move the journal aside to start over',
    });
  }
}
