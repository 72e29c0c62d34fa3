/**
 * Golden cases: fixtures/env/<case>/input.env (+ options.json) → expected.env (the canonical container
 * env), expected-secrets.json, and when present expected-environment.json (the override's
 * `environment:`), expected-report.json (every change and warning, by line), expected-problems.json,
 * or expected-error.json for bad input.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isFerryError } from '../../../lib/core/errors.ts';
import { transformEnv } from '../../../lib/env/index.ts';
import type { TransformOptions, TransformResult } from '../../../lib/env/index.ts';

const ROOT = join(import.meta.dirname, '../../../fixtures/env');
const cases = readdirSync(ROOT).filter((c) => existsSync(join(ROOT, c, 'input.env'))).sort();
const read = (c: string, f: string) => readFileSync(join(ROOT, c, f), 'utf8');
const json = <T>(c: string, f: string, fallback: T): T => (existsSync(join(ROOT, c, f)) ? (JSON.parse(read(c, f)) as T) : fallback);

/** The report as the golden files hold it: one line per change, then the warnings. */
export const reportOf = (r: TransformResult): string[] => [...r.changes.map((c) => `${c.line} ${c.key} [${c.kind}] ${c.what}`), ...r.warnings.map((w) => `warning: ${w}`)];

describe('golden .env cases', () => {
  it('covers every rule of the issue', () => {
    expect(cases).toEqual(expect.arrayContaining([
      'vedfolnir-macos', 'quoting-and-comments', 'crlf-bom', 'interpolation', 'references', 'duplicate-keys', 'unset-keys', 'sockets-and-ports',
      'bind-address', 'host-gateway', 'host-paths', 'secret-shapes', 'non-canonical-values', 'ambiguity', 'postgres',
      'keep-url-passwords', 'custom-secret-keys', 'percent-encoding', 'already-transformed', 'remote-host', 'missing-required',
      'bad-unterminated-quote', 'bad-junk-after-quote', 'bad-missing-key', 'bad-secret-unplaceable', 'conflicting-db-passwords',
    ]));
  });

  for (const c of cases) {
    it(c, () => {
      const input = read(c, 'input.env');
      const options = json<TransformOptions>(c, 'options.json', {});
      const error = json<{ code: string; message: string } | undefined>(c, 'expected-error.json', undefined);
      if (error) {
        let thrown: unknown;
        try { transformEnv(input, options); } catch (e) { thrown = e; }
        expect(isFerryError(thrown)).toBe(true);
        expect({ code: (thrown as Error & { code: string }).code, message: (thrown as Error).message }).toEqual(error);
        return;
      }
      const r = transformEnv(input, options);
      expect(r.env).toBe(read(c, 'expected.env'));
      expect(r.secrets).toEqual(json(c, 'expected-secrets.json', {}));
      expect(r.environment).toEqual(json(c, 'expected-environment.json', {}));
      expect(reportOf(r)).toEqual(json(c, 'expected-report.json', []));
      expect(r.problems).toEqual(json(c, 'expected-problems.json', []));
      // Canonical: LF, no BOM, one KEY=value per line, no quote, `$`, comment or edge blank.
      expect(r.env.startsWith('\uFEFF')).toBe(false);
      for (const line of r.env.split('\n').slice(0, -1)) expect(line).toMatch(/^[A-Za-z_][A-Za-z0-9_]*=(?:[^\s$'"`\\#](?:[^\r\n$'"`\\]*[^\s$'"`\\])?)?$/u);
      // Idempotent: the emitted env is a fixed point and moves no further secret.
      const again = transformEnv(r.env, options);
      expect(again.env).toBe(r.env);
      expect(again.secrets).toEqual({});
      // No secret value in anything the transform reports or emits outside the secret files.
      const reported = [r.env, r.diff, ...reportOf(r), ...Object.values(r.environment), ...r.problems.map((p) => p.message)].join('\n');
      for (const v of Object.values(r.secrets).filter((s) => s.length >= 4)) expect(reported).not.toContain(v);
    });
  }
});
