/**
 * A finished playbook stays finished: its re-run calls no hook (not even verify, which may no longer
 * hold once the app moved on), says when it completed, and exits ok; --restart-from redoes from a step;
 * a read-only playbook (verify) checks again every time.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPlaybook } from '../../../lib/runner/index.ts';
import { createFileJournal, createMemoryJournal } from '../../../lib/journal/index.ts';
import { base, collect, createWorld, playbookOf, statuses } from './world.ts';

const IDS = ['freeze', 'export', 'import', 'cutover'];

describe('a completed playbook', () => {
  it('re-runs as a no-op: no hook called, every step "completed at …", a log line with the way to redo', async () => {
    const w = createWorld();
    const journal = createMemoryJournal();
    const first = await runPlaybook({ ...base(), playbook: playbookOf(w, IDS), journal });
    expect(first.status).toBe('ok');
    expect(first.completedAt).toBeUndefined();
    const at = await journal.completedAt();
    expect(at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);

    // The app moved on after the cutover: verify of "import" no longer holds. A re-run must not notice.
    w.state.set('import', 'advanced by the app');
    w.calls.length = 0;
    const { events, onEvent } = collect();
    const again = await runPlaybook({ ...base(), playbook: playbookOf(w, IDS), journal, onEvent });
    expect(again).toMatchObject({ status: 'ok', completedAt: at });
    expect(statuses(again)).toEqual(IDS.map((id) => `${id}:skipped`));
    expect(again.steps.every((s) => s.reason === `completed at ${at}`)).toBe(true);
    expect(w.calls).toEqual([]);
    expect(w.state.get('import')).toBe('advanced by the app');
    expect(events.map((e) => e.type)).toEqual(['run-start', 'log', 'step-skip', 'step-skip', 'step-skip', 'step-skip', 'run-end']);
    const log = events.find((e) => e.type === 'log') as { message: string };
    expect(log.message).toBe(`test completed at ${at}: nothing to do. To run a step and those after it again: --restart-from <step> (everything: --restart-from freeze)`);
    // The completion is not moved by a no-op run.
    expect(await journal.completedAt()).toBe(at);
  });

  it('is redone from a step with restartFrom, then completed again', async () => {
    const w = createWorld();
    const journal = createMemoryJournal();
    await runPlaybook({ ...base(), playbook: playbookOf(w, IDS), journal });
    const at = await journal.completedAt();
    w.calls.length = 0;
    const redo = await runPlaybook({ ...base(), playbook: playbookOf(w, IDS), journal, restartFrom: 'import' });
    expect(redo.completedAt).toBeUndefined();
    expect(statuses(redo)).toEqual(['freeze:skipped', 'export:skipped', 'import:done', 'cutover:done']);
    expect(w.calls.filter((c) => c.startsWith('run:'))).toEqual(['run:import', 'run:cutover']);
    const again = await journal.completedAt();
    expect(again).toBeDefined();
    expect(again! >= at!).toBe(true);
  });

  it('is not completed by a failed, cancelled or partly undone run, and becomes unfinished when a step is added', async () => {
    const w = createWorld();
    const journal = createMemoryJournal();
    w.faults.set('cutover', 'throw');
    expect((await runPlaybook({ ...base(), playbook: playbookOf(w, IDS), journal })).status).toBe('failed');
    expect(await journal.completedAt()).toBeUndefined();
    w.faults.clear();
    expect((await runPlaybook({ ...base(), playbook: playbookOf(w, IDS), journal })).status).toBe('ok');
    expect(await journal.completedAt()).toBeDefined();

    // A new store in the config generates a new step: the run resumes, only the new step runs.
    w.calls.length = 0;
    const grown = await runPlaybook({ ...base(), playbook: playbookOf(w, [...IDS, 'report']), journal });
    expect(grown.completedAt).toBeUndefined();
    expect(statuses(grown).at(-1)).toBe('report:done');
    expect(w.calls.filter((c) => c.startsWith('run:'))).toEqual(['run:report']);
  });

  it('a dry run of a completed playbook plans nothing and calls no hook', async () => {
    const w = createWorld();
    const journal = createMemoryJournal();
    await runPlaybook({ ...base(), playbook: playbookOf(w, IDS), journal });
    w.calls.length = 0;
    const plan = await runPlaybook({ ...base(), playbook: playbookOf(w, IDS), journal, dryRun: true });
    expect(plan).toMatchObject({ status: 'planned', pending: false, completedAt: expect.any(String) });
    expect(plan.steps.every((s) => s.plan?.pending === false)).toBe(true);
    expect(w.calls).toEqual([]);
    const replan = await runPlaybook({ ...base(), playbook: playbookOf(w, IDS), journal, dryRun: true, restartFrom: 'export' });
    expect(replan.completedAt).toBeUndefined();
    expect(w.calls).toContain('plan:export');
  });

  it('a read-only playbook (verify) runs its checks every time and is never marked completed', async () => {
    const w = createWorld();
    const journal = createMemoryJournal();
    const verify = { ...playbookOf(w, ['check-a', 'check-b']), readOnly: true };
    await runPlaybook({ ...base(), playbook: verify, journal });
    expect(await journal.completedAt()).toBeUndefined();
    w.calls.length = 0;
    const r = await runPlaybook({ ...base(), playbook: verify, journal });
    expect(r.completedAt).toBeUndefined();
    expect(w.calls).toEqual(['verify:check-a', 'verify:check-b']);
    w.state.delete('check-b');
    const broken = await runPlaybook({ ...base(), playbook: verify, journal });
    expect(statuses(broken)).toEqual(['check-a:skipped', 'check-b:done']);
  });

  it('keeps the completion in the file journal, dropped by the next record', async () => {
    const w = createWorld();
    const opts = base();
    await runPlaybook({ ...opts, playbook: playbookOf(w, IDS) });
    const file = JSON.parse(readFileSync(join(opts.stateDir, 'journal.test.json'), 'utf8')) as { completedAt?: string };
    expect(file.completedAt).toMatch(/^\d{4}-/);
    const journal = createFileJournal(opts.stateDir, 'test');
    expect(await journal.completedAt()).toBe(file.completedAt);
    const again = await runPlaybook({ ...opts, playbook: playbookOf(w, IDS) });
    expect(again.completedAt).toBe(file.completedAt);
    await journal.unrecord('cutover');
    expect(await journal.completedAt()).toBeUndefined();
    await journal.markCompleted('2026-01-01T00:00:00.000Z');
    await journal.record((await journal.get('freeze'))!);
    expect(await journal.completedAt()).toBeUndefined();
  });
});
