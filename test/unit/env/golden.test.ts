/**
 * Golden cases: fixtures/env/<case>/input.env (+ options.json) → expected.env, expected-secrets.json,
 * and when present expected-warnings.json, expected-problems.json, or expected-error.json for bad input.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isFerryError } from '../../../lib/core/errors.ts';
import { parseEnv, serializeEnv, transformEnv } from '../../../lib/env/index.ts';
import type { TransformOptions } from '../../../lib/env/index.ts';

const ROOT = join(import.meta.dirname, '../../../fixtures/env');
const cases = readdirSync(ROOT).filter((c) => existsSync(join(ROOT, c, 'input.env'))).sort();
const read = (c: string, f: string) => readFileSync(join(ROOT, c, f), 'utf8');
const json = <T>(c: string, f: string, fallback: T): T => (existsSync(join(ROOT, c, f)) ? (JSON.parse(read(c, f)) as T) : fallback);

describe('golden .env cases', () => {
  it('covers every construct of the issue', () => {
    expect(cases).toEqual(expect.arrayContaining([
      'vedfolnir-macos', 'quoting-and-comments', 'crlf-bom', 'interpolation', 'duplicate-keys', 'sockets-and-ports',
      'keep-url-passwords', 'custom-secret-keys', 'percent-encoding', 'already-transformed', 'remote-host', 'missing-required',
      'bad-unterminated-quote', 'bad-junk-after-quote', 'bad-missing-key', 'conflicting-db-passwords',
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
      expect(serializeEnv(parseEnv(input))).toBe(input);
      const r = transformEnv(input, options);
      expect(r.env).toBe(read(c, 'expected.env'));
      expect(r.secrets).toEqual(json(c, 'expected-secrets.json', {}));
      expect(r.warnings).toEqual(json(c, 'expected-warnings.json', []));
      expect(r.problems).toEqual(json(c, 'expected-problems.json', []));
      // Idempotent: the output is a fixed point and moves no further secret.
      const again = transformEnv(r.env, options);
      expect(again.env).toBe(r.env);
      expect(again.secrets).toEqual({});
      // No secret value in anything the transform reports.
      const reported = [r.env, r.diff, ...r.warnings, ...r.changes.map((x) => x.what), ...r.problems.map((p) => p.message)].join('\n');
      for (const v of Object.values(r.secrets).filter((s) => s.length >= 4)) expect(reported).not.toContain(v);
    });
  }
});
