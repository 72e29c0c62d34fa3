/**
 * unpublish:<store> hands a following store's service over before the freeze: its entry in the migration
 * override is emptied (not removed: docker-compose v1 refuses `services: {}`), the others stay byte for byte
 * as compose-data-up rendered them, and undo puts the entry back.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { overrideServices, overrideWith, overrideWithout, renderMigrationOverride } from '../../../lib/compose/migration-access.ts';

const access = { ports: { mysql: 33306, redis: 36379 }, mysql: { localInfile: true, characterSet: 'utf8mb4' } };

describe('migration override hand-over', () => {
  it('lists the services the override publishes; an absent file publishes none', () => {
    expect(overrideServices(renderMigrationOverride(access))).toEqual(['mysql', 'redis']);
    expect(overrideServices('')).toEqual([]);
  });

  it('empties one service\'s entry (it adds nothing to the service any more), keeps the rest, and puts it back', () => {
    const text = renderMigrationOverride(access);
    const { text: without, entry } = overrideWithout(text, 'mysql');
    expect(overrideServices(without)).toEqual(['redis']);
    const doc = parse(without) as { services: Record<string, Record<string, unknown>>; networks: Record<string, unknown> };
    expect(doc.services.mysql).toEqual({});
    expect((doc.services.redis as { ports: string[] }).ports).toEqual(['127.0.0.1:36379:6379']);
    expect(Object.keys(doc.networks)).toHaveLength(1);
    expect((entry as { ports: string[]; command: string[] }).ports).toEqual(['127.0.0.1:33306:3306']);
    expect((entry as { command: string[] }).command).toContain('--local-infile=1');
    // Both handed over: a services map of empty entries, never `services: {}`.
    const none = overrideWithout(without, 'redis').text;
    expect(overrideServices(none)).toEqual([]);
    expect(Object.keys((parse(none) as { services: object }).services)).toEqual(['mysql', 'redis']);
    // Undo: back to what compose-data-up wrote, byte for byte (its check compares the file).
    expect(overrideWith(without, 'mysql', entry)).toBe(text);
  });
});
