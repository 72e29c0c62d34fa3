/**
 * Issue 17's layout rules that nothing else checks: every step module of lib/steps is named by its
 * step's id (the id keys the journal, the file name says where it lives), and playbooks/ reach lib/
 * only through its public surface, lib/index.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../../..');
const ts = (dir: string) => readdirSync(join(ROOT, dir)).filter((f) => f.endsWith('.ts')).map((f) => join(ROOT, dir, f));

describe('lib/steps and playbooks layout', () => {
  it('every module of lib/steps exporting a step by default is named by its id', async () => {
    const modules = ts('lib/steps').filter((f) => /^export default defineStep/mu.test(readFileSync(f, 'utf8')));
    expect(modules.length).toBeGreaterThanOrEqual(10);
    for (const f of modules) {
      const step = (await import(f) as { default: { id: string } }).default;
      expect(step.id, f).toBe(basename(f, '.ts'));
    }
  });

  it('playbooks import lib/ only through lib/index.ts', () => {
    const files = [...ts('playbooks'), ...ts('playbooks/runtime')];
    expect(files.length).toBeGreaterThan(4);
    for (const f of files) {
      const into = [...readFileSync(f, 'utf8').matchAll(/from '((?:\.\.\/)+lib\/[^']+)'/gu)].map((m) => m[1]);
      expect(into.filter((p) => !/^(\.\.\/)+lib\/index\.ts$/u.test(p as string)), f).toEqual([]);
    }
  });
});
