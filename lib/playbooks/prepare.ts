/**
 * What each playbook's `prepare` does, without listr2: validate the stores' options with their engines,
 * resolve the ctx from the config, take the playbook's steps from lib/steps/order.ts (generated per
 * store) and instrument them (the report always rewritten, dry runs tolerant of what cannot be planned yet).
 */
import type { Config } from '../config/schema.ts';
import { defineStep } from '../core/step.ts';
import type { Playbook } from '../runner/index.ts';
import type { FerryContext, PlaybookMode } from '../steps/context.ts';
import type { FerryStep } from '../steps/types.ts';
import type { Redactor } from '../util/redact.ts';
import { migrateSteps, verifySteps } from '../steps/order.ts';
import { cutoverOptionsOf, decideCutover, planCutover } from '../steps/cutover-mode.ts';
import { withFollowOverride } from '../steps/compose-prepare.ts';
import { resolveContext } from './resolve-context.ts';
import { openExecTunnel, openServiceTunnel, serviceContainer, type Tunnel } from './exec-tunnel.ts';
import { readFile } from 'node:fs/promises';
import { migrationOverridePath, overrideServices } from '../compose/migration-access.ts';
import type { ConfigStore } from '../config/schema.ts';
import { isPortFree } from '../preflight/host-facts.ts';
import { containerPortOf } from '../compose/store-target.ts';
import { engines } from '../engines/index.ts';
import { refuseLegacyState, storeSpecs, withEngineOptions } from './stores.ts';
import { withConfig } from './with-config.ts';

export type { FerryStep };

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
  return steps.map((s) => (s.id === 'report' ? alwaysRun(s) : s)).map((s) => (o.dryRun ? tolerantPlan(s) : s));
}

/** `config`: the config the steps see (store options parsed by their engines), whatever the caller runs with. */
export function playbookOf(id: PlaybookMode, title: string, steps: readonly FerryStep[], a?: PrepareArgs, config?: Config): Playbook<Config, FerryContext> {
  const seen = config ? steps.map((s) => withConfig(s, config)) : steps;
  return { id, title, steps: instrument(seen, { dryRun: a?.dryRun === true }) };
}

/** The config every playbook runs with: store options parsed by their engines; old state refused. */
export async function prepareConfig(a: PrepareArgs, playbook: PlaybookMode): Promise<Config> {
  const config = withEngineOptions(a.config);
  await refuseLegacyState(config.stateDir, playbook);
  return config;
}

/**
 * The stores' tunnels of one migrate run: `unpublish:<store>` opens one when it recreates the store's
 * service without its migration port; a resumed run opens them up front for the services that were
 * already handed over (running, no longer in the migration override, or the override gone after cutover).
 */
export function migrateTunnels(config: Config) {
  const ports = new Map<string, number>();
  const open = new Map<string, Tunnel>();
  const storeOf = (id: string): ConfigStore => {
    const s = config.stores.find((x) => x.id === id);
    if (!s) throw new Error(`no store ${id}`);
    return s;
  };
  let held = false;
  const tunnels = {
    async open(id: string) {
      if (open.has(id)) return;
      const s = storeOf(id);
      const inner = containerPortOf(s);
      if (inner === undefined) return;
      const t = await openServiceTunnel(config.target.project, s.target.service, inner);
      if (held) t.hold();
      open.set(id, t);
      ports.set(id, t.port);
    },
    hold() { held = true; for (const t of open.values()) t.hold(); },
    release() { held = false; for (const t of open.values()) t.release(); },
    async close(id: string) {
      const t = open.get(id);
      open.delete(id);
      ports.delete(id);
      await t?.close();
    },
  };
  async function reopen(): Promise<void> {
    const text = await readFile(migrationOverridePath(config.target.composeDir), 'utf8').catch(() => undefined);
    const published = new Set(text === undefined ? [] : overrideServices(text));
    for (const s of config.stores) {
      const port = s.target.migrationPort;
      if (port === undefined || containerPortOf(s) === undefined || published.has(s.target.service)) continue;
      // Only a store that follows in this run is reached inside its service; a copied one gets its port back (compose-data-up).
      if (text !== undefined && decideCutover({ store: s, engine: engines[s.engine] }, cutoverOptionsOf(config)).how !== 'follow') continue;
      if (!(await isPortFree(port)) || !(await serviceContainer(config.target.project, s.target.service))) continue;
      await tunnels.open(s.id);
    }
  }
  return { ports, tunnels, reopen, closeAll: async () => { for (const id of [...open.keys()]) await tunnels.close(id); } };
}

export async function prepareMigrate(a: PrepareArgs): Promise<Prepared> {
  // Which store follows is checked once (a resumed run reuses what its preflight recorded): the order depends on it.
  // A store that follows a source on this host reaches it through ferry's follow override (compose-prepare writes it).
  const config = withFollowOverride(await planCutover(await prepareConfig(a, 'migrate'), { engines, redactor: a.redactor, journal: 'migrate' }));
  const t = migrateTunnels(config);
  if (!a.dryRun) await t.reopen();
  const ctx = resolveContext({ config, mode: 'migrate', redactor: a.redactor, dryRun: a.dryRun, engines, targetPorts: t.ports, tunnels: t.tunnels });
  const title = `Migrate ${config.stores.map((s) => s.id).join(', ') || 'the app'} into the compose stack`;
  return { playbook: playbookOf('migrate', title, migrateSteps(storeSpecs(config), config.cutover), a, config), ctx, stateDir: config.stateDir, cleanup: t.closeAll };
}

/**
 * Verify at any time: during the migration the stores' services publish their migration ports; after
 * cutover they publish nothing, and ferry reaches each through a `docker exec` tunnel instead.
 */
export async function prepareVerify(a: PrepareArgs): Promise<Prepared> {
  const config = await prepareConfig(a, 'verify');
  // Verify only reads: every run checks again (never a "completed" no-op, no store's verify skipped as recorded).
  const playbook = { ...playbookOf('verify', 'Verify the stack against the source', verifySteps(storeSpecs(config)).map(alwaysRun), a, config), readOnly: true };
  const base = { config, mode: 'verify' as const, redactor: a.redactor, dryRun: a.dryRun, engines };
  if (a.dryRun) return { playbook, ctx: resolveContext(base), stateDir: config.stateDir };
  const tunnels: Tunnel[] = [];
  const targetPorts = new Map<string, number>();
  for (const s of config.stores) {
    const port = s.target.migrationPort;
    const inner = containerPortOf(s);
    if (port === undefined || inner === undefined || !(await isPortFree(port))) continue;
    const container = await serviceContainer(config.target.project, s.target.service);
    if (!container) continue; // not running: verify reports the connection failure
    const t = await openExecTunnel(container, inner);
    tunnels.push(t);
    targetPorts.set(s.id, t.port);
  }
  const ctx = resolveContext({ ...base, targetPorts });
  return { playbook, ctx, stateDir: config.stateDir, cleanup: async () => { for (const t of tunnels) await t.close(); } };
}
