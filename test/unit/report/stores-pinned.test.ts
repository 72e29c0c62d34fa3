import { describe, expect, it } from 'vitest';
import { buildReport, renderMarkdown, storeReports } from '../../../lib/report/index.ts';
import { Redactor } from '../../../lib/util/redact.ts';

/** What postgres's verify-pinned step leaves: the pinned comparison, or a pin given up (the catch-up checked the store). */
const pinnedPg = { data: { store: 'pg', engine: 'postgres', ok: true, pinned: true, seconds: 0.2, entries: [
  { subject: 'pinned at LSN 0/1A76B98', ok: true, counts: { chunks: 12, rows: 5118, targetRows: 5118, heldMs: 19 } },
  { subject: 'not replicated, so not compared at the pin (unlogged or outside the publication): public.scratch', ok: true, counts: { tables: 1 } },
] } };
const caughtUp = (store: string) => ({ data: { store, engine: 'postgres', following: true, lag: 0, unit: 'bytes', detail: 'confirmed 0/1B00000 of 0/1B00000' } });

describe('the report of a following postgres store', () => {
  it('is "compared at a pinned point while following" when its pinned verify ran, whatever its catch-up said', () => {
    const outputs = new Map<string, { data: Record<string, unknown> }>([['verify-pinned:pg', pinnedPg], ['catch-up:pg', caughtUp('pg')]]);
    const r = storeReports(outputs);
    expect(r.map((s) => [s.id, s.engine, s.ok, s.how])).toEqual([['pg', 'postgres', true, 'pinned']]);
    expect(r[0]!.entries[0]!.counts).toEqual({ chunks: 12, rows: 5118, targetRows: 5118, heldMs: 19 });
    const md = renderMarkdown(buildReport({ playbook: 'migrate', mode: 'migrate', project: 'app', outputs, timings: [], ttlToleranceMs: 0, quietSeconds: 0, redactor: new Redactor() }));
    expect(md).toContain('| pg | postgres | ✓ | compared at a pinned point while following |');
    expect(md).not.toContain('caught up with the frozen source');
  });

  it('names a difference found at the pin (table, key range, key) and is not verified', () => {
    const bad = { data: { store: 'pg', engine: 'postgres', ok: false, entries: [{ subject: 'pinned at LSN 0/1A', ok: false, counts: { chunks: 3, rows: 10 },
      findings: ['public.items: id in (4091, 4545]: source 454 rows, target 454 rows (values differ)', 'id = 4321: changed'] }] } };
    const r = storeReports(new Map([['verify-pinned:pg', bad]]));
    expect(r[0]!.ok).toBe(false);
    expect(r[0]!.findings).toEqual(['pinned at LSN 0/1A: public.items: id in (4091, 4545]: source 454 rows, target 454 rows (values differ)', 'pinned at LSN 0/1A: id = 4321: changed']);
  });

  it('keeps the caught-up wording when no pinned verify compared it, with the reason when the pin was given up', () => {
    const why = 'the pin on db:5432/app was given up: its tables stayed busy for 2000 ms (a long transaction or a lock holds one)';
    const outputs = new Map<string, { data: Record<string, unknown> }>([
      ['verify-pinned:pg', { data: { store: 'pg', engine: 'postgres', skipped: why, givenUp: true } }],
      ['verify-pinned:old', { data: { store: 'old', skipped: 'the newdb engine has no pinned verify' } }],
      ['catch-up:pg', caughtUp('pg')], ['catch-up:old', caughtUp('old')],
    ]);
    const r = storeReports(outputs);
    expect(r.map((s) => [s.id, s.how])).toEqual([['pg', 'caught up'], ['old', 'caught up']]);
    expect(r[0]!.entries[0]!.subject).toBe(`caught up with the frozen source (confirmed 0/1B00000 of 0/1B00000); no pinned comparison: ${why}`);
    expect(r[1]!.entries[0]!.subject).toBe('caught up with the frozen source (confirmed 0/1B00000 of 0/1B00000)');
    const md = renderMarkdown(buildReport({ playbook: 'migrate', mode: 'migrate', project: 'app', outputs, timings: [], ttlToleranceMs: 0, quietSeconds: 0, redactor: new Redactor() }));
    expect(md).toContain('| pg | postgres | ✓ | caught up with the frozen source (not a data comparison: run `verify`) |');
  });
});
