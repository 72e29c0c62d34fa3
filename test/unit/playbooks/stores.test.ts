import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileJournal } from '../../../lib/journal/index.ts';
import { normalizeConfig } from '../../../lib/config/index.ts';
import { refuseLegacyState, storeSpecs, withEngineOptions } from '../../../lib/playbooks/index.ts';
import { isFerryError } from '../../../lib/core/errors.ts';

const entry = (id: string) => ({ id, title: id, status: 'done' as const, startedAt: 't', finishedAt: 't', durationMs: 1, outputs: {} });

describe('state directories from before stores', () => {
  it('refuses a journal naming the old step ids, saying what they became and what to do', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-legacy-'));
    const j = createFileJournal(dir, 'migrate');
    for (const id of ['preflight', 'freeze', 'mysql-export']) await j.record(entry(id));
    const err = await refuseLegacyState(dir, 'migrate').catch((e: unknown) => e);
    expect(isFerryError(err) && err.code).toBe('E_STATE_LEGACY');
    expect((err as Error).message).toContain('steps "freeze", "mysql-export"');
    expect((err as Error).message).toContain('now freeze:<store> + prove-quiet, export:mysql');
    expect(isFerryError(err) && err.hint).toMatch(/move .* aside .* ferry version that started it/);
  });

  it('accepts an empty state directory and a journal of per-store steps', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-legacy-'));
    await expect(refuseLegacyState(dir, 'migrate')).resolves.toBeUndefined();
    await createFileJournal(dir, 'migrate').record(entry('export:mysql'));
    await expect(refuseLegacyState(dir, 'migrate')).resolves.toBeUndefined();
  });
});

describe('store options at the boundary', () => {
  const config = () => normalizeConfig({
    app: { envFile: '.env' }, target: { composeDir: 'c', project: 'p' },
    stores: [{ id: 'cache', engine: 'redis', source: 'redis://127.0.0.1:6379', target: { service: 'cache', migrationPort: 36379 }, options: { path: 'sideways' } }],
  }, { baseDir: '/srv', env: {} });

  it('names the store and field when its engine refuses an option', () => {
    expect(() => withEngineOptions(config())).toThrow(/stores\[cache\]\.options\.path: got "sideways"/);
  });

  it('pairs each store with its registered engine (none for a kind not registered)', () => {
    const c = normalizeConfig({ app: { envFile: '.env' }, target: { composeDir: 'c', project: 'p' },
      stores: [{ id: 'docs', engine: 'files', source: '/srv/docs', target: { service: 'web', volume: 'docs', containerPath: '/docs' } }] }, { baseDir: '/srv', env: {} });
    expect(storeSpecs(c, {}).map((s) => [s.store.id, s.engine])).toEqual([['docs', undefined]]);
  });
});
