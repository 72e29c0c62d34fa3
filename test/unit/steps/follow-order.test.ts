/**
 * migrate with stores that follow the live source (issue 16): the order generated from `cutover`, the
 * plan's per-store lines, the catch-up budget path (freeze lifted, app left on the host, nothing lost) and
 * the undo order (abort the follow before clearing the import). The fake follower replicates by copying
 * the source's in-memory map at catch-up: a way to drive the runner, not a database.
 */
import { describe, expect, it } from 'vitest';
import { normalizeConfig, type Config } from '../../../lib/config/index.ts';
import { createMemoryJournal } from '../../../lib/journal/index.ts';
import { runPlaybook, type Playbook } from '../../../lib/runner/index.ts';
import { defineEngine, type Engine, type FollowStatus } from '../../../lib/core/engine.ts';
import { FerryError } from '../../../lib/core/errors.ts';
import { migrateSteps, frozenStepIds, type StoreSpec } from '../../../lib/steps/order.ts';
import { cutoverLines, decideCutover, type CutoverOptions } from '../../../lib/steps/cutover-mode.ts';
import type { FerryContext } from '../../../lib/steps/context.ts';
import type { FerryStep } from '../../../lib/steps/types.ts';
import { buildReport } from '../../../lib/report/build.ts';
import { renderMarkdown } from '../../../lib/report/markdown.ts';
import { Redactor } from '../../../lib/util/redact.ts';
import { bindings, fakeContext, fakeEngine, fakeWorld, store, type FakeWorld } from './fake-engine.ts';

interface FollowWorld extends FakeWorld {
  readonly following: Set<string>;
  /** Stores whose lag never closes. */
  readonly stuck: Set<string>;
  /** Written to the source when follow starts (the app keeps writing on the host). */
  readonly writesDuringFollow: Map<string, [string, string]>;
}

function followingEngine(w: FollowWorld, kind: 'mysql' | 'redis'): Engine {
  const base = fakeEngine(w, kind, ['facts', 'assess', 'sourceState', 'export', 'import', 'verify', 'freeze', 'thaw']);
  const status = (id: string): FollowStatus => ({ following: w.following.has(id), lag: w.stuck.has(id) ? 7 : 0, unit: 'events', detail: w.following.has(id) ? 'following' : 'not following' });
  return defineEngine({
    ...base,
    phases: [...base.phases, 'follow', 'catchUp', 'promote'],
    async follow(p) {
      w.calls.push(`follow:${p.store.id}`);
      w.following.add(p.store.id);
      const write = w.writesDuringFollow.get(p.store.id);
      if (write) w.source.get(p.store.id)!.set(...write);
      return status(p.store.id);
    },
    async catchUp(p, budgetMs) {
      w.calls.push(`catchUp:${p.store.id}`);
      if (!w.frozen.has(p.store.id)) throw new Error(`catch-up of ${p.store.id} outside the freeze`);
      if (w.stuck.has(p.store.id)) throw new FerryError('E_FOLLOW_BUDGET', `store ${p.store.id}: 7 events behind after ${budgetMs} ms`, { hint: 'retry later' });
      w.target.set(p.store.id, new Map(w.source.get(p.store.id)));
      return status(p.store.id);
    },
    async promote(p) { w.calls.push(`promote:${p.store.id}`); w.following.delete(p.store.id); },
    async abortFollow(p) { w.calls.push(`abortFollow:${p.store.id}`); w.following.delete(p.store.id); },
    async followStatus(p) { return status(p.store.id); },
  }) as Engine;
}

const followFrom = (s: StoreSpec['store'], host: string) => ({ ...s, options: { followFrom: { host, port: 3306 } } });

function app(w: FollowWorld) {
  const mysql = followingEngine(w, 'mysql');
  const redis = followingEngine(w, 'redis');
  const specs: StoreSpec[] = [
    { store: followFrom(store('shop-db', 'mysql', 33306), 'src-mysql'), engine: mysql },
    { store: store('cache', 'redis', 36379), engine: redis }, // no followFrom: auto copies it inside the freeze
    { store: store('uploads', 'files', 0), engine: undefined },
  ];
  for (const s of specs) w.source.set(s.store.id, new Map([['a', `${s.store.id}-1`], ['b', `${s.store.id}-2`]]));
  return followSetup(specs, 0);
}

/** The config (auto cutover, 2 s budget) and fake context for these stores. */
function followSetup(specs: StoreSpec[], quietSeconds: number) {
  const config = normalizeConfig({
    app: { envFile: '.env' }, target: { composeDir: 'compose', project: 'fake' }, freeze: { quietSeconds },
    stores: specs.map((s) => s.store), cutover: { mode: 'auto', budgetSeconds: 2 },
  }, { baseDir: '/srv/app', env: {} });
  const { ctx, stateDir } = fakeContext(bindings(specs));
  return { specs, config: { ...config, stateDir } as Config, ctx, stateDir };
}

const world = (): FollowWorld => ({ ...fakeWorld(), following: new Set(), stuck: new Set(), writesDuringFollow: new Map() });
const AUTO: CutoverOptions = { mode: 'auto', budgetSeconds: 2 };

// The generated part the runner can drive without Docker; the files store has no engine registered here.
// unpublish:<store> recreates a compose service (e2e cutover-follow drives it).
const storePart = (steps: FerryStep[]) => steps.filter((s) => (s.id.includes(':') && !s.id.endsWith(':uploads') && !s.id.startsWith('unpublish:')) || s.id === 'stop-writers' || s.id === 'prove-quiet');

function runner(a: ReturnType<typeof app>, journal = createMemoryJournal()) {
  const playbook: Playbook<Config, FerryContext> = { id: 'migrate', title: 'fake migrate', steps: storePart(migrateSteps(a.specs, a.config.cutover)) };
  return (o: { undoOnFailure?: boolean } = {}) => runPlaybook<Config, FerryContext>({
    playbook, config: a.config, ctx: a.ctx, stateDir: a.stateDir, redactor: a.ctx.redactor, journal, ...o,
  });
}

describe('migrate with stores that follow the live source', () => {
  it('runs a following store\'s export, import, follow and pinned verify before the freeze; inside it only catch-up and promote', () => {
    const a = app(world());
    expect(migrateSteps(a.specs, AUTO).map((s) => s.id)).toEqual([
      'preflight', 'export:shop-db', 'env-transform', 'compose-prepare', 'compose-data-up',
      'import:shop-db', 'unpublish:shop-db', 'follow:shop-db', 'verify-pinned:shop-db', 'compose-precreate',
      'stop-writers', 'freeze:shop-db', 'freeze:cache', 'prove-quiet',
      'export:cache', 'export:uploads', 'import:cache', 'import:uploads', 'verify:cache', 'verify:uploads',
      'catch-up:shop-db', 'promote:shop-db', 'compose-cutover',
      'thaw:cache', 'thaw:shop-db', 'report',
    ]);
    const inside = frozenStepIds(a.specs); // today's order without a cutover argument
    expect(inside).toContain('export:shop-db');
    // Nothing that grows with the following store's data is left inside the freeze.
    const steps = migrateSteps(a.specs, AUTO).map((s) => s.id);
    const frozen = steps.slice(steps.indexOf('stop-writers') + 1, steps.indexOf('thaw:cache'));
    expect(frozen.filter((id) => id.endsWith(':shop-db'))).toEqual(['freeze:shop-db', 'catch-up:shop-db', 'promote:shop-db']);
  });

  it('keeps today\'s order when no store follows (freeze-copy, or auto without followFrom)', () => {
    const a = app(world());
    const today = migrateSteps(a.specs).map((s) => s.id);
    expect(migrateSteps(a.specs, { mode: 'freeze-copy', budgetSeconds: 2 }).map((s) => s.id)).toEqual(today);
    const noFrom = a.specs.map((s) => ({ ...s, store: { ...s.store, options: {} } }));
    expect(migrateSteps(noFrom, AUTO).map((s) => s.id)).toEqual(migrateSteps(noFrom).map((s) => s.id));
    // follow: every store whose engine can, followFrom or not (the default reaches host.docker.internal).
    const all = migrateSteps(noFrom, { mode: 'follow', budgetSeconds: 2 }).map((s) => s.id);
    expect(all.filter((id) => id.startsWith('follow:'))).toEqual(['follow:shop-db', 'follow:cache']);
  });

  it('says in the plan which store follows and which is copied, why, and the one change that would let it follow', async () => {
    const a = app(world());
    expect(cutoverLines(a.specs, AUTO)).toEqual([
      'shop-db: follows the live source; inside the freeze only the catch-up (budget 2 s) and promote (the engine can follow and options.followFrom says how the stack reaches the source)',
      'cache: copied inside the freeze (auto follows only stores that say how the stack reaches their source); to follow: add options.followFrom { host, port } to store cache (the source as the stack\'s containers reach it), or set cutover.mode to follow (host.docker.internal)',
      'uploads: copied inside the freeze (the files engine cannot follow a live source yet)',
    ]);
    expect(decideCutover(a.specs[0]!, { mode: 'freeze-copy', budgetSeconds: 1 })).toMatchObject({ how: 'freeze-copy', enable: expect.stringContaining('cutover.mode') });
    const preflight = migrateSteps(a.specs, AUTO)[0]!;
    expect(preflight.id).toBe('preflight');
  });

  it('carries the writes made while following onto the target, freezes only for catch-up and promote, and leaves no replication behind', async () => {
    const w = world();
    w.writesDuringFollow.set('shop-db', ['c', 'written while following']);
    const a = app(w);
    const r = await runner(a)();
    expect(r.status).toBe('ok');
    expect(w.target.get('shop-db')).toEqual(w.source.get('shop-db'));
    expect(w.target.get('shop-db')!.get('c')).toBe('written while following');
    expect(w.target.get('cache')).toEqual(w.source.get('cache'));
    const phases = w.calls.filter((c) => c.endsWith(':shop-db'));
    expect(phases).toEqual(['export:shop-db', 'import:shop-db', 'follow:shop-db', 'freeze:shop-db', 'catchUp:shop-db', 'promote:shop-db', 'thaw:shop-db']);
    expect(w.following.size).toBe(0);
    // The copied store moves inside the freeze as today.
    expect(w.calls.indexOf('export:cache')).toBeGreaterThan(w.calls.indexOf('freeze:cache'));
    // Run again: nothing more happens.
    w.calls.length = 0;
    expect((await runner(a, createMemoryJournal())(/* a fresh journal re-checks */)).status).toBe('ok');
  });

  it('lifts the freeze when catch-up exceeds the budget: the app stays on the host, the target keeps following, a re-run finishes', async () => {
    const w = world();
    w.stuck.add('shop-db');
    const a = app(w);
    const run = runner(a);
    const first = await run();
    expect(first.status).toBe('failed');
    const failed = first.steps.find((s) => s.status === 'failed')!;
    expect(failed.id).toBe('catch-up:shop-db');
    expect(failed.error?.code).toBe('E_FOLLOW_BUDGET');
    expect(w.frozen.size).toBe(0); // the freeze is lifted
    expect(w.following.has('shop-db')).toBe(true); // still following: nothing lost, nothing promoted
    expect(w.calls).not.toContain('promote:shop-db');
    w.source.get('shop-db')!.set('d', 'written after the lifted freeze');
    w.stuck.delete('shop-db');
    w.calls.length = 0;
    const second = await run();
    expect(second.steps.find((s) => s.status === 'failed')?.error).toBeUndefined();
    expect(second.status).toBe('ok');
    expect(w.calls).not.toContain('follow:shop-db'); // the follow phase is not repeated
    expect(w.calls.slice(0, 2)).toEqual(['freeze:shop-db', 'freeze:cache']); // frozen again before catching up
    expect(w.target.get('shop-db')!.get('d')).toBe('written after the lifted freeze');
  });

  it('undoes a failed follow phase by aborting the follow before clearing the import', async () => {
    const w = world();
    const a = app(w);
    w.faults.set('export:cache', 1); // inside the freeze, after follow:shop-db
    const r = await runner(a)({ undoOnFailure: true });
    expect(r.status).toBe('failed');
    const undo = w.calls.slice(w.calls.indexOf('export:cache')).filter((c) => /^(abortFollow|clearTarget|thaw):/.test(c));
    expect(undo).toEqual(['thaw:cache', 'thaw:shop-db', // thaw on failure
      'thaw:cache', 'thaw:shop-db', // undo of the freezes, in reverse
      'abortFollow:shop-db', 'clearTarget:shop-db']);
    expect(w.following.size).toBe(0);
    expect(w.target.size).toBe(0);
    expect(w.frozen.size).toBe(0);
  });

  it('skips prove-quiet\'s wait when every store follows (catch-up proves by positions) and still records the fingerprints; a copied store still waits', async () => {
    const quietApp = (w: FollowWorld, everyStoreFollows: boolean) => {
      const specs: StoreSpec[] = [
        { store: followFrom(store('shop-db', 'mysql', 33306), 'src-mysql'), engine: followingEngine(w, 'mysql') },
        { store: everyStoreFollows ? followFrom(store('cache', 'redis', 36379), 'src-redis') : store('cache', 'redis', 36379), engine: followingEngine(w, 'redis') },
      ];
      for (const s of specs) w.source.set(s.store.id, new Map([['a', `${s.store.id}-1`]]));
      return followSetup(specs, 1);
    };
    const quiet = (r: Awaited<ReturnType<ReturnType<typeof runner>>>) => r.steps.find((s) => s.id === 'prove-quiet')!;

    const w = world();
    const all = quietApp(w, true);
    const planned = await runPlaybook<Config, FerryContext>({
      playbook: { id: 'migrate', title: 'fake', steps: storePart(migrateSteps(all.specs, all.config.cutover)) },
      config: all.config, ctx: all.ctx, stateDir: all.stateDir, redactor: all.ctx.redactor, journal: createMemoryJournal(), dryRun: true,
    });
    expect(quiet(planned).plan?.details).toBe('no wait: every store follows, and its catch-up waits for the frozen source\'s final position');
    const r = await runner(all)();
    expect(r.status).toBe('ok');
    const step = quiet(r);
    expect(step.durationMs).toBeLessThan(1_000); // quietSeconds is 1: the wait did not happen
    const data = step.outputs?.data as { skipped?: string; sourceStates: Record<string, string> };
    expect(data.skipped).toContain('every store follows');
    // rollback's "did anything write after the freeze?" still has both stores' fingerprints.
    expect(Object.keys(data.sourceStates).sort()).toEqual(['cache', 'shop-db']);
    expect(w.target.get('cache')).toEqual(w.source.get('cache'));

    const w2 = world();
    const mixed = quietApp(w2, false);
    const r2 = await runner(mixed)();
    expect(r2.status).toBe('ok');
    expect(quiet(r2).durationMs).toBeGreaterThanOrEqual(1_000); // cache is copied inside the freeze: the wait stays
    expect((quiet(r2).outputs?.data as { skipped?: string }).skipped).toBeUndefined();
  });

  it('reports the measured downtime from the freeze to the app answering, with its parts (JSON and Markdown)', () => {
    const t = (step: string, start: number, ms: number) => ({
      step, title: step, status: 'done', durationMs: ms,
      startedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, start)).toISOString(), finishedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, start + ms)).toISOString(),
    });
    const timings = [
      t('export:shop-db', 0, 60_000), t('import:shop-db', 60_000, 90_000), t('follow:shop-db', 150_000, 2_000), t('verify-pinned:shop-db', 152_000, 5_000),
      t('stop-writers', 157_000, 100), t('freeze:shop-db', 157_100, 20), t('freeze:cache', 157_120, 10), t('prove-quiet', 157_130, 0),
      t('export:cache', 157_130, 300), t('import:cache', 157_430, 200), t('verify:cache', 157_630, 100),
      t('catch-up:shop-db', 157_730, 270), t('promote:shop-db', 158_000, 400), t('compose-cutover', 158_400, 2_600), t('thaw:shop-db', 161_000, 10),
    ];
    const r = buildReport({ playbook: 'migrate', mode: 'migrate', project: 'p', outputs: new Map(), timings, ttlToleranceMs: 0, quietSeconds: 0, redactor: new Redactor() });
    expect(r.downtimeKind).toBe('measured');
    expect(r.downtimeMs).toBe(4_000); // stop-writers start → compose-cutover end; the 150 s bulk copy is not in it
    expect(r.downtimeParts?.map((p) => [p.part, p.ms])).toEqual([['stop writers', 100], ['freeze', 30], ['copy', 500], ['final check', 100], ['catch-up', 270], ['promote', 400], ['app start', 2_600]]);
    expect(renderMarkdown(r)).toContain('- downtime (measured): 4.0 s\n  - parts: stop writers 0.1 s, freeze 0.0 s, copy 0.5 s, final check 0.1 s, catch-up 0.3 s, promote 0.4 s, app start 2.6 s');
  });
});
