/**
 * Step `preflight`: refuse before a byte moves. Gathers every store's facts through its engine and the
 * machine's (read-only), records every finding in `<stateDir>/preflight.json` and fails with the list of
 * blockers when there is one (a store whose engine is not available yet is one). It also says, per store,
 * whether it follows the live source or is copied inside the freeze (why, and the one change that would
 * let it follow: lib/steps/cutover-mode.ts), and predicts the downtime with its parts (calibrated by the
 * last rehearsal's report in the state dir); both are recorded in its outputs, so a resumed migrate keeps
 * the same plan. With `cutover.mode: follow`, a store that cannot follow stops the run (E_FOLLOW_REFUSED).
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FOLLOW_OVERRIDE_FILE } from './compose-prepare.ts';
import { defineStep } from '../core/step.ts';
import { FerryError } from '../core/errors.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext, StoreBinding } from './context.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { artifactBytesOf, blockers, formatFindings, runPreflight, type PreflightStore } from '../preflight/index.ts';
import { engineParams, hasPhase, unavailable, type StoreStepParams } from './store-params.ts';
import { composeServiceImages } from '../compose/images.ts';
import { createComposeClient } from '../compose/client.ts';
import { cutoverLines, cutoverOptionsOf, decideCutover, type CutoverDecision } from './cutover-mode.ts';
import { predictDowntime, predictionLines, quietWindowOf, type Calibration, type DowntimePrediction, type PredictInput } from '../report/predict.ts';

/** Target images by compose service, as the project runs them (its files, its `.env`). */
export async function targetImages(config: Config): Promise<Record<string, string>> {
  // ferry's follow override is written later (compose-prepare) and sets no image.
  const files = config.target.files.filter((f) => f !== FOLLOW_OVERRIDE_FILE || existsSync(join(config.target.composeDir, f)));
  const client = await createComposeClient({ composeDir: config.target.composeDir, project: config.target.project, files });
  return composeServiceImages(client);
}

/** Every store with its engine's params (no target yet: preflight judges targets by their image). */
function preflightStores(p: StoreStepParams): PreflightStore[] {
  return [...(p.ctx.stores?.values() ?? [])].map((b) => ({ store: b.store, engine: b.engine, params: { ...engineParams(p, b.store.id), targetUrl: undefined } }));
}

/** What the last rehearsal measured (its report, copied into the real state dir), if there was one. */
export async function rehearsedCalibration(stateDir: string): Promise<Calibration | undefined> {
  const text = await readFile(join(stateDir, 'report.rehearse.json'), 'utf8').catch(() => undefined);
  if (!text) return undefined;
  try {
    const c = (JSON.parse(text) as { calibration?: Calibration }).calibration;
    return c && typeof c === 'object' && typeof c.stores === 'object' ? c : undefined;
  } catch { return undefined; }
}

interface CutoverPlan {
  readonly decisions: readonly CutoverDecision[];
  readonly bytes: Readonly<Record<string, number | undefined>>;
  /** What the prediction was made from (the rehearsal's report recomputes it with what it measured). */
  readonly input: PredictInput;
  readonly prediction: DowntimePrediction;
}

/** Per store follow | freeze-copy and the predicted downtime; `bytes` from the readiness checks, else the facts. */
async function cutoverPlan(p: Pick<StoreStepParams, 'ctx' | 'config'>, factsBytes: Readonly<Record<string, number>> = {}): Promise<CutoverPlan> {
  const o = cutoverOptionsOf(p.config);
  const stores: StoreBinding[] = [...(p.ctx.stores?.values() ?? [])];
  const decisions = stores.map((b) => decideCutover(b, o));
  const bytes = Object.fromEntries(stores.map((b) => [b.store.id, o.readiness?.[b.store.id]?.bytes ?? factsBytes[b.store.id]]));
  const input: PredictInput = {
    stores: stores.map((b, i) => ({
      id: b.store.id, engine: b.store.engine, how: decisions[i]!.how, freezes: hasPhase(b, 'freeze'), ...(bytes[b.store.id] !== undefined ? { bytes: bytes[b.store.id]! } : {}),
      ...quietWindowOf(b.store.options),
    })),
    stopWriters: p.config.freeze.stopWriters.length, quietSeconds: p.config.freeze.quietSeconds,
    // The stack's data services start before the freeze in every order now (lib/steps/order.ts).
    stackInFreeze: false,
    // A copied store reached on a migration port keeps its service published until the cutover recreates it.
    cutoverRecreates: stores.some((b, i) => decisions[i]!.how === 'freeze-copy' && b.store.target.migrationPort !== undefined),
  };
  // A rehearsal calibrates itself from its own timings (the report step); migrate from the last rehearsal's.
  const calibration = p.ctx.mode === 'migrate' ? await rehearsedCalibration(p.config.stateDir) : undefined;
  return { decisions, bytes, input, prediction: predictDowntime({ ...input, ...(calibration ? { calibration } : {}) }) };
}

export default defineStep<Config, FerryContext>({
  id: 'preflight',
  title: 'Preflight: refuse before a byte moves',
  async plan({ ctx, config }) {
    const stores = [...(ctx.stores?.values() ?? [])];
    const ports = config.stores.map((s) => s.target.migrationPort).filter((x) => x !== undefined);
    const plan = ctx.mode === 'migrate' || ctx.mode === 'rehearse' ? await cutoverPlan({ ctx, config }) : undefined;
    const lines = plan ? [...cutoverLines(stores, cutoverOptionsOf(config)), ...predictionLines(plan.prediction)] : [];
    return {
      reads: [
        ...stores.map((b) => (b.engine ? `store ${b.store.id}: ${b.store.engine} facts of the source` : `store ${b.store.id}: ${unavailable('facts', b.store.engine)}`)),
        `docker engine, compose, free disk${ports.length ? `, ports ${ports.join('/')}` : ''}`,
      ],
      changes: [],
      pending: false,
      ...(plan ? { details: lines.join('\n'), data: { cutover: plan.decisions, prediction: plan.prediction } } : {}),
    };
  },
  async run(p) {
    const { ctx, config, log, signal, stateDir } = p;
    const result = await runPreflight({ config, stores: preflightStores(p), redactor: ctx.redactor, targetImages: await targetImages(config), signal });
    for (const f of result.findings) {
      const line = `${f.severity.toUpperCase()} ${f.check} (${f.subject}): ${f.message} → ${f.hint}`;
      if (f.severity === 'blocker') log.error(line);
      else if (f.severity === 'info') log.info(line);
      else log.warn(line);
    }
    await writeFileAtomic(join(stateDir, 'preflight.json'), JSON.stringify(result.findings, null, 2) + '\n');
    const b = blockers(result.findings);
    if (b.length) {
      throw new FerryError('E_PREFLIGHT_BLOCKED', `preflight found ${b.length} blocker(s); first: ${b[0]!.check} (${b[0]!.subject}): ${b[0]!.message}`, {
        hint: `fix each BLOCKER (MIGRATION.md, "Preflight findings"), then re-run; all findings: ${join(stateDir, 'preflight.json')}`,
        detail: formatFindings(b),
      });
    }
    const o = cutoverOptionsOf(config);
    const plan = await cutoverPlan(p, Object.fromEntries(Object.entries(result.facts).map(([id, f]) => [id, artifactBytesOf(f)])));
    const refused = plan.decisions.filter((d) => d.refused);
    if (ctx.mode === 'migrate' && refused.length) {
      throw new FerryError('E_FOLLOW_REFUSED', `store ${refused[0]!.store} cannot follow its live source: ${refused[0]!.why}`, {
        hint: `${refused[0]!.enable ?? 'fix the reason'}; or set cutover.mode to auto (a store that cannot follow is copied inside the freeze)`,
        detail: refused.map((d) => `${d.store}: ${d.why} → ${d.enable ?? ''}`).join('\n'),
      });
    }
    if (ctx.mode === 'migrate' || ctx.mode === 'rehearse') {
      for (const l of [...cutoverLines([...(ctx.stores?.values() ?? [])], o), ...predictionLines(plan.prediction)]) log.info(l);
    }
    return {
      data: {
        findings: result.findings, estimatedArtifactBytes: result.estimatedArtifactBytes,
        cutover: { mode: o.mode, ...(o.readiness ? { readiness: o.readiness } : {}), decisions: plan.decisions, bytes: plan.bytes },
        prediction: plan.prediction, predictInput: plan.input,
      },
    };
  },
});
