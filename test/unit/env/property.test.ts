import { describe, expect, it } from 'vitest';
import { parseEnv, resolveEnv, serializeEnv, transformEnv, withValue } from '../../../lib/env/index.ts';
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

  it('transform is idempotent and keeps every value it does not own', () => {
    const rand = prng(7);
    let moved = 0;
    for (let i = 0; i < FILES; i++) {
      const text = generateEnvFile(rand);
      const once = transformEnv(text);
      const twice = transformEnv(once.env);
      expect(twice.env, `file #${i}:\n${text}`).toBe(once.env);
      expect(twice.secrets).toEqual({});
      moved += Object.keys(once.secrets).length;
      // Variables no rule or secret list claims load exactly as before.
      const before = resolveEnv(parseEnv(text));
      // …with the secrets exported by the entrypoint (NAME from NAME_FILE), as in the container.
      const exported = Object.fromEntries(parseEnv(once.env).bindings.filter((b) => b.key?.endsWith('_FILE'))
        .map((b) => [(b.key as string).slice(0, -5), once.secrets[(b.value ?? '').replace('/run/secrets/', '')]]));
      const after = resolveEnv(parseEnv(once.env), { environ: exported, override: false });
      for (const key of ['FLASK_ENV', 'LOG_LEVEL', 'APP_NAME', 'CAPTION_PROMPT', 'X', 'a_b']) {
        if (before.has(key)) expect(after.get(key), `${key} in file #${i}`).toBe(before.get(key));
      }
    }
    expect(moved).toBeGreaterThan(FILES / 4); // the generator does exercise the secret path
  });

  it('a new value is written so that python-dotenv reads it back exactly', () => {
    const rand = prng(99);
    const doc = parseEnv("A=1\nexport B='x' # c\r\nC = \"y\"\n");
    for (let i = 0; i < 2000; i++) {
      const value = generateValue(rand);
      for (const b of doc.bindings) {
        const next = withValue(b, value);
        const reread = parseEnv(next.head + next.rawValue + next.tail).bindings;
        expect(reread.length).toBe(1);
        expect(reread[0]?.value, JSON.stringify(value)).toBe(value);
        expect(reread[0]?.tail).toBe(b.tail);
      }
    }
  });
});
