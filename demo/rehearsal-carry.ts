/**
 * Every demo run starts its own sources in its own temp dir, so `migrate --demo` cannot find a demo
 * rehearsal's report in its state dir as an operator's migrate does. The sources of two runs of one app
 * at one scale are seeded identically (the same fixtures, generators and images), so what the last
 * `rehearse --demo` of that app and scale measured applies: its report is kept beside the temp dirs and
 * copied into the next demo run's state dir, and the migrate report's prediction against the measured
 * downtime is printed with the demo's summary.
 */
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REPORT = 'report.rehearse.json';

export const lastRehearsalPath = (app: string, scale: number): string => join(tmpdir(), `ferry-demo-last-rehearse-${app}-s${scale}.json`);

/** After a demo run: its rehearsal's report (if it rehearsed) becomes the last one of its app and scale. */
export async function keepLastRehearsal(stateDir: string, app: string, scale: number): Promise<void> {
  const text = await readFile(join(stateDir, REPORT), 'utf8').catch(() => undefined);
  const report = text ? (JSON.parse(text) as { mode?: string }) : undefined;
  if (report?.mode === 'rehearse') await copyFile(join(stateDir, REPORT), lastRehearsalPath(app, scale)).catch(() => undefined);
}

/** Before a demo run: the last rehearsal of its app and scale, where migrate's preflight reads its calibration. */
export async function seedLastRehearsal(stateDir: string, app: string, scale: number, log: (line: string) => void): Promise<void> {
  const from = lastRehearsalPath(app, scale);
  const text = await readFile(from, 'utf8').catch(() => undefined);
  if (!text) return;
  await mkdir(stateDir, { recursive: true });
  await copyFile(from, join(stateDir, REPORT));
  const at = (JSON.parse(text) as { calibration?: { at?: string } }).calibration?.at ?? 'unknown time';
  log(`demo: calibrated by the last rehearse --demo of ${app} at scale ${scale} (${at}): this run's sources are new but seeded identically, so what it measured applies`);
}

/** The migrate report's prediction against the measured downtime, one line (nothing when there is none). */
export async function logPrediction(stateDir: string, log: (line: string) => void): Promise<void> {
  const r = await readFile(join(stateDir, 'report.migrate.json'), 'utf8').then((t) => JSON.parse(t) as {
    prediction?: { calibratedBy?: string };
    predictedVsMeasured?: { predictedMs: number; measuredMs: number; ratio: number; parts: Array<{ part: string; predictedMs: number; measuredMs: number }> };
  }, () => undefined);
  const v = r?.predictedVsMeasured;
  if (!v) return;
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  log(`demo prediction (${r.prediction?.calibratedBy ?? 'defaults'}): ${s(v.predictedMs)} predicted vs ${s(v.measuredMs)} measured, ratio ${v.ratio.toFixed(2)} `
    + `(predicted/measured: ${v.parts.map((p) => `${p.part} ${s(p.predictedMs)}/${s(p.measuredMs)}`).join(', ')})`);
}
