/**
 * The plain (non-TTY) renderer over a fake clock: a line per step start/end and per table start/end,
 * in-flight progress at most every 5 s per step, nothing reprinted.
 */
import { describe, expect, it } from 'vitest';
import { createPlainView } from '../../../playbooks/runtime/plain-view.ts';
import type { RunEvent, RunResult } from '../../../lib/runner/index.ts';

function harness(opts: { verbose?: boolean } = {}) {
  let t = 0;
  const out: string[] = [];
  const view = createPlainView((s) => out.push(...s.replace(/\n$/, '').split('\n')), { now: () => t, ...opts });
  const tick = (step: string, done: number, total: number, label?: string, extra: Partial<{ bytes: number; finished: boolean }> = {}): RunEvent =>
    ({ type: 'progress', step, unit: 'rows', done, total, ratePerSec: 1000, elapsedSec: t / 1000, ...(label ? { label } : {}), ...extra });
  return { out, view, tick, advance: (ms: number) => { t += ms; } };
}

const start: RunEvent = { type: 'run-start', playbook: 'migrate', dryRun: false, steps: [
  { id: 'export:mysql', title: 'Export MySQL' }, { id: 'import:mysql', title: 'Import MySQL' }, { id: 'report', title: 'Write the report' },
] };

describe('plain view', () => {
  it('prints each table once when it starts and once when it ends, and in-flight progress at most every 5 s', () => {
    const h = harness();
    h.view.onEvent(start);
    h.view.onEvent({ type: 'step-start', step: 'export:mysql' });
    h.view.onEvent({ type: 'step-phase', step: 'export:mysql', phase: 'run' });
    // Two tables in parallel, 200 ticks over 12 s of fake time: cumulative done, per-table increments.
    let done = 0;
    for (let i = 0; i < 200; i++) {
      h.advance(60);
      done += 10;
      const label = i <= 150 && i % 2 === 0 ? 'table users' : 'table posts';
      h.view.onEvent(h.tick('export:mysql', done, 2000, label, { bytes: done * 100, ...(i === 150 ? { finished: true } : {}) }));
    }
    h.view.onEvent({ type: 'step-phase', step: 'export:mysql', phase: 'verify' });
    h.view.onEvent({ type: 'step-done', step: 'export:mysql', durationMs: 12_000 });
    // Ticks after the end (a late listener) print nothing.
    h.view.onEvent(h.tick('export:mysql', 2000, 2000, 'table users'));

    expect(h.out[0]).toBe('❯ Export MySQL');
    expect(h.out.filter((l) => l === '› table users: started')).toHaveLength(1);
    expect(h.out.filter((l) => l === '› table posts: started')).toHaveLength(1);
    // users was marked finished at tick 150; posts ends with the run phase, before verify starts.
    expect(h.out.indexOf('› table users: done')).toBeGreaterThan(h.out.indexOf('› table users: started'));
    expect(h.out.indexOf('› table posts: done')).toBe(h.out.indexOf('› Export MySQL: verifying') - 1);
    expect(h.out.filter((l) => l.endsWith(': done'))).toHaveLength(2);
    const inFlight = h.out.filter((l) => l.includes('(in flight:'));
    // 12 s of ticks: a progress line at 5 s and 10 s, no more.
    expect(inFlight).toHaveLength(2);
    // At 5,040 ms (tick 84 of 60 ms each): 840 rows.
    expect(inFlight[0]).toBe('› 840/2,000 rows · 82.0 KB · 1,000 rows/s (in flight: table users, table posts)');
    expect(inFlight[1]).toBe('› 1,680/2,000 rows · 164.1 KB · 1,000 rows/s (in flight: table posts)');
    expect(h.out.at(-1)).toBe('✔ Export MySQL (12.0s)');
    expect(h.out).toHaveLength(9);
  });

  it('prints a step\'s own counter once when it completes; skips, failures, undo, logs and steps not run one line each', async () => {
    const h = harness();
    h.view.onEvent(start);
    h.view.onEvent({ type: 'step-skip', step: 'export:mysql', reason: 'completed at 2026-01-01T00:00:00.000Z' });
    h.view.onEvent({ type: 'step-phase', step: 'import:mysql', phase: 'run' });
    for (let i = 1; i <= 10; i++) h.view.onEvent({ type: 'progress', step: 'import:mysql', unit: 'lines', done: i * 100, total: 1000, ratePerSec: 500, elapsedSec: i, etaSec: 0 });
    h.view.onEvent({ type: 'log', level: 'info', step: 'import:mysql', message: 'reloading chunk 3' });
    h.view.onEvent({ type: 'log', level: 'debug', step: 'import:mysql', message: 'not shown' });
    h.view.onEvent({ type: 'log', level: 'warn', step: 'import:mysql', message: 'LOAD DATA warning' });
    h.view.onEvent({ type: 'step-fail', step: 'import:mysql', error: { code: 'E_X', message: 'target refused', hint: 'h' } });
    h.view.onEvent({ type: 'step-undo', step: 'import:mysql' });
    h.view.onEvent({ type: 'step-undone', step: 'import:mysql' });
    const result: RunResult = { playbook: 'migrate', status: 'failed', pending: false, durationMs: 1, steps: [
      { id: 'export:mysql', title: 'Export MySQL', status: 'skipped' },
      { id: 'import:mysql', title: 'Import MySQL', status: 'failed' },
      { id: 'report', title: 'Write the report', status: 'not-run', reason: '"import:mysql" failed' },
    ] };
    await h.view.finish(result);
    expect(h.out).toEqual([
      '↓ Export MySQL [SKIPPED: completed at 2026-01-01T00:00:00.000Z]',
      '❯ Import MySQL',
      '› 1,000/1,000 lines · 500 lines/s · ETA 0ms',
      '› reloading chunk 3',
      '⚠ warn: LOAD DATA warning',
      '✖ Import MySQL [FAILED: target refused]',
      '↺ Import MySQL: rolling back…',
      '↺ Import MySQL (undone)',
      '◌ Write the report [not run: "import:mysql" failed]',
    ]);
  });

  it('a 4,000-row demo-like run of 12 tables through export, import and verify stays under 100 lines', () => {
    const h = harness();
    const steps = ['export', 'import', 'verify'].map((v) => ({ id: `${v}:mysql`, title: v }));
    h.view.onEvent({ type: 'run-start', playbook: 'migrate', dryRun: false, steps });
    for (const s of steps) {
      h.view.onEvent({ type: 'step-phase', step: s.id, phase: 'run' });
      let done = 0;
      for (let table = 0; table < 12; table++) {
        for (let chunk = 0; chunk < 20; chunk++) {
          h.advance(20);
          done += 16;
          h.view.onEvent(h.tick(s.id, done, 12 * 20 * 16, `table t${table}`));
        }
      }
      h.view.onEvent({ type: 'step-done', step: s.id, durationMs: 4800 });
    }
    // Per step: start + 12 × (start, end) + at most one progress line per 5 s + done.
    expect(h.out.length).toBeLessThanOrEqual(3 * (2 + 24 + 1));
    expect(h.out.filter((l) => l === '› table t0: started')).toHaveLength(3);
    expect(h.out.filter((l) => l === '› table t11: done')).toHaveLength(3);
  });
});
