/**
 * A playbook that reverses another (rollback → migrate): once it completes, the other's journal is reset
 * (its next run starts from the first step); when the other ran again since, this one starts over too.
 * Both journals in memory, the other reached through `journalOf`.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPlaybook, type Playbook, type RunEvent } from '../../../lib/runner/index.ts';
import { createFileJournal, createMemoryJournal } from '../../../lib/journal/index.ts';
import type { Journal } from '../../../lib/journal/types.ts';
import { base, collect, createWorld, playbookOf, statuses, type World } from './world.ts';

const MIGRATE = ['preflight', 'export', 'import', 'cutover'];
const ROLLBACK = ['stop-stack', 'restore-env', 'restart-host'];
// Journal times are ISO milliseconds: runs in the same millisecond would not be ordered.
const tick = () => new Promise((r) => setTimeout(r, 5));

function setup() {
  const w = createWorld();
  const journals = new Map<string, Journal>([['migrate', createMemoryJournal()], ['rollback', createMemoryJournal()]]);
  const journalOf = (id: string) => journals.get(id)!;
  const migrate: Playbook<unknown, unknown> = { ...playbookOf(w, MIGRATE), id: 'migrate' };
  const rollback: Playbook<unknown, unknown> = { ...playbookOf(w, ROLLBACK), id: 'rollback', reverses: 'migrate' };
  const run = (p: Playbook<unknown, unknown>, o: { dryRun?: boolean; onEvent?: (e: RunEvent) => void } = {}) =>
    runPlaybook({ ...base(), playbook: p, journal: journalOf(p.id), journalOf, ...o });
  return { w, journalOf, migrate, rollback, run };
}

const runs = (w: World) => w.calls.filter((c) => c.startsWith('run:'));

describe('a playbook that reverses another (rollback → migrate)', () => {
  it('once completed, resets the migrate journal: migrate runs again from its first step', async () => {
    const { w, journalOf, migrate, rollback, run } = setup();
    expect((await run(migrate)).status).toBe('ok');
    expect(await journalOf('migrate').completedAt()).toBeDefined();
    await tick();
    const { events, onEvent } = collect();
    const rb = await run(rollback, { onEvent });
    expect(statuses(rb)).toEqual(ROLLBACK.map((id) => `${id}:done`));
    expect(await journalOf('migrate').list()).toEqual([]);
    expect(await journalOf('migrate').completedAt()).toBeUndefined();
    const log = events.filter((e) => e.type === 'log').map((e) => (e as { message: string }).message);
    expect(log).toContain('rollback completed: the migrate journal is reset (kept as memory); the next migrate starts from its first step, from the source as it is then');

    await tick();
    w.calls.length = 0;
    const again = await run(migrate);
    expect(again.completedAt).toBeUndefined();
    expect(statuses(again)).toEqual(MIGRATE.map((id) => `${id}:done`));
    expect(runs(w)).toEqual(MIGRATE.map((id) => `run:${id}`));
  });

  it('re-run after completion is a no-op; after a new migrate it runs again (its old journal no longer describes anything)', async () => {
    const { w, journalOf, migrate, rollback, run } = setup();
    await run(migrate); await tick();
    await run(rollback); await tick();
    w.calls.length = 0;
    const noop = await run(rollback);
    expect(noop.completedAt).toBeDefined();
    expect(w.calls).toEqual([]);

    await tick();
    await run(migrate); await tick();
    w.calls.length = 0;
    const { events, onEvent } = collect();
    const second = await run(rollback, { onEvent });
    expect(second.completedAt).toBeUndefined();
    expect(statuses(second)).toEqual(ROLLBACK.map((id) => `${id}:done`));
    expect(runs(w)).toEqual(ROLLBACK.map((id) => `run:${id}`));
    expect(events.some((e) => e.type === 'log' && e.message.startsWith('migrate ran again since this rollback: starting it over'))).toBe(true);
    // …and it reset the migrate journal again.
    expect(await journalOf('migrate').list()).toEqual([]);
  });

  it('a failed rollback leaves the migrate journal as it was; its resumed completion resets it', async () => {
    const { w, journalOf, migrate, rollback, run } = setup();
    await run(migrate); await tick();
    const before = await journalOf('migrate').list();
    w.faults.set('restore-env', 'throw');
    const failed = await run(rollback);
    expect(failed.status).toBe('failed');
    expect(await journalOf('migrate').list()).toEqual(before);
    expect(await journalOf('migrate').completedAt()).toBeDefined();

    w.faults.clear();
    w.calls.length = 0;
    const resumed = await run(rollback);
    expect(statuses(resumed)).toEqual(['stop-stack:skipped', 'restore-env:done', 'restart-host:done']);
    expect(await journalOf('migrate').list()).toEqual([]);
  });

  it('killed between its completion and the reset: the no-op re-run finishes the reset', async () => {
    const { journalOf, migrate, rollback, run } = setup();
    await run(migrate); await tick();
    // The state a SIGKILL right after markCompleted leaves: rollback completed, migrate untouched.
    const rbJournal = journalOf('rollback');
    for (const id of ROLLBACK) {
      const t = new Date().toISOString();
      await rbJournal.record({ id, title: id, status: 'done', startedAt: t, finishedAt: t, durationMs: 1, outputs: {} });
    }
    await rbJournal.markCompleted(new Date().toISOString());
    expect(await journalOf('migrate').completedAt()).toBeDefined();
    const noop = await run(rollback);
    expect(noop.completedAt).toBeDefined();
    expect(await journalOf('migrate').list()).toEqual([]);
    expect(await journalOf('migrate').completedAt()).toBeUndefined();
  });

  it('a dry run of a rollback superseded by a new migrate plans every step and changes nothing', async () => {
    const { w, journalOf, migrate, rollback, run } = setup();
    await run(migrate); await tick();
    await run(rollback); await tick();
    await run(migrate); await tick();
    const rbBefore = await journalOf('rollback').list();
    w.calls.length = 0;
    const plan = await run(rollback, { dryRun: true });
    expect(plan.status).toBe('planned');
    expect(plan.completedAt).toBeUndefined();
    expect(w.calls.filter((c) => c.startsWith('plan:'))).toEqual(ROLLBACK.map((id) => `plan:${id}`));
    expect(runs(w)).toEqual([]);
    expect(await journalOf('rollback').list()).toEqual(rbBefore);
    expect(await journalOf('migrate').completedAt()).toBeDefined();
  });
});

describe('the file journal reset', () => {
  it('moves the journal aside (kept, readable) and the next list is empty; nothing to reset is undefined', async () => {
    const { stateDir } = base();
    const j = createFileJournal(stateDir, 'migrate');
    expect(await j.reset()).toBeUndefined();
    const t = new Date().toISOString();
    await j.record({ id: 'export', title: 'Export', status: 'done', startedAt: t, finishedAt: t, durationMs: 1, outputs: { data: { n: 1 } } });
    await j.markCompleted(t);
    const kept = await j.reset();
    expect(kept).toMatch(/journal\.migrate\.reset-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z\.json$/);
    expect(JSON.parse(readFileSync(kept!, 'utf8'))).toMatchObject({ playbook: 'migrate', completedAt: t, entries: [{ id: 'export' }] });
    expect(existsSync(join(stateDir, 'journal.migrate.json'))).toBe(false);
    expect(await j.list()).toEqual([]);
    expect(await j.completedAt()).toBeUndefined();
    expect(readdirSync(stateDir).filter((f) => f.startsWith('journal.'))).toEqual([kept!.split('/').at(-1)]);
  });

  it('through runPlaybook with file journals: rollback completion resets migrate in the state directory', async () => {
    const w = createWorld();
    const { stateDir, ...rest } = base();
    const migrate: Playbook<unknown, unknown> = { ...playbookOf(w, MIGRATE), id: 'migrate' };
    const rollback: Playbook<unknown, unknown> = { ...playbookOf(w, ROLLBACK), id: 'rollback', reverses: 'migrate' };
    expect((await runPlaybook({ ...rest, stateDir, playbook: migrate })).status).toBe('ok');
    await tick();
    expect((await runPlaybook({ ...rest, stateDir, playbook: rollback })).status).toBe('ok');
    expect(await createFileJournal(stateDir, 'migrate').list()).toEqual([]);
    expect(await createFileJournal(stateDir, 'rollback').completedAt()).toBeDefined();
    w.calls.length = 0;
    const again = await runPlaybook({ ...rest, stateDir, playbook: migrate });
    expect(statuses(again)).toEqual(MIGRATE.map((id) => `${id}:done`));
  });
});
