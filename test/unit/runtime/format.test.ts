import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, formatError, formatPlan, formatProgress, helpText, parseCliArgs } from '../../../playbooks/runtime/index.ts';

describe('format', () => {
  it('shows progress with totals, bytes, rate and ETA', () => {
    expect(formatProgress({ step: 's', unit: 'rows', done: 12_000, total: 50_000, bytes: 3 * 1024 * 1024, label: 'table users', ratePerSec: 4200, etaSec: 9.04, elapsedSec: 3 }))
      .toBe('table users: 12,000/50,000 rows · 3.0 MB · 4,200 rows/s · ETA 9.0s');
    expect(formatProgress({ step: 's', unit: 'bytes', done: 2048, ratePerSec: 1536, elapsedSec: 1 })).toBe('2,048 bytes · 1.5 KB/s');
  });

  it('formats sizes and durations', () => {
    expect([formatBytes(512), formatBytes(1536), formatBytes(5 * 1024 ** 3)]).toEqual(['512 B', '1.5 KB', '5.0 GB']);
    expect([formatDuration(250), formatDuration(12_340), formatDuration(125_000)]).toEqual(['250ms', '12.3s', '2m05s']);
  });

  it('shows a plan entry with what it reads, changes and details', () => {
    expect(formatPlan('Rewrite .env', 'env-rewrite', { reads: ['.env'], changes: ['.env', 'secrets/db_password'], details: '- DB_HOST=localhost\n+ DB_HOST=mysql\n', pending: true }, 'would run'))
      .toBe('● Rewrite .env [env-rewrite]: would run\n    reads    .env\n    changes  .env\n    changes  secrets/db_password\n    - DB_HOST=localhost\n    + DB_HOST=mysql');
    expect(formatPlan('Export', 'mysql-export', { reads: [], changes: [], pending: false }, 'done at T')).toBe('✔ Export [mysql-export]: nothing to do (done at T)');
  });

  it('shows an error as a message, a hint and an indented detail', () => {
    expect(formatError({ message: 'cannot connect to 127.0.0.1:3306 as root', hint: 'start MySQL', detail: 'ERROR 2003\nline 2' }))
      .toBe('✖ cannot connect to 127.0.0.1:3306 as root\n  hint: start MySQL\n    ERROR 2003\n    line 2');
  });
});

describe('cli args', () => {
  const def = { id: 'x', title: 'X', description: 'Does x.', options: { 'with-data': { type: 'boolean' as const, help: 'copy data back' }, lines: { type: 'string' as const, default: '10', help: 'how many' } } };

  it('parses common and extra flags with their defaults', () => {
    expect(parseCliArgs(def.options, ['--dry-run', '-c', 'f.json', '--with-data'])).toMatchObject({ 'dry-run': true, config: 'f.json', 'with-data': true, lines: '10' });
  });

  it('refuses unknown flags and missing values as usage errors', () => {
    expect(() => parseCliArgs(def.options, ['--nope'])).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
    expect(() => parseCliArgs(def.options, ['--config'])).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
  });

  it('--help lists the common flags and the playbook\'s own; --demo only when it has one', () => {
    const text = helpText(def, '/x/playbooks/x.ts');
    expect(text).toContain('Usage: node x.ts [options]');
    for (const f of ['--config FILE', '--dry-run', '--json', '--with-data', '--lines VALUE', '--restart-from STEP']) expect(text).toContain(f);
    expect(text).not.toContain('--demo');
    expect(helpText({ ...def, demo: () => undefined })).toContain('--demo');
  });
});
