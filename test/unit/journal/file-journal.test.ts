import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileJournal, createMemoryJournal, journalPath, readJournal, readJournalOutputs, type Journal, type JournalEntry } from '../../../lib/journal/index.ts';

const entry = (id: string, extra: Partial<JournalEntry> = {}): JournalEntry => ({
  id, title: `Step ${id}`, status: 'done', startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:01.000Z',
  durationMs: 1000, outputs: { artifacts: [{ path: `/x/${id}`, sha256: 'ab'.repeat(32), bytes: 3 }] }, ...extra,
});

const contract = (name: string, make: () => Journal) => describe(`${name} journal`, () => {
  it('records, replaces in place, lists in first-recorded order, and forgets', async () => {
    const j = make();
    await j.record(entry('a'));
    await j.record(entry('b'));
    await j.record(entry('a', { fingerprint: 'f2' }));
    expect((await j.list()).map((e) => e.id)).toEqual(['a', 'b']);
    expect((await j.get('a'))?.fingerprint).toBe('f2');
    await j.unrecord('a');
    await j.unrecord('a');
    expect((await j.list()).map((e) => e.id)).toEqual(['b']);
    expect(await j.get('a')).toBeUndefined();
  });

  it('keeps every concurrent record', async () => {
    const j = make();
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((id) => j.record(entry(id))));
    expect((await j.list()).map((e) => e.id).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
  });
});

contract('memory', () => createMemoryJournal());
contract('file', () => createFileJournal(mkdtempSync(join(tmpdir(), 'ferry-journal-')), 'p'));

describe('file journal', () => {
  it('reads without creating anything, and writes with no temp file left behind', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'ferry-journal-')), 'state');
    const j = createFileJournal(dir, 'migrate');
    expect(await j.list()).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    await j.record(entry('a'));
    expect(readdirSync(dir)).toEqual(['journal.migrate.json']);
    expect(await readJournal(dir, 'migrate')).toEqual([entry('a')]);
    expect(await readJournal(dir, 'rollback')).toEqual([]);
    expect(await readJournalOutputs(dir, 'migrate')).toEqual(new Map([['a', entry('a').outputs]]));
  });

  it('refuses a torn or foreign journal with a message naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-journal-'));
    writeFileSync(journalPath(dir, 'p'), '{"version":1,"entries":[');
    await expect(createFileJournal(dir, 'p').list()).rejects.toMatchObject({ code: 'E_JOURNAL_CORRUPT', message: expect.stringContaining(journalPath(dir, 'p')) });
    mkdirSync(join(dir, 'v'));
    writeFileSync(journalPath(join(dir, 'v'), 'p'), '{"version":99,"entries":[]}');
    await expect(createFileJournal(join(dir, 'v'), 'p').list()).rejects.toMatchObject({ code: 'E_JOURNAL_VERSION' });
  });
});
