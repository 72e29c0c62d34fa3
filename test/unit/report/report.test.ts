import { describe, expect, it } from 'vitest';
import { buildReport, renderMarkdown, tableLines, redisDbLines, appCheckLines, type TimingLine } from '../../../lib/report/index.ts';
import { Redactor, MASK } from '../../../lib/util/redact.ts';

const t = (step: string, startedAt: string, finishedAt: string, status = 'done'): TimingLine => ({
  step, title: step, status, startedAt, finishedAt, durationMs: Date.parse(finishedAt) - Date.parse(startedAt),
});

const mysqlData = { tables: [
  { table: 'v.users', ok: true, expectedRows: 20, actualRows: 20, chunks: 1, mismatchedChunks: 0, sourceChecksum: 'aa', targetChecksum: 'aa' },
  { table: 'v.posts', ok: false, expectedRows: 10, actualRows: 9, chunks: 2, mismatchedChunks: 1, sourceChecksum: 'bb', targetChecksum: 'differs in 1/2 chunk(s)' },
] };
const redisData = { ok: true, findings: [], dbs: { 1: { types: { hash: 3 }, compared: 3, expiredDuringWindow: 0, sourceKeys: 3, targetKeys: 3 }, 0: { types: { string: 5, zset: 1 }, compared: 6, expiredDuringWindow: 1, sourceKeys: 6, targetKeys: 5 } },
  app: { sessions: { source: 4, target: 4, differing: 0 }, 'rq jobs': { source: 7, target: 7, differing: 0 } } };

describe('report', () => {
  it('reads per-table verdicts, per-db key counts and app checks', () => {
    expect(tableLines(mysqlData)).toEqual([
      { table: 'v.users', sourceRows: 20, targetRows: 20, sourceChecksum: 'aa', targetChecksum: 'aa', ok: true },
      { table: 'v.posts', sourceRows: 10, targetRows: 9, sourceChecksum: 'bb', targetChecksum: 'differs in 1/2 chunk(s)', ok: false },
    ]);
    expect(redisDbLines(redisData).map((d) => [d.db, d.sourceKeys, d.targetKeys, d.expiredDuringWindow])).toEqual([[0, 6, 5, 1], [1, 3, 3, 0]]);
    expect(appCheckLines(redisData)).toEqual([{ category: 'sessions', source: 4, target: 4, differing: 0 }, { category: 'rq jobs', source: 7, target: 7, differing: 0 }]);
  });

  it('measures the downtime of a migration from the freeze to the end of the cutover', () => {
    const r = buildReport({
      playbook: 'migrate', mode: 'migrate', project: 'p', outputs: new Map(), mysqlData, redisData, ttlToleranceMs: 2000, quietSeconds: 3, redactor: new Redactor(),
      timings: [t('preflight', '2026-01-01T00:00:00Z', '2026-01-01T00:00:05Z'), t('freeze', '2026-01-01T00:00:05Z', '2026-01-01T00:00:10Z'), t('compose-cutover', '2026-01-01T00:01:00Z', '2026-01-01T00:01:35Z')],
    });
    expect(r.downtimeMs).toBe(90_000);
    expect(r.downtimeKind).toBe('measured');
    expect(r.totalMs).toBe(45_000);
    expect(r.ok).toBe(false);
    expect(r.mysql?.ok).toBe(false);
    expect(r.redis?.ok).toBe(true);
  });

  it('expects a rehearsal\'s downtime: the freeze window\'s steps plus the quiet time', () => {
    const r = buildReport({
      playbook: 'rehearse', mode: 'rehearse', project: 'p-rehearsal', outputs: new Map(), ttlToleranceMs: 0, quietSeconds: 3, redactor: new Redactor(),
      timings: [t('preflight', '2026-01-01T00:00:00Z', '2026-01-01T00:00:05Z'), t('mysql-export', '2026-01-01T00:00:05Z', '2026-01-01T00:00:15Z'), t('mysql-import', '2026-01-01T00:00:15Z', '2026-01-01T00:00:35Z')],
    });
    expect(r.downtimeMs).toBe(33_000);
    expect(r.downtimeKind).toBe('expected');
  });

  it('redacts secrets and renders Markdown tables', () => {
    const redactor = new Redactor().add('hunter2-secret');
    const r = buildReport({
      playbook: 'verify', mode: 'verify', project: 'p', outputs: new Map(), ttlToleranceMs: 2000, quietSeconds: 3, redactor,
      mysqlData: { tables: [], findings: ['connect mysql://root:hunter2-secret@127.0.0.1 failed'] }, redisData,
      timings: [],
    });
    const json = JSON.stringify(r);
    expect(json).not.toContain('hunter2-secret');
    expect(json).toContain(MASK);
    const md = renderMarkdown(r);
    expect(md).toContain('| 0 | 6 | 5 | string 5, zset 1 | 1 |');
    expect(md).toContain('| sessions | 4 | 4 | 0 |');
    expect(md).toContain('TTL drift tolerated: 2000 ms');
    expect(md).not.toContain('hunter2-secret');
  });
});
