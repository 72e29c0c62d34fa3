import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { composeValue, isCanonicalValue, parseEnv, rebuildSecretUrls, resolveEnv, serializeEnv, transformEnv } from '../../../lib/env/index.ts';
import { generateEnvFile, generateValue, prng } from './generate.ts';

const FILES = 400;

describe('properties over generated .env files (seeded)', () => {
  it('parse ∘ serialise is the identity, byte for byte', () => {
    const rand = prng(20261122);
    for (let i = 0; i < FILES; i++) {
      const text = generateEnvFile(rand);
      expect(serializeEnv(parseEnv(text)), `file #${i}:\n${text}`).toBe(text);
    }
  });

  it('transform is idempotent, emits only canonical lines, and keeps every value it does not own', () => {
    const rand = prng(7);
    let moved = 0;
    let environment = 0;
    for (let i = 0; i < FILES; i++) {
      const text = generateEnvFile(rand);
      const once = transformEnv(text);
      const twice = transformEnv(once.env);
      expect(twice.env, `file #${i}:\n${text}`).toBe(once.env);
      expect(twice.secrets).toEqual({});
      moved += Object.keys(once.secrets).length;
      environment += Object.keys(once.environment).length;
      for (const line of once.env.split('\n').slice(0, -1)) expect(isCanonicalValue(line.slice(line.indexOf('=') + 1)), line).toBe(true);
      // What python-dotenv loads from the original, for variables no rule or secret list claims, is what the app sees.
      const before = resolveEnv(parseEnv(text));
      for (const key of ['FLASK_ENV', 'LOG_LEVEL', 'APP_NAME', 'CAPTION_PROMPT', 'X', 'a_b']) {
        if (before.get(key) !== undefined) expect(once.containerEnv[key], `${key} in file #${i}`).toBe(before.get(key));
        else expect(once.containerEnv[key]).toBeUndefined();
      }
      // The emitted files carry exactly the container env: env file + environment, then the entrypoint's secrets.
      const emitted = Object.fromEntries([...resolveEnv(parseEnv(once.env))].map(([k, v]) => [k, v ?? '']));
      const rebuilt = rebuildSecretUrls({ ...emitted, ...once.environment }, (n) => once.secrets[n]);
      for (const key of Object.keys(once.secretFiles)) delete rebuilt[`${key}_FILE`];
      expect(rebuilt, `file #${i}:\n${text}`).toEqual(once.containerEnv);
    }
    expect(moved).toBeGreaterThan(FILES / 4); // the generator does exercise the secret path
    expect(environment).toBeGreaterThan(FILES / 4); // …and the non-canonical path
  });

  it("every value survives its route: canonical through python-dotenv's reading, the rest through compose's YAML", () => {
    const rand = prng(99);
    let canonical = 0;
    for (let i = 0; i < 3000; i++) {
      const value = generateValue(rand);
      if (isCanonicalValue(value)) {
        canonical++;
        expect(parseEnv(`K=${value}\n`).bindings[0]?.value, JSON.stringify(value)).toBe(value);
      }
      const parsed = parseYaml(`K: ${composeValue(value)}\n`) as { K: string };
      expect(parsed.K.replace(/\$\$/gu, '$'), JSON.stringify(value)).toBe(value);
    }
    expect(canonical).toBeGreaterThan(100);
  });
});
