import { describe, expect, it } from 'vitest';
import { normalizeConfig, type Config } from '../../../lib/config/index.ts';
import { createMemoryJournal } from '../../../lib/journal/index.ts';
import { runPlaybook, type Playbook } from '../../../lib/runner/index.ts';
import { migrateSteps, rehearseSteps, verifySteps, rollbackSteps, frozenStepIds, type StoreSpec } from '../../../lib/steps/order.ts';
import type { FerryContext } from '../../../lib/steps/context.ts';
import type { FerryStep } from '../../../lib/steps/types.ts';
import { storeImportStep } from '../../../lib/steps/store-import.ts';
import { bindings, fakeContext, fakeEngine, fakeWorld, store, type FakeWorld } from './fake-engine.ts';

function app(w: FakeWorld, withFiles = false) {
  const mysql = fakeEngine(w, 'mysql');
  const redis = fakeEngine(w, 'redis');
  const specs: StoreSpec[] = [
    { store: store('shop-db', 'mysql', 33306), engine: mysql },
    { store: store('blog-db', 'mysql', 33307), engine: mysql },
    { store: store('cache', 'redis', 36379), engine: redis },
    { store: store('queue', 'redis', 36380), engine: redis },
    ...(withFiles ? [{ store: store('uploads', 'files', 0), engine: undefined }] : []),
  ];
  for (const s of specs) w.source.set(s.store.id, new Map([['a', `${s.store.id}-1`], ['b', `${s.store.id}-2`]]));
  const config = normalizeConfig({
    app: { envFile: '.env' }, target: { composeDir: 'compose', project: 'fake' }, freeze: { quietSeconds: 0 },
    stores: specs.map((s) => s.store),
  }, { baseDir: '/srv/app', env: {} });
  const { ctx, stateDir } = fakeContext(bindings(specs));
  return { specs, config: { ...config, stateDir } as Config, ctx, stateDir };
}

/** migrate's generated part: the writers, the per-store steps and the quiet proof (the rest needs Docker). */
const storePart = (steps: FerryStep[]) => steps.filter((s) => s.id.includes(':') || s.id === 'stop-writers' || s.id === 'prove-quiet');

function runner(a: ReturnType<typeof app>, journal = createMemoryJournal()) {
  const playbook: Playbook<Config, FerryContext> = { id: 'migrate', title: 'fake migrate', steps: storePart(migrateSteps(a.specs)) };
  return (o: { undoOnFailure?: boolean; restartFrom?: string } = {}) => runPlaybook<Config, FerryContext>({
    playbook, config: a.config, ctx: a.ctx, stateDir: a.stateDir, redactor: a.ctx.redactor, journal, ...o,
  });
}

const statuses = (r: { steps: readonly { id: string; status: string }[] }) => r.steps.map((s) => `${s.id}:${s.status}`);

describe('steps generated per store', () => {
  it('gives each store its own export, import, verify, freeze and thaw, in declaration order; every playbook\'s order from one file', () => {
    const a = app(fakeWorld(), true);
    expect(migrateSteps(a.specs).map((s) => s.id)).toEqual([
      'preflight', 'env-transform', 'compose-prepare', 'compose-data-up',
      'stop-writers', 'freeze:shop-db', 'freeze:blog-db', 'freeze:cache', 'freeze:queue', 'prove-quiet',
      'export:shop-db', 'export:blog-db', 'export:cache', 'export:queue', 'export:uploads',
      'import:shop-db', 'import:blog-db', 'import:cache', 'import:queue', 'import:uploads',
      'verify:shop-db', 'verify:blog-db', 'verify:cache', 'verify:queue', 'verify:uploads',
      'compose-cutover', 'thaw:queue', 'thaw:cache', 'thaw:blog-db', 'thaw:shop-db', 'report',
    ]);
    expect(rehearseSteps(a.specs).map((s) => s.id).filter((id) => id.startsWith('freeze') || id.startsWith('thaw'))).toEqual([]);
    // The target's data services are up before any export (it may stream into them), in the rehearsal as in migrate.
    expect(rehearseSteps(a.specs).map((s) => s.id).slice(0, 5)).toEqual(['preflight', 'env-transform', 'compose-prepare', 'compose-data-up', 'export:shop-db']);
    expect(verifySteps(a.specs).map((s) => s.id)).toEqual(['verify:shop-db', 'verify:blog-db', 'verify:cache', 'verify:queue', 'verify:uploads', 'report']);
    expect(rollbackSteps(a.specs, false).map((s) => s.id)).toEqual(['rollback-stop-stack', 'rollback-restore-env', 'rollback-source-check', 'rollback-restart-host', 'report']);
    // The fake engines have no `reverse`: --with-data copies nothing back and says so in the plan.
    expect(rollbackSteps(a.specs, true).map((s) => s.id)).toEqual(['compose-data-up', 'thaw:queue', 'thaw:cache', 'thaw:blog-db', 'thaw:shop-db',
      'rollback-stop-stack', 'rollback-restore-env', 'rollback-restart-host', 'report']);
    expect(frozenStepIds(a.specs)).toContain('import:uploads');
    expect(frozenStepIds(a.specs)).not.toContain('thaw:cache');
    expect(frozenStepIds(a.specs)).not.toContain('compose-data-up');
  });

  it('plans a store whose engine is missing or lacks a phase instead of failing ("… not available for files yet")', async () => {
    const w = fakeWorld();
    const a = app(w, true);
    const playbook = { id: 'migrate', title: 'plan', steps: storePart(migrateSteps(a.specs)) };
    const r = await runPlaybook<Config, FerryContext>({ playbook, config: a.config, ctx: a.ctx, stateDir: a.stateDir, redactor: a.ctx.redactor, journal: createMemoryJournal(), dryRun: true });
    const plan = new Map(r.steps.map((s) => [s.id, s.plan]));
    expect(plan.get('prove-quiet')?.details).toContain('uploads: freeze: not available for files yet');
    expect(plan.get('export:uploads')?.details).toBe('export: not available for files yet');
    expect(plan.get('import:uploads')?.details).toBe('import: not available for files yet');
    expect(plan.get('export:shop-db')?.reads).toEqual(['mysql://app:•••@127.0.0.1:1/shop-db']);
    expect(plan.get('import:cache')?.changes).toEqual(['service cache (127.0.0.1:36379): load the export']);
    expect(w.calls).toEqual([]); // a plan changes nothing
    expect(JSON.stringify(r)).not.toContain('pw-shop-db');
  });

  it('plans with sources it cannot reach while nothing is exported (`--demo --dry-run` starts no server): no export is read ahead of its check', async () => {
    const w = fakeWorld();
    const a = app(w);
    for (const s of a.specs) w.unreachable.add(s.store.id);
    const playbook = { id: 'migrate', title: 'plan', steps: storePart(migrateSteps(a.specs)) };
    const r = await runPlaybook<Config, FerryContext>({ playbook, config: a.config, ctx: a.ctx, stateDir: a.stateDir, redactor: a.ctx.redactor, journal: createMemoryJournal(), dryRun: true });
    expect(r.steps.filter((s) => s.error).map((s) => `${s.id}: ${s.error?.message}`)).toEqual([]);
    expect(r.status).toBe('planned');
    expect(r.steps.find((s) => s.id === 'export:shop-db')?.plan?.pending).toBe(true);
  });

  it('moves every store, each phase a journal entry of its own, and leaves the sources thawed', async () => {
    const w = fakeWorld();
    const a = app(w);
    const journal = createMemoryJournal();
    const r = await runner(a, journal)();
    expect(r.status).toBe('ok');
    for (const s of a.specs) expect(w.target.get(s.store.id)).toEqual(w.source.get(s.store.id));
    expect(w.frozen.size).toBe(0);
    expect((await journal.list()).map((e) => e.id)).toEqual(storePart(migrateSteps(a.specs)).map((s) => s.id));
    expect(w.calls.filter((c) => /^(export|import|freeze|thaw):/.test(c))).toEqual([
      'freeze:shop-db', 'freeze:blog-db', 'freeze:cache', 'freeze:queue', 'export:shop-db', 'export:blog-db', 'export:cache', 'export:queue',
      'import:shop-db', 'import:blog-db',
      // A Redis store's freeze is lowered around its import (its engine reads the source with EVAL) and put back.
      'thaw:cache', 'import:cache', 'freeze:cache', 'thaw:queue', 'import:queue', 'freeze:queue',
      'thaw:queue', 'thaw:cache', 'thaw:blog-db', 'thaw:shop-db',
    ]);
    const verify = r.steps.find((s) => s.id === 'verify:cache')!;
    expect(verify.outputs?.data).toMatchObject({ store: 'cache', ok: true, entries: [{ subject: 'key a', ok: true }, { subject: 'key b', ok: true }] });
  });

  it('resumes after a failure: the failed store\'s import runs again, finished stores are not repeated, the freeze was lifted meanwhile', async () => {
    const w = fakeWorld();
    const a = app(w);
    const run = runner(a);
    w.faults.set('import:cache', 1);
    const first = await run();
    expect(first.status).toBe('failed');
    expect(statuses(first)).toContain('import:cache:failed');
    expect(statuses(first)).toContain('verify:shop-db:not-run');
    expect(w.frozen.size).toBe(0); // thawed on failure
    expect(w.calls).toContain('thaw:queue');
    w.calls.length = 0;
    const second = await run();
    expect(second.status).toBe('ok');
    expect(w.calls.filter((c) => c.startsWith('import:') || c.startsWith('export:'))).toEqual(['import:cache', 'import:queue']);
    // The failure lifted the freeze: the resume froze every store again before going on.
    expect(w.calls.slice(0, 4)).toEqual(['freeze:shop-db', 'freeze:blog-db', 'freeze:cache', 'freeze:queue']);
    expect(statuses(second).filter((s) => s.startsWith('export:'))).toEqual(['export:shop-db:skipped', 'export:blog-db:skipped', 'export:cache:skipped', 'export:queue:skipped']);
    expect(w.target.get('cache')).toEqual(w.source.get('cache'));
  });

  it('refuses to resume when a store\'s source changed since its export', async () => {
    const w = fakeWorld();
    const a = app(w);
    const run = runner(a);
    w.faults.set('import:shop-db', 1);
    await run();
    w.source.get('blog-db')!.set('c', 'written after the export');
    const second = await run();
    expect(second.status).toBe('failed');
    const failed = second.steps.find((s) => s.status === 'failed')!;
    expect(failed.id).toBe('export:blog-db');
    expect(failed.error?.code).toBe('E_SOURCE_CHANGED');
    expect(failed.error?.hint).toContain('--restart-from export:blog-db');
  });

  it('undoes completed steps in reverse on failure (undoOnFailure): imports cleared last-first, freezes thawed', async () => {
    const w = fakeWorld();
    const a = app(w);
    w.faults.set('verify:queue', 1);
    const r = await runner(a)({ undoOnFailure: true });
    expect(r.status).toBe('failed');
    const undo = w.calls.slice(w.calls.indexOf('verify:queue')).filter((c) => c.startsWith('clearTarget:') || c.startsWith('thaw:'));
    expect(undo).toEqual(['thaw:queue', 'thaw:cache', 'thaw:blog-db', 'thaw:shop-db', // thaw on failure (the failed step), last frozen first
      'clearTarget:queue', 'clearTarget:cache', 'clearTarget:blog-db', 'clearTarget:shop-db', // then undo in reverse
      'thaw:queue', 'thaw:cache', 'thaw:blog-db', 'thaw:shop-db']);
    expect(w.target.size).toBe(0);
    expect(w.frozen.size).toBe(0);
  });

  it('re-running a completed playbook calls no engine phase at all', async () => {
    const w = fakeWorld();
    const a = app(w);
    const run = runner(a);
    expect((await run()).status).toBe('ok');
    w.calls.length = 0;
    const again = await run();
    expect(again.status).toBe('ok');
    expect(w.calls).toEqual([]);
    expect(again.steps.every((s) => s.status === 'skipped')).toBe(true);
  });
});

describe('import:<store> runs again for a new export', () => {
  const step = storeImportStep({ store: store('uploads', 'files', 0), engine: undefined });
  const fp = (exported?: { sha256: string; contentId?: string }) => step.fingerprint!({
    outputs: new Map(exported ? [['export:uploads', { artifacts: [{ path: '/a/manifest.ndjson', sha256: exported.sha256, bytes: 1 }], data: exported.contentId ? { contentId: exported.contentId } : {} }]] : []),
  } as never);
  it('keys on the manifest sha256 and, where the engine gives one, the export\'s content id (a files export that left the manifest file as it was)', () => {
    expect(fp()).toBe('no export recorded');
    expect(fp({ sha256: 'aa' })).toBe('aa'); // engines without a content id: as before
    expect(fp({ sha256: 'aa', contentId: 'set:1' })).not.toBe(fp({ sha256: 'aa', contentId: 'set:2' }));
    expect(fp({ sha256: 'aa', contentId: 'set:1' })).toBe(fp({ sha256: 'aa', contentId: 'set:1' }));
  });
});
