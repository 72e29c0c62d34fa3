import { describe, expect, it } from 'vitest';
import { existsSync, writeFileSync } from 'node:fs';
import { artifactOf } from '../../../lib/util/sha256.ts';
import { join } from 'node:path';
import { runPlaybook } from '../../../lib/runner/index.ts';
import { defineStep } from '../../../lib/core/step.ts';
import { createMemoryJournal, createFileJournal } from '../../../lib/journal/index.ts';
import { base, collect, createWorld, playbookOf, statuses } from './world.ts';

const IDS = ['a', 'b', 'c', 'd'];

describe('runPlaybook', () => {
  it('runs every step, records each after verify, and skips them all on a re-run', async () => {
    const w = createWorld();
    const journal = createMemoryJournal();
    const first = await runPlaybook({ ...base(), playbook: playbookOf(w, IDS), journal });
    expect(first.status).toBe('ok');
    expect(statuses(first)).toEqual(['a:done', 'b:done', 'c:done', 'd:done']);
    expect((await journal.list()).map((e) => e.id)).toEqual(IDS);
    expect(w.calls.filter((c) => c.startsWith('run:'))).toEqual(IDS.map((id) => `run:${id}`));

    w.calls.length = 0;
    const second = await runPlaybook({ ...base(), playbook: playbookOf(w, IDS), journal });
    expect(statuses(second)).toEqual(['a:skipped', 'b:skipped', 'c:skipped', 'd:skipped']);
    expect(second.steps[0]?.reason).toMatch(/^completed at \d{4}-\d\d-\d\dT/);
    expect(w.calls.some((c) => c.startsWith('run:'))).toBe(false);
  });

  it('on resume, skips a recorded step whose inputs are unchanged and whose verify holds', async () => {
    const w = createWorld();
    const journal = createMemoryJournal();
    w.faults.set('d', 'throw');
    await runPlaybook({ ...base(), playbook: playbookOf(w, IDS), journal });
    w.faults.clear();
    w.calls.length = 0;
    const r = await runPlaybook({ ...base(), playbook: playbookOf(w, IDS), journal });
    expect(statuses(r)).toEqual(['a:skipped', 'b:skipped', 'c:skipped', 'd:done']);
    expect(r.steps[0]?.reason).toMatch(/inputs unchanged and verify holds/);
    expect(w.calls.filter((c) => c.startsWith('run:'))).toEqual(['run:d']);
  });

  it('on resume, runs again a step whose input changed, and only that one', async () => {
    const w = createWorld();
    const journal = createMemoryJournal();
    w.faults.set('d', 'throw');
    await runPlaybook({ ...base(), playbook: playbookOf(w, IDS), journal });
    w.faults.clear();
    w.inputs.set('b', 'new');
    w.calls.length = 0;
    const r = await runPlaybook({ ...base(), playbook: playbookOf(w, IDS), journal });
    expect(statuses(r)).toEqual(['a:skipped', 'b:done', 'c:skipped', 'd:done']);
    expect(w.state.get('b')).toBe('b=new');
    expect((await journal.get('b'))?.fingerprint).toBe('new');
  });

  it('on resume, runs again a recorded step whose verify no longer holds', async () => {
    const w = createWorld();
    const journal = createMemoryJournal();
    w.faults.set('d', 'throw');
    await runPlaybook({ ...base(), playbook: playbookOf(w, IDS), journal });
    w.faults.clear();
    w.state.delete('b');
    const r = await runPlaybook({ ...base(), playbook: playbookOf(w, IDS), journal });
    expect(statuses(r)).toEqual(['a:skipped', 'b:done', 'c:skipped', 'd:done']);
    expect(w.state.get('b')).toBe('b=x');
  });

  it.each(IDS)('resumes after a failure at step %s and ends as an uninterrupted run', async (failing) => {
    const clean = createWorld();
    await runPlaybook({ ...base(), playbook: playbookOf(clean, IDS), journal: createMemoryJournal() });

    const w = createWorld();
    const journal = createMemoryJournal();
    w.faults.set(failing, 'throw');
    const failed = await runPlaybook({ ...base(), playbook: playbookOf(w, IDS), journal });
    const at = IDS.indexOf(failing);
    expect(failed.status).toBe('failed');
    expect(statuses(failed)).toEqual(IDS.map((id, i) => `${id}:${i < at ? 'done' : i === at ? 'failed' : 'not-run'}`));
    expect(failed.steps[at]?.error).toMatchObject({ code: 'E_STEP_FAILED', step: failing, message: `${failing} broke` });
    expect(failed.steps[at]?.reason).toMatch(/partial effect was undone/);
    expect(w.state.has(`${failing}:partial`)).toBe(false);
    expect((await journal.list()).map((e) => e.id)).toEqual(IDS.slice(0, at));

    w.faults.clear();
    w.calls.length = 0;
    const resumed = await runPlaybook({ ...base(), playbook: playbookOf(w, IDS), journal });
    expect(resumed.status).toBe('ok');
    expect(statuses(resumed)).toEqual(IDS.map((id, i) => `${id}:${i < at ? 'skipped' : 'done'}`));
    expect([...w.state.entries()].sort()).toEqual([...clean.state.entries()].sort());
  });

  it('treats a failed verify as a failure and does not record the step', async () => {
    const w = createWorld();
    const journal = createMemoryJournal();
    w.faults.set('b', 'bad-verify');
    const r = await runPlaybook({ ...base(), playbook: playbookOf(w, IDS), journal });
    expect(statuses(r)).toEqual(['a:done', 'b:failed', 'c:not-run', 'd:not-run']);
    expect(r.steps[1]?.error).toMatchObject({ code: 'E_VERIFY_FAILED' });
    expect(await journal.get('b')).toBeUndefined();
    expect(w.state.has('b')).toBe(false);
  });

  it('with undoOnFailure undoes the failed step, then the completed ones last first, and forgets them', async () => {
    const w = createWorld();
    const journal = createMemoryJournal();
    const { events, onEvent } = collect();
    w.faults.set('c', 'throw');
    const r = await runPlaybook({ ...base(), playbook: playbookOf(w, IDS), journal, undoOnFailure: true, onEvent });
    expect(statuses(r)).toEqual(['a:undone', 'b:undone', 'c:failed', 'd:not-run']);
    expect(w.calls.filter((c) => c.startsWith('undo:'))).toEqual(['undo:c', 'undo:b', 'undo:a']);
    expect(events.filter((e) => e.type === 'step-undone').map((e) => (e as { step: string }).step)).toEqual(['c', 'b', 'a']);
    expect(w.state.size).toBe(0);
    expect(await journal.list()).toEqual([]);
  });

  it('asks check() when there is no record, and records a done check as skipped with its reason', async () => {
    const w = createWorld();
    w.state.set('a', 'a=x');
    const journal = createMemoryJournal();
    const r = await runPlaybook({ ...base(), playbook: playbookOf(w, ['a', 'b'], { a: { check: true }, b: { check: true } }), journal });
    expect(statuses(r)).toEqual(['a:skipped', 'b:done']);
    expect(r.steps[0]?.reason).toBe('a already there');
    expect(await journal.get('a')).toMatchObject({ status: 'skipped', reason: 'a already there' });
    expect(w.calls).not.toContain('run:a');
  });

  it('refuses to resume a step whose source changed since its export, until --restart-from', async () => {
    const w = createWorld();
    const journal = createMemoryJournal();
    const pb = () => playbookOf(w, IDS, { b: { source: true } });
    w.faults.set('d', 'throw'); // an unfinished run: a completed one would not be resumed at all
    await runPlaybook({ ...base(), playbook: pb(), journal });
    w.faults.clear();
    expect((await journal.get('b'))?.sourceState).toBe('v1');
    w.source = 'v2';
    const r = await runPlaybook({ ...base(), playbook: pb(), journal });
    expect(statuses(r)).toEqual(['a:skipped', 'b:failed', 'c:not-run', 'd:not-run']);
    expect(r.steps[1]?.error).toMatchObject({ code: 'E_SOURCE_CHANGED' });
    expect(String(r.steps[1]?.error?.hint)).toContain('--restart-from b');
    expect(w.calls).not.toContain('undo:b');

    const planned = await runPlaybook({ ...base(), playbook: pb(), journal, dryRun: true });
    expect(planned.status).toBe('failed');
    expect(planned.steps[1]?.error).toMatchObject({ code: 'E_SOURCE_CHANGED' });
    const replanned = await runPlaybook({ ...base(), playbook: pb(), journal, dryRun: true, restartFrom: 'b' });
    expect(replanned.status).toBe('planned');
    expect(replanned.steps.every((x) => x.error === undefined)).toBe(true);

    const again = await runPlaybook({ ...base(), playbook: pb(), journal, restartFrom: 'b' });
    expect(statuses(again)).toEqual(['a:skipped', 'b:done', 'c:done', 'd:done']);
    expect((await journal.get('b'))?.sourceState).toBe('v2');
  });

  it('refuses a journal naming a step the playbook does not have, before touching anything', async () => {
    const w = createWorld();
    const journal = createMemoryJournal();
    await runPlaybook({ ...base(), playbook: playbookOf(w, ['a', 'old-name']), journal });
    w.calls.length = 0;
    const r = await runPlaybook({ ...base(), playbook: playbookOf(w, ['a', 'new-name']), journal });
    expect(r.status).toBe('failed');
    expect(r.error).toMatchObject({ code: 'E_JOURNAL_MISMATCH' });
    expect(String(r.error?.message)).toContain('"old-name"');
    expect(statuses(r)).toEqual(['a:not-run', 'new-name:not-run']);
    expect(w.calls).toEqual([]);
  });

  it('cancels on abort: rolls back the in-flight step, marks the rest not-run, and resumes later', async () => {
    const w = createWorld();
    const journal = createMemoryJournal();
    const ac = new AbortController();
    w.faults.set('b', 'hang');
    const { onEvent } = collect();
    const running = runPlaybook({ ...base(), playbook: playbookOf(w, IDS), journal, signal: ac.signal, onEvent: (e) => {
      onEvent(e);
      if (e.type === 'step-start' && e.step === 'b') setTimeout(() => ac.abort(), 10);
    } });
    const r = await running;
    expect(r.status).toBe('cancelled');
    expect(statuses(r)).toEqual(['a:done', 'b:failed', 'c:not-run', 'd:not-run']);
    expect(r.steps[1]?.error).toMatchObject({ code: 'E_CANCELLED' });
    expect(w.state.has('b:partial')).toBe(false);
    w.faults.clear();
    const resumed = await runPlaybook({ ...base(), playbook: playbookOf(w, IDS), journal });
    expect(statuses(resumed)).toEqual(['a:skipped', 'b:done', 'c:done', 'd:done']);
  });

  it('never throws: a step hook throwing a TypeError becomes a failed result', async () => {
    const w = createWorld();
    const pb = playbookOf(w, ['a']);
    const broken = { ...pb, steps: [{ ...pb.steps[0]!, fingerprint: () => { throw new TypeError('boom'); } }] };
    const r = await runPlaybook({ ...base(), playbook: broken, journal: createMemoryJournal() });
    expect(r.status).toBe('failed');
    expect(r.steps[0]).toMatchObject({ status: 'failed', reason: 'failed before changing anything' });
  });

  it('emits start, done and end events in order and redacts secrets in logs', async () => {
    const w = createWorld();
    const { events, onEvent } = collect();
    const opts = base();
    opts.redactor.add('s3cr3t-value');
    const pb = playbookOf(w, ['a']);
    const step = pb.steps[0]!;
    const logging = { ...pb, steps: [{ ...step, run: async (p: Parameters<typeof step.run>[0]) => { p.log.info('using s3cr3t-value'); return step.run(p); } }] };
    await runPlaybook({ ...opts, playbook: logging, journal: createMemoryJournal(), onEvent });
    expect(events.map((e) => e.type)).toEqual(['run-start', 'step-start', 'step-phase', 'log', 'step-phase', 'step-done', 'run-end']);
    expect(events.filter((e) => e.type === 'step-phase').map((e) => (e as { phase: string }).phase)).toEqual(['run', 'verify']);
    expect(JSON.stringify(events)).not.toContain('s3cr3t-value');
  });
});

describe('runPlaybook outputs', () => {
  it('gives each step the outputs of earlier steps and of other playbooks (inputs), and redacts what it records', async () => {
    const seen: string[] = [];
    const opts = base();
    opts.redactor.add('very-secret-pw');
    const journal = createMemoryJournal();
    const steps = [
      defineStep({ id: 'first', title: 'First', async plan() { return { reads: [], changes: [] }; }, async run() { return { data: { url: 'mysql://root:very-secret-pw@db/x', n: 1 } }; } }),
      defineStep({ id: 'second', title: 'Second', async plan() { return { reads: [], changes: [] }; }, async run({ outputs }) {
        seen.push(JSON.stringify(outputs.get('first')?.data), JSON.stringify(outputs.get('migrate-backup')?.data));
      } }),
    ];
    const r = await runPlaybook({ ...opts, playbook: { id: 'p', title: 'P', steps }, journal, inputs: new Map([['migrate-backup', { data: { file: 'b.sql' } }]]) });
    expect(r.status).toBe('ok');
    expect(seen).toEqual(['{"url":"mysql://root:•••@db/x","n":1}', '{"file":"b.sql"}']);
    expect(JSON.stringify(await journal.list())).not.toContain('very-secret-pw');
  });
});

describe('runPlaybook --dry-run', () => {
  it('plans every step and changes nothing, not even the state directory', async () => {
    const w = createWorld();
    const opts = base();
    const stateDir = join(opts.stateDir, 'not-yet');
    const r = await runPlaybook({ ...opts, stateDir, playbook: playbookOf(w, IDS), dryRun: true });
    expect(r.status).toBe('planned');
    expect(r.pending).toBe(true);
    expect(statuses(r)).toEqual(IDS.map((id) => `${id}:not-run`));
    expect(r.steps[0]?.plan).toMatchObject({ reads: ['input a'], changes: ['set a'], pending: true });
    expect(w.calls.filter((c) => !c.startsWith('plan:'))).toEqual([]);
    expect(w.state.size).toBe(0);
    expect(existsSync(stateDir)).toBe(false);
  });

  it('reports nothing pending once a real run is done', async () => {
    const w = createWorld();
    const opts = base();
    await runPlaybook({ ...opts, playbook: playbookOf(w, IDS) });
    const journalFile = join(opts.stateDir, 'journal.test.json');
    expect(existsSync(journalFile)).toBe(true);
    w.calls.length = 0;
    const r = await runPlaybook({ ...opts, playbook: playbookOf(w, IDS), dryRun: true });
    expect(r.pending).toBe(false);
    expect(r.completedAt).toMatch(/^\d{4}-/);
    expect(statuses(r)).toEqual(IDS.map((id) => `${id}:skipped`));
    expect(w.calls).toEqual([]);
    expect(existsSync(join(opts.stateDir, 'lock'))).toBe(false);
    expect((await createFileJournal(opts.stateDir, 'test').list()).length).toBe(4);
  });

  it('reads a step\'s sourceState once per decision and hands it, with the artifacts it proved, to that decision\'s hooks; verify after run gets neither', async () => {
    const o = base();
    const artifact = join(o.stateDir, 'export.out');
    const seen: string[] = [];
    let source = 's1', reads = 0, present = false;
    const step = defineStep({
      id: 'export',
      title: 'Export',
      async sourceState() { reads++; return source; },
      async check(p) { seen.push(`check:${p.sourceState}`); return present ? { done: true, reason: 'there' } : { done: false, reason: 'not there' }; },
      async plan(p) { seen.push(`plan:${p.sourceState}`); return { reads: [], changes: [] }; },
      async run(p) { seen.push(`run:${p.sourceState}`); writeFileSync(artifact, source); present = true; return { artifacts: [await artifactOf(artifact)] }; },
      async verify(p) { seen.push(`verify:${p.sourceState}:${[...(p.provenArtifacts ?? [])].join(',')}`); return { ok: true, findings: [] }; },
    });
    const last = defineStep({ id: 'last', title: 'Last', async plan() { return { reads: [], changes: [] }; }, async run() { if (source === 's1') throw new Error('stop here'); } });
    const journal = createMemoryJournal();
    const playbook = { id: 'test', title: 'T', steps: [step, last] };
    // Run: one read, before check, handed to check and run; verify after run reads its own.
    await runPlaybook({ ...o, playbook, journal });
    expect([reads, seen]).toEqual([1, ['check:s1', 'run:s1', 'verify:undefined:']]);
    // Resume: one read (compared with the journal's), handed to verify with the artifact the runner just proved.
    reads = 0; seen.length = 0;
    await runPlaybook({ ...o, playbook, journal });
    expect([reads, seen]).toEqual([1, [`verify:s1:${artifact}`]]);
    // Dry run of the same: the same single read, also handed to plan.
    reads = 0; seen.length = 0;
    await runPlaybook({ ...o, playbook, journal, dryRun: true });
    expect([reads, seen]).toEqual([1, [`verify:s1:${artifact}`, 'plan:s1']]);
    // Forgotten, the export is checked: one read, handed to check, recorded with the skip.
    await journal.unrecord('export');
    reads = 0; seen.length = 0; source = 's2';
    await runPlaybook({ ...o, playbook, journal });
    expect([reads, seen]).toEqual([1, ['check:s2']]);
    expect((await journal.get('export'))?.sourceState).toBe('s2');
  });
});
