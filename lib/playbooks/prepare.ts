/**
 * What each playbook's `prepare` does, without listr2: resolve the ctx from the config, take the
 * playbook's steps from lib/steps/index.ts and instrument them (freeze lifted on failure, the report
 * always rewritten).
 */
import type { Config } from '../config/schema.ts';
import { defineStep } from '../core/step.ts';
import type { Playbook } from '../runner/index.ts';
import type { FerryContext, PlaybookMode } from '../steps/context.ts';
import type { Redactor } from '../util/redact.ts';
import { FROZEN_STEP_IDS, migrateSteps, verifySteps, type FerryStep } from '../steps/index.ts';
import { liftFreezeOnFailure } from './lift-on-failure.ts';
import { redisUnpausedDuring } from './redis-pause.ts';
import { resolveContext } from './resolve-context.ts';

export interface Prepared {
  readonly playbook: Playbook<Config, FerryContext>;
  readonly ctx: FerryContext;
  readonly stateDir: string;
  readonly undoOnFailure?: boolean;
  cleanup?(): Promise<void>;
}

export interface PrepareArgs {
  readonly config: Config;
  readonly redactor: Redactor;
  readonly dryRun: boolean;
  readonly flags?: Record<string, string | boolean | undefined>;
}

/** The report describes the latest run: it runs every time, even when the journal has it. */
export function alwaysRun(step: FerryStep): FerryStep {
  return defineStep({ ...step, fingerprint: () => `run at ${new Date().toISOString()}` });
}

/**
 * The demo's dry run has no servers behind its placeholder URLs: a step whose plan needs one shows
 * that it would run and why it cannot say more, instead of failing the plan.
 */
export function tolerantPlan(step: FerryStep): FerryStep {
  const note = (e: unknown) => `(planned against the demo's servers, which a dry run does not start: ${(e as Error).message})`;
  return defineStep({
    ...step,
    ...(step.check ? { check: async (p) => step.check!(p).catch((e: unknown) => ({ done: false, reason: note(e) })) } : {}),
    ...(step.fingerprint ? { fingerprint: async (p) => { try { return await step.fingerprint!(p); } catch { return 'unknown'; } } } : {}),
    async plan(p) {
      try {
        return await step.plan(p);
      } catch (e) {
        return { reads: [], changes: [note(e)], pending: true };
      }
    },
  });
}

export function instrument(steps: readonly FerryStep[], o: { demoDryRun?: boolean } = {}): FerryStep[] {
  return steps
    .map((s) => (s.id === 'redis-import' ? redisUnpausedDuring(s) : s))
    .map((s) => (FROZEN_STEP_IDS.includes(s.id) ? liftFreezeOnFailure(s) : s.id === 'report' ? alwaysRun(s) : s))
    .map((s) => (o.demoDryRun ? tolerantPlan(s) : s));
}

export function playbookOf(id: PlaybookMode, title: string, steps: readonly FerryStep[], a?: PrepareArgs): Playbook<Config, FerryContext> {
  return { id, title, steps: instrument(steps, { demoDryRun: a?.dryRun === true && a.flags?.demo === true }) };
}

export async function prepareMigrate(a: PrepareArgs): Promise<Prepared> {
  const ctx = resolveContext({ config: a.config, mode: 'migrate', redactor: a.redactor });
  return { playbook: playbookOf('migrate', 'Migrate Vedfolnir into the compose stack', migrateSteps(), a), ctx, stateDir: a.config.stateDir };
}

export async function prepareVerify(a: PrepareArgs): Promise<Prepared> {
  const ctx = resolveContext({ config: a.config, mode: 'verify', redactor: a.redactor });
  return { playbook: playbookOf('verify', 'Verify the stack against the source', verifySteps(), a), ctx, stateDir: a.config.stateDir };
}
