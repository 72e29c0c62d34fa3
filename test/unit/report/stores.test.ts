import { describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildReport, renderMarkdown, storeReports, mysqlTables, redisDatabases, redisAppChecks } from '../../../lib/report/index.ts';
import { Redactor } from '../../../lib/util/redact.ts';

const outputs = new Map([
  ['export:shop-db', { data: { rows: 3 } }],
  ['verify:shop-db', { data: { store: 'shop-db', engine: 'mysql', ok: false, entries: [
    { subject: 'table shop.orders', ok: true, counts: { rows: 2, expectedRows: 2, chunks: 1, mismatchedChunks: 0 } },
    { subject: 'table shop.items', ok: false, counts: { rows: 0, expectedRows: 1, chunks: 1, mismatchedChunks: 1 }, findings: ['rows 1..1 differ'] },
  ] } }],
  ['verify:cache', { data: { store: 'cache', engine: 'redis', ok: true, entries: [
    { subject: 'db 1', ok: true, counts: { keys: 3, sourceKeys: 3, targetKeys: 3, expiredDuringWindow: 0 } },
    { subject: 'app (sessions, queues)', ok: true, counts: { sessions: 4, sessionsSource: 4, sessionsDiffering: 0 } },
  ] } }],
  ['verify:uploads', { data: { store: 'uploads', engine: 'files', ok: true, entries: [{ subject: 'dir /', ok: true, counts: { files: 12, bytes: 3400 } }] } }],
]);

describe('the report per store', () => {
  it('reports a store that followed by how it was checked: the pinned comparison, else its catch-up (said not to be a data comparison); a full verify wins', () => {
    const followed = new Map<string, { data?: Record<string, unknown> }>([
      ['verify-pinned:db', { data: { store: 'db', engine: 'mysql', ok: true, pinned: true, entries: [{ subject: 'table shop.orders', ok: true, counts: { rows: 2 } }] } }],
      ['verify-pinned:pg', { data: { store: 'pg', skipped: 'no pinned verify for postgres yet' } }],
      ['verify-pinned:files', { data: { store: 'files', engine: 'files', ok: true, entries: [{ subject: 'dir /', ok: true }] } }],
      ['catch-up:db', { data: { store: 'db', engine: 'mysql', following: true, lag: 0, unit: 'bytes', detail: 'at the source' } }],
      ['catch-up:pg', { data: { store: 'pg', engine: 'postgres', following: true, lag: 0, unit: 'bytes', detail: 'confirmed 0/2337998 of 0/2337998' } }],
      ['catch-up:late', { data: { store: 'late', engine: 'postgres', following: true, lag: 42, unit: 'bytes', detail: '42 bytes behind' } }],
      ['verify:files', { data: { store: 'files', engine: 'files', ok: true, entries: [{ subject: 'dir /', ok: true, counts: { files: 3 } }] } }],
    ]);
    const r = storeReports(followed);
    expect(r.map((s) => [s.id, s.engine, s.ok, s.how])).toEqual([
      ['db', 'mysql', true, 'pinned'], ['pg', 'postgres', true, 'caught up'], ['late', 'postgres', false, 'caught up'], ['files', 'files', true, 'full'],
    ]);
    expect(r[1]!.entries[0]!.subject).toBe('caught up with the frozen source (confirmed 0/2337998 of 0/2337998)');
    expect(r[2]!.findings).toEqual(['caught up with the frozen source (42 bytes behind) differs']);
    const md = renderMarkdown(buildReport({ playbook: 'migrate', mode: 'migrate', project: 'shop', outputs: followed, timings: [], ttlToleranceMs: 0, quietSeconds: 0, redactor: new Redactor() }));
    expect(md).toContain('| pg | postgres | ✓ | caught up with the frozen source (not a data comparison: run `verify`) |');
    expect(md).toContain('| db | mysql | ✓ | compared at a pinned point while following |');
  });

  it('has one verdict per verify:<store> step, with its engine\'s entries and what differs', () => {
    const r = storeReports(outputs);
    expect(r.map((s) => [s.id, s.engine, s.ok])).toEqual([['shop-db', 'mysql', false], ['cache', 'redis', true], ['uploads', 'files', true]]);
    expect(r[0]!.findings).toEqual(['table shop.items: rows 1..1 differ']);
  });

  it('keeps the MySQL tables (checksums from the store\'s export manifest) and the Redis dbs and app checks', async () => {
    const artifacts = mkdtempSync(join(tmpdir(), 'ferry-report-'));
    mkdirSync(join(artifacts, 'shop-db'));
    writeFileSync(join(artifacts, 'shop-db', 'manifest.json'), JSON.stringify({ tables: [
      { table: { database: 'shop', name: 'orders' }, chunks: [{ checksum: 'a' }] }, { table: { database: 'shop', name: 'items' }, chunks: [{ checksum: 'b' }] },
    ] }));
    const [my, rd] = storeReports(outputs);
    const tables = await mysqlTables(my!, artifacts);
    expect(tables.map((t) => [t.table, t.sourceRows, t.targetRows, t.ok])).toEqual([['shop.orders', 2, 2, true], ['shop.items', 1, 0, false]]);
    expect(tables[0]!.targetChecksum).toBe(tables[0]!.sourceChecksum);
    expect(tables[1]!.targetChecksum).toBe('differs in 1/1 chunk(s)');
    expect(redisDatabases(rd!)).toEqual([{ db: 1, types: {}, sourceKeys: 3, targetKeys: 3, expiredDuringWindow: 0 }]);
    expect(redisAppChecks(rd!)).toEqual([{ category: 'sessions', source: 4, target: 4, differing: 0 }]);
  });

  it('is not verified when one store differs, and renders a section for the stores the MySQL/Redis views do not show', () => {
    const r = buildReport({ playbook: 'verify', mode: 'verify', project: 'shop', outputs, timings: [], ttlToleranceMs: 0, quietSeconds: 0, redactor: new Redactor() });
    expect(r.ok).toBe(false);
    expect(r.stores?.map((s) => s.id)).toEqual(['shop-db', 'cache', 'uploads']);
    const md = renderMarkdown(r);
    expect(md).toContain('| uploads | files | ✓ |');
    expect(md).toContain('### uploads (files) ✓');
    expect(md).toContain('| dir / | ✓ | files 12, bytes 3400 |');
    expect(md).toContain('- table shop.items: rows 1..1 differ');
  });

  it('measures a per-store migration\'s downtime from stop-writers to the end of the cutover', () => {
    const t = (step: string, a: string, b: string) => ({ step, title: step, status: 'done', startedAt: a, finishedAt: b, durationMs: Date.parse(b) - Date.parse(a) });
    const r = buildReport({ playbook: 'migrate', mode: 'migrate', project: 'shop', outputs: new Map(), ttlToleranceMs: 0, quietSeconds: 3, redactor: new Redactor(), timings: [
      t('preflight', '2026-01-01T00:00:00Z', '2026-01-01T00:00:05Z'), t('stop-writers', '2026-01-01T00:00:05Z', '2026-01-01T00:00:06Z'),
      t('export:shop-db', '2026-01-01T00:00:06Z', '2026-01-01T00:00:30Z'), t('compose-cutover', '2026-01-01T00:01:00Z', '2026-01-01T00:01:10Z'),
    ] });
    expect([r.downtimeKind, r.downtimeMs]).toEqual(['measured', 65_000]);
  });
});
