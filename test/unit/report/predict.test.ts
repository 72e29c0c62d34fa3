/**
 * The predicted downtime (issue 16): its parts from the plan (who follows, who is copied and how big it
 * is), calibrated by what a rehearsal measured, and set against the measured downtime in migrate's report.
 */
import { describe, expect, it } from 'vitest';
import { calibrationOf, DEFAULTS, predictDowntime, predictionLines, type PredictInput } from '../../../lib/report/predict.ts';
import { buildReport } from '../../../lib/report/build.ts';
import { renderMarkdown } from '../../../lib/report/markdown.ts';
import { Redactor } from '../../../lib/util/redact.ts';
import type { StepOutputs } from '../../../lib/core/step.ts';

const input: PredictInput = {
  stores: [
    { id: 'db', engine: 'mysql', how: 'freeze-copy', bytes: 80e6, freezes: true },
    { id: 'cache', engine: 'redis', how: 'follow', bytes: 5e6, freezes: true },
  ],
  stopWriters: 1, quietSeconds: 3,
};
const partsOf = (p: { parts: readonly { part: string; ms: number }[] }) => Object.fromEntries(p.parts.map((x) => [x.part, x.ms]));

const t = (step: string, start: number, ms: number) => ({
  step, title: step, status: 'done', durationMs: ms,
  startedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, start)).toISOString(), finishedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, start + ms)).toISOString(),
});

describe('predictDowntime', () => {
  it('without a rehearsal: the copied store from its size at a default throughput, the follower\'s catch-up and promote, the app start', () => {
    const p = predictDowntime(input);
    const copy = DEFAULTS.copyFixedMs + 10_000; // 80 MB at 8 MB/s
    const check = DEFAULTS.checkFixedMs + 10_000 * DEFAULTS.checkShare;
    expect(partsOf(p)).toEqual({
      'stop writers': 1000, freeze: 2 * DEFAULTS.freezeMs + 3000, copy, 'final check': check,
      'catch-up': DEFAULTS.catchUpMs, promote: DEFAULTS.promoteMs, 'app start': DEFAULTS.appStartMs,
    });
    expect(p.ms).toBe(p.parts.reduce((a, x) => a + x.ms, 0));
    expect(p.calibratedBy).toBe('defaults');
    expect(predictionLines(p)[0]).toMatch(/^predicted downtime \d+\.\d s \(defaults: run rehearse to calibrate\)$/);
  });

  it('every store following: no quiet wait, no copy, no stack start; only the app\'s services start at cutover', () => {
    const p = predictDowntime({ ...input, stores: input.stores.map((s) => ({ ...s, how: 'follow' as const })), stackInFreeze: false, cutoverRecreates: false,
      calibration: { at: 'x', stores: {}, appStartMs: 9000 } });
    expect(p.parts.map((x) => x.part)).toEqual(['stop writers', 'freeze', 'catch-up', 'promote', 'app start']);
    expect(partsOf(p).freeze).toBe(2 * DEFAULTS.freezeMs);
    // The rehearsal's cutover recreated the data services too: not what a following cutover does.
    expect(partsOf(p)['app start']).toBe(DEFAULTS.appOnlyStartMs);
  });

  it('calibrated by a rehearsal: its measured copy, check, stack start and app start, scaled by the source\'s growth since', () => {
    const cal = calibrationOf([t('export:db', 0, 3000), t('import:db', 3000, 5000), t('verify:db', 8000, 2000), t('env-transform', 0, 100),
      t('compose-prepare', 0, 50), t('compose-data-up', 0, 6000), t('compose-cutover', 0, 2500), t('export:cache', 0, 400)], '2026-01-01T00:00:00.000Z', { db: 40e6 });
    expect(cal).toEqual({
      at: '2026-01-01T00:00:00.000Z', appStartMs: 2500, stackStartMs: 6150,
      stores: { db: { bytes: 40e6, copyMs: 8000, checkMs: 2000 }, cache: { copyMs: 400, checkMs: 0 } },
    });
    const p = predictDowntime({ ...input, stackInFreeze: true, calibration: cal });
    // db doubled since the rehearsal (40 → 80 MB): its copy and check double.
    expect(partsOf(p)).toMatchObject({ copy: 16_000, 'final check': 4000, 'stack start': 6150, 'app start': 2500 });
    expect(p.calibratedBy).toBe('rehearse 2026-01-01T00:00:00.000Z');
    expect(p.parts.find((x) => x.part === 'copy')!.basis).toBe('db: rehearsed 8.0 s for 40.0 MB, now 80.0 MB');
  });
});

describe('the report', () => {
  const preflight = (prediction: ReturnType<typeof predictDowntime>, i: PredictInput): Map<string, StepOutputs> =>
    new Map([['preflight', { data: { findings: [], prediction, predictInput: i, cutover: {
      mode: 'auto', bytes: { db: 80e6, cache: 5e6 },
      decisions: i.stores.map((s) => ({ store: s.id, how: s.how, why: `${s.id} why`, ...(s.how === 'follow' ? {} : { enable: 'log-bin + restart' }) })),
    } } }]]);
  const copyOnly: PredictInput = { ...input, stores: input.stores.map((s) => ({ ...s, how: 'freeze-copy' as const })), stackInFreeze: true };

  it('a rehearsal records what it measured (the calibration) and the calibrated prediction', () => {
    const timings = [t('preflight', 0, 500), t('export:db', 500, 4000), t('export:cache', 4500, 500), t('env-transform', 5000, 100), t('compose-prepare', 5100, 10),
      t('compose-data-up', 5110, 5000), t('import:db', 10_110, 6000), t('import:cache', 16_110, 300), t('verify:db', 16_410, 3000), t('verify:cache', 19_410, 200), t('compose-cutover', 19_610, 3000)];
    const r = buildReport({ playbook: 'rehearse', mode: 'rehearse', project: 'p', outputs: preflight(predictDowntime(copyOnly), copyOnly), timings, ttlToleranceMs: 0, quietSeconds: 3, redactor: new Redactor() });
    expect(r.calibration?.stores.db).toEqual({ bytes: 80e6, copyMs: 10_000, checkMs: 3000 });
    expect(r.calibration?.stackStartMs).toBe(5110);
    expect(partsOf(r.prediction!)).toMatchObject({ copy: 10_800, 'final check': 3200, 'stack start': 5110, 'app start': 3000, freeze: 2 * DEFAULTS.freezeMs + 3000 });
    expect(r.prediction!.calibratedBy).toMatch(/^rehearse /);
    expect(renderMarkdown(r)).toContain('- predicted downtime of migrate: ');
  });

  it('migrate sets the prediction its preflight made against the measured downtime, part by part, with the ratio', () => {
    const prediction = predictDowntime(copyOnly);
    const timings = [t('preflight', 0, 500), t('stop-writers', 1000, 1000), t('freeze:db', 2000, 100), t('freeze:cache', 2100, 100), t('prove-quiet', 2200, 3000),
      t('export:db', 5200, 4000), t('export:cache', 9200, 500), t('env-transform', 9700, 100), t('compose-prepare', 9800, 10), t('compose-data-up', 9810, 5000),
      t('import:db', 14_810, 6000), t('import:cache', 20_810, 300), t('verify:db', 21_110, 3000), t('verify:cache', 24_110, 200), t('compose-cutover', 24_310, 3000)];
    const r = buildReport({ playbook: 'migrate', mode: 'migrate', project: 'p', outputs: preflight(prediction, copyOnly), timings, ttlToleranceMs: 0, quietSeconds: 3, redactor: new Redactor() });
    expect(r.downtimeKind).toBe('measured');
    expect(r.downtimeMs).toBe(26_310);
    expect(r.predictedVsMeasured).toMatchObject({ predictedMs: prediction.ms, measuredMs: 26_310, ratio: Math.round((prediction.ms / 26_310) * 100) / 100 });
    expect(r.predictedVsMeasured!.parts.find((x) => x.part === 'stack start')).toEqual({ part: 'stack start', predictedMs: DEFAULTS.stackStartMs, measuredMs: 5110 });
    // The measured parts add up to the downtime (nothing inside the window is left out).
    expect(r.downtimeParts!.reduce((a, x) => a + x.ms, 0)).toBe(26_310);
    expect(renderMarkdown(r)).toMatch(/- predicted \d+\.\d s vs measured 26\.3 s \(ratio \d\.\d\d; defaults\)/);
    // Which store followed and which was copied, why, and the change that would let it follow.
    expect(r.cutover).toEqual([{ store: 'db', how: 'freeze-copy', why: 'db why', enable: 'log-bin + restart' }, { store: 'cache', how: 'freeze-copy', why: 'cache why', enable: 'log-bin + restart' }]);
    expect(renderMarkdown(r)).toContain('## Cutover\n\n| store | how | why | to follow |\n|---|---|---|---|\n| db | freeze-copy | db why | log-bin + restart |');
  });
});
