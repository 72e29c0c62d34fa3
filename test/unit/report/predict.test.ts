/**
 * The predicted downtime (issue 16): its parts from the plan (who follows, who is copied and how big it
 * is), calibrated by what a rehearsal measured, and set against the measured downtime in migrate's report.
 */
import { describe, expect, it } from 'vitest';
import { calibrationOf, DEFAULTS, predictDowntime, predictionLines, quietWindowOf, type PredictInput } from '../../../lib/report/predict.ts';
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

describe('a rehearsal that followed', () => {
  const following: PredictInput = {
    stores: [
      { id: 'db', engine: 'mysql', how: 'follow', bytes: 80e6, freezes: true },
      { id: 'cache', engine: 'redis', how: 'follow', bytes: 5e6, freezes: true },
      { id: 'media', engine: 'files', how: 'follow', bytes: 2e9, freezes: true },
    ],
    stopWriters: 0, quietSeconds: 3, stackInFreeze: false, cutoverRecreates: false,
  };
  const timings = [t('preflight', 0, 500), t('export:db', 500, 4000), t('import:db', 4500, 6000), t('follow:db', 10_500, 700), t('follow:cache', 11_200, 900),
    t('follow:media', 12_100, 5), t('catch-up:db', 13_000, 130), t('catch-up:cache', 13_130, 90), t('catch-up:media', 13_220, 640),
    t('promote:db', 13_860, 210), t('promote:cache', 14_070, 4000), t('promote:media', 18_070, 3), t('compose-cutover', 18_073, 1100)];

  it('calibrates each following store\'s catch-up and promote and the app-only start from its timings', () => {
    const cal = calibrationOf(timings, 'at', {}, { appOnly: true, unmeasured: [], ms: { 'promote:cache': 180 } });
    expect(cal.stores.db).toEqual({ copyMs: 10_000, checkMs: 0, catchUpMs: 130, promoteMs: 210 });
    // A promote the live source kept behind, stopped by force instead, counts its own figure, not the step's.
    expect(cal.stores.cache).toEqual({ copyMs: 0, checkMs: 0, catchUpMs: 90, promoteMs: 180 });
    expect(cal.stores.media).toEqual({ copyMs: 0, checkMs: 0, catchUpMs: 640, promoteMs: 3 });
    expect(cal.appOnlyStartMs).toBe(1100);
    expect(cal.appStartMs).toBeUndefined();
    // A cutover that recreated data services is the full app start, as before.
    expect(calibrationOf(timings, 'at').appStartMs).toBe(1100);
  });

  it('a catch-up the live source never let finish is left out: the prediction keeps its default and says so', () => {
    const cal = calibrationOf(timings, 'at', {}, { appOnly: true, unmeasured: ['catch-up:db'] });
    expect(cal.stores.db!.catchUpMs).toBeUndefined();
    const p = predictDowntime({ ...following, calibration: cal });
    expect(p.parts.find((x) => x.part === 'catch-up')!.basis).toMatch(/^db: default 0\.5 s \(the last changes; not rehearsed\); cache: rehearsed 0\.1 s/);
  });

  it('predicts catch-up, promote and app start from what it measured ("rehearsed"), freeze from defaults ("not rehearsed")', () => {
    const cal = calibrationOf(timings, '2026-01-01T00:00:00.000Z', {}, { appOnly: true, ms: { 'promote:cache': 180 } });
    const p = predictDowntime({ ...following, calibration: cal });
    expect(partsOf(p)).toEqual({ freeze: 3 * DEFAULTS.freezeMs, 'catch-up': 130 + 90 + 640, promote: 210 + 180 + 3, 'app start': 1100 });
    const basis = Object.fromEntries(p.parts.map((x) => [x.part, x.basis]));
    expect(basis['catch-up']).toBe('db: rehearsed 0.1 s (the engine\'s catch-up with the live source); cache: rehearsed 0.1 s (the engine\'s catch-up with the live source); '
      + 'media: rehearsed 0.6 s (the engine\'s catch-up with the live source: the final pass)');
    expect(basis.promote).toMatch(/^db: rehearsed 0\.2 s \(the engine's promote of the rehearsal's follower\)/);
    expect(basis['app start']).toMatch(/^rehearsed 1\.1 s \(only the app's services start/);
    expect(basis.freeze).toMatch(/not rehearsed: the rehearsal never freezes/);
    expect(p.ms).toBe(3 * DEFAULTS.freezeMs + 860 + 393 + 1100);
  });

  it('a files store\'s freeze waits for its quiet window (options.quietWindowMs): predicted from the option, not rehearsed', () => {
    const withWindow = { ...following, stores: following.stores.map((x) => (x.engine === 'files' ? { ...x, ...quietWindowOf({ quietWindowMs: 1000, concurrency: 4 }) } : x)) };
    expect(quietWindowOf({ concurrency: 4 })).toEqual({});
    const p = predictDowntime(withWindow);
    expect(partsOf(p).freeze).toBe(3 * DEFAULTS.freezeMs + 1000);
    expect(p.parts.find((x) => x.part === 'freeze')!.basis).toBe(`3 store(s) frozen, default ${DEFAULTS.freezeMs} ms each; media: its quiet window 1.0 s (options.quietWindowMs)`);
  });

  it('two files stores\' quiet windows overlap (each proven by ctime back from its own scan): the longest counts once', () => {
    const two = { ...following, stores: [...following.stores.map((x) => (x.engine === 'files' ? { ...x, ...quietWindowOf({ quietWindowMs: 1000 }) } : x)),
      { id: 'outputs', engine: 'files' as const, how: 'follow' as const, freezes: true, ...quietWindowOf({ quietWindowMs: 1500 }) }] };
    const p = predictDowntime(two);
    expect(partsOf(p).freeze).toBe(4 * DEFAULTS.freezeMs + 1500);
    expect(p.parts.find((x) => x.part === 'freeze')!.basis).toBe(`4 store(s) frozen, default ${DEFAULTS.freezeMs} ms each; quiet windows of media 1.0 s, outputs 1.5 s (options.quietWindowMs), overlapping: the longest`);
  });

  it('a rehearsal of the copy order (no app-only figure) leaves the following cutover\'s app start at its default', () => {
    const p = predictDowntime({ ...following, calibration: calibrationOf(timings, 'at') });
    expect(partsOf(p)['app start']).toBe(DEFAULTS.appOnlyStartMs);
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

  it('a following rehearsal\'s report: unmeasured catch-ups left out, a cutover that recreated nothing is the app-only start, the expected downtime is its parts', () => {
    const follow: PredictInput = { ...input, stores: input.stores.map((s) => ({ ...s, how: 'follow' as const })), stackInFreeze: false, cutoverRecreates: false };
    const timings = [t('preflight', 0, 500), t('export:db', 500, 4000), t('export:cache', 4500, 500), t('import:db', 5000, 6000), t('import:cache', 11_000, 300),
      t('follow:db', 11_300, 700), t('follow:cache', 12_000, 800), t('catch-up:db', 12_800, 20_000), t('catch-up:cache', 32_800, 100),
      t('promote:db', 32_900, 300), t('promote:cache', 33_200, 200), t('compose-cutover', 33_400, 900)];
    const outputs = new Map([...preflight(predictDowntime(follow), follow), ['catch-up:db', { data: { measured: false, reason: 'busy' } }],
      ['catch-up:cache', { data: { measured: true, firstMs: 400, ms: 95 } }], ['promote:db', { data: { measured: true, forced: true, ms: 120 } }], ['compose-cutover', { data: { recreated: [], appServices: [] } }]]);
    const r = buildReport({ playbook: 'rehearse', mode: 'rehearse', project: 'p', outputs, timings, ttlToleranceMs: 0, quietSeconds: 3, redactor: new Redactor() });
    expect(r.calibration?.stores.db?.catchUpMs).toBeUndefined();
    // The catch-up measured twice: the second run is the figure (the first met what the pinned verify just did).
    expect(r.calibration?.stores.cache).toMatchObject({ catchUpMs: 95, promoteMs: 200 });
    // db's promote was kept behind by the live source and stopped by force: its own figure, not the step's 300 ms.
    expect(r.calibration?.stores.db?.promoteMs).toBe(120);
    expect(r.calibration?.appOnlyStartMs).toBe(900);
    expect(partsOf(r.prediction!)).toMatchObject({ 'catch-up': DEFAULTS.catchUpMs + 95, promote: 320, 'app start': 900 });
    // Expected: the parts migrate's freeze holds (the followers' export and import ran before it); every store follows, so no quiet wait.
    expect(r.downtimeMs).toBe(20_000 + 100 + 300 + 200 + 900);
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

  it('the stack started before the freeze (today\'s copy order) is no part of the downtime, measured or expected, nor of the prediction', () => {
    const copied: PredictInput = { ...copyOnly, stackInFreeze: false };
    const prediction = predictDowntime(copied);
    expect(partsOf(prediction)['stack start']).toBeUndefined();
    const timings = [t('preflight', 0, 500), t('env-transform', 500, 100), t('compose-prepare', 600, 10), t('compose-data-up', 610, 5000),
      t('stop-writers', 6000, 1000), t('freeze:db', 7000, 100), t('freeze:cache', 7100, 100), t('prove-quiet', 7200, 3000),
      t('export:db', 10_200, 4000), t('export:cache', 14_200, 500), t('import:db', 14_700, 2000), t('import:cache', 16_700, 300),
      t('verify:db', 17_000, 3000), t('verify:cache', 20_000, 200), t('compose-cutover', 20_200, 3000)];
    const r = buildReport({ playbook: 'migrate', mode: 'migrate', project: 'p', outputs: preflight(prediction, copied), timings, ttlToleranceMs: 0, quietSeconds: 3, redactor: new Redactor() });
    expect(r.downtimeMs).toBe(17_200);
    expect(r.downtimeParts!.map((x) => x.part)).not.toContain('stack start');
    expect(r.downtimeParts!.reduce((a, x) => a + x.ms, 0)).toBe(17_200);
    // A rehearsal in that order: its expected downtime leaves the stack's start out too (plus the quiet wait it never had).
    const reh = timings.filter((x) => !/^(stop-writers|freeze:|prove-quiet)/.test(x.step));
    const e = buildReport({ playbook: 'rehearse', mode: 'rehearse', project: 'p', outputs: preflight(prediction, copied), timings: reh, ttlToleranceMs: 0, quietSeconds: 3, redactor: new Redactor() });
    expect(e.downtimeKind).toBe('expected');
    expect(e.downtimeMs).toBe(4000 + 500 + 2000 + 300 + 3000 + 200 + 3000 + 3000);
  });
});
