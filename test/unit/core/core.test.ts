import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FerryError, describeErrorCode, ERROR_CODES, excerpt, isErrorCode, toFerryError } from '../../../lib/core/errors.ts';
import { createLogger, type LogRecord } from '../../../lib/core/logger.ts';
import { createProgress, type ProgressTick } from '../../../lib/core/progress.ts';
import { defineStep } from '../../../lib/core/step.ts';
import { Redactor } from '../../../lib/util/redact.ts';

describe('defineStep', () => {
  it('freezes a step with a kebab-case id and refuses any other id', () => {
    const s = defineStep({ id: 'mysql-export', title: 'Export', async plan() { return { reads: [], changes: [] }; }, async run() {} });
    expect(Object.isFrozen(s)).toBe(true);
    expect(() => defineStep({ ...s, id: 'MysqlExport' })).toThrow('Expected the step `id` to be kebab-case, optionally `<phase>:<store>` (like `mysql-export` or `export:veogen-db`), got `MysqlExport`');
  });

  it('accepts generated per-store ids (phase:store) and refuses malformed ones', () => {
    const base = { title: 'Export', async plan() { return { reads: [], changes: [] }; }, async run() {} };
    for (const id of ['export:mysql', 'import:veogen-db', 'verify:redis-2', 'catch-up:media-vault']) expect(defineStep({ ...base, id }).id).toBe(id);
    for (const id of ['export:', ':mysql', 'export:mysql:x', 'export:Mysql', 'export::mysql', 'export:my_sql']) expect(() => defineStep({ ...base, id })).toThrow(TypeError);
  });
});

describe('FerryError', () => {
  it('keeps code, hint, step and a detail cut to its last 20 lines', () => {
    const detail = Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\n');
    const e = new FerryError('E_STEP_FAILED', 'it broke', { hint: 'do y', detail, cause: new Error('root') });
    expect(e.detail?.split('\n')).toHaveLength(21);
    expect(e.detail?.split('\n')[0]).toBe('… (10 earlier lines)');
    expect(e.withStep('s').toJSON()).toEqual({ name: 'FerryError', code: 'E_STEP_FAILED', message: 'it broke', hint: 'do y', step: 's', detail: e.detail });
    expect(excerpt('a\nb\n\n')).toBe('a\nb');
  });

  it('wraps anything thrown, keeping the first line of its message', () => {
    const e = toFerryError(new Error('first\nsecond'), 'E_STEP_FAILED', 'x');
    expect([e.code, e.message, e.step]).toEqual(['E_STEP_FAILED', 'first', 'x']);
    const f = new FerryError('E_USAGE', 'm', { hint: 'h' });
    expect(toFerryError(f)).toBe(f);
    expect(toFerryError('plain')).toMatchObject({ code: 'E_UNEXPECTED', message: 'plain' });
  });
});

describe('logger and progress', () => {
  it('redacts every message and tags child loggers with their step', () => {
    const records: LogRecord[] = [];
    const log = createLogger((r) => records.push(r), new Redactor().add('tops3cret'), undefined).child('redis-export');
    log.warn('auth tops3cret failed for redis://u:other-pw@127.0.0.1:6379');
    expect(records).toEqual([expect.objectContaining({ level: 'warn', step: 'redis-export', message: 'auth ••• failed for redis://u:•••@127.0.0.1:6379' })]);
  });

  it('derives rate and ETA from an injectable clock', () => {
    let now = 0;
    const ticks: ProgressTick[] = [];
    const p = createProgress('mysql-export', (t) => ticks.push(t), () => now);
    now = 2000;
    p.update({ unit: 'rows', done: 500, total: 2000, label: 'table users' });
    expect(ticks[0]).toEqual({ step: 'mysql-export', unit: 'rows', done: 500, total: 2000, label: 'table users', ratePerSec: 250, elapsedSec: 2, etaSec: 6 });
  });
});

describe('error codes', () => {
  it('every code is E_UPPER_SNAKE with a meaning, and FerryError carries one (one E_CANCELLED, no E_ABORTED)', () => {
    for (const [code, meaning] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^E_[A-Z0-9]+(_[A-Z0-9]+)*$/);
      expect(meaning.length, code).toBeGreaterThan(10);
    }
    expect(isErrorCode('E_CANCELLED')).toBe(true);
    expect(isErrorCode('E_ABORTED')).toBe(false);
    expect(describeErrorCode('E_LOCKED')).toMatch(/run lock/);
  });

  it('every code thrown in lib/, demo/ and playbooks/ is registered', () => {
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const files = ['lib', 'demo', 'playbooks'].flatMap((d) => readdirSync(join(root, d), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => join(root, d, f)));
    const used = new Set(files.flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/'(E_[A-Z0-9_]+)'/g)].map((m) => m[1]!)));
    expect([...used].filter((c) => !isErrorCode(c))).toEqual([]);
  });
});
