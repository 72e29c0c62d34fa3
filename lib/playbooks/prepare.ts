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
import { openExecTunnel, serviceContainer, type Tunnel } from './exec-tunnel.ts';
import { isPortFree } from '../preflight/host-facts.ts';

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
 * In a dry run a later step often cannot be planned yet — no export, no stack, or (the demo) no servers
 * behind placeholder URLs: it shows that it would run and why it cannot say more, instead of failing.
 */
export function tolerantPlan(step: FerryStep): FerryStep {
  const note = (e: unknown) => `(planned once the steps before it have run: ${(e as Error).message})`;
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

export function instrument(steps: readonly FerryStep[], o: { dryRun?: boolean } = {}): FerryStep[] {
  return steps
    .map((s) => (s.id === 'redis-import' ? redisUnpausedDuring(s) : s))
    .map((s) => (FROZEN_STEP_IDS.includes(s.id) ? liftFreezeOnFailure(s) : s.id === 'report' ? alwaysRun(s) : s))
    .map((s) => (o.dryRun ? tolerantPlan(s) : s));
}

export function playbookOf(id: PlaybookMode, title: string, steps: readonly FerryStep[], a?: PrepareArgs): Playbook<Config, FerryContext> {
  return { id, title, steps: instrument(steps, { dryRun: a?.dryRun === true }) };
}

export async function prepareMigrate(a: PrepareArgs): Promise<Prepared> {
  const ctx = resolveContext({ config: a.config, mode: 'migrate', redactor: a.redactor, dryRun: a.dryRun });
  return { playbook: playbookOf('migrate', 'Migrate Vedfolnir into the compose stack', migrateSteps(), a), ctx, stateDir: a.config.stateDir };
}

/**
 * Verify at any time: during the migration the data services publish their migration ports; after
 * cutover they publish nothing, and ferry reaches them through `docker exec` tunnels instead.
 */
export async function prepareVerify(a: PrepareArgs): Promise<Prepared> {
  const base = resolveContext({ config: a.config, mode: 'verify', redactor: a.redactor, dryRun: a.dryRun });
  const playbook = playbookOf('verify', 'Verify the stack against the source', verifySteps(), a);
  if (a.dryRun) return { playbook, ctx: base, stateDir: a.config.stateDir };
  const tunnels: Tunnel[] = [];
  const via = async <E extends { port: number }>(ep: E | undefined, service: string, containerPort: number, migrationPort: number): Promise<E | undefined> => {
    if (!ep || !(await isPortFree(migrationPort))) return ep;
    const container = await serviceContainer(base.project, service);
    if (!container) return ep; // not running: verify reports the connection failure
    const t = await openExecTunnel(container, containerPort);
    tunnels.push(t);
    // Keep the endpoint's getters (passwords read on use): copy descriptors, not values.
    return Object.freeze(Object.defineProperties({}, { ...Object.getOwnPropertyDescriptors(ep), port: { value: t.port, enumerable: true } })) as E;
  };
  const mysql = await via(base.target.mysql, 'mysql', 3306, a.config.target.migrationPorts.mysql);
  const redis = await via(base.target.redis, 'redis', 6379, a.config.target.migrationPorts.redis);
  const ctx = Object.freeze({ ...base, target: { ...(mysql ? { mysql } : {}), ...(redis ? { redis } : {}) } });
  return { playbook, ctx, stateDir: a.config.stateDir, cleanup: async () => { for (const t of tunnels) await t.close(); } };
}
