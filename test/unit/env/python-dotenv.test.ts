/**
 * The parser against python-dotenv itself, when it is installed (python3 -c 'import dotenv'):
 * generated files and the golden inputs must load to the same values.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseEnv, resolveEnv, transformEnv } from '../../../lib/env/index.ts';
import { generateEnvFile, prng } from './generate.ts';

const hasDotenv = spawnSync('python3', ['-c', 'import dotenv'], { stdio: 'ignore' }).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'ferry-dotenv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// utf-8-sig: a BOM is dropped, as compose v1 and python-dotenv since #640 do (Debian's 0.21 would read it into the first key).
const PY = 'import sys, json\nfrom dotenv import dotenv_values\nprint(json.dumps([dotenv_values(f, encoding="utf-8-sig") for f in sys.argv[1:]]))';

/** What python-dotenv's dotenv_values() loads from each file (one python process for all). */
function pythonValues(files: string[]): Array<Record<string, string | null>> {
  const out = execFileSync('python3', ['-c', PY, ...files], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(out.toString('utf8')) as Array<Record<string, string | null>>;
}

const ours = (text: string) => Object.fromEntries([...resolveEnv(parseEnv(text))].map(([k, v]) => [k, v ?? null]));

describe.skipIf(!hasDotenv)('python-dotenv agrees', () => {
  it('on 300 generated files', () => {
    const rand = prng(424242);
    const texts = Array.from({ length: 300 }, () => generateEnvFile(rand));
    const files = texts.map((t, i) => { const f = join(dir, `gen-${i}.env`); writeFileSync(f, t); return f; });
    const theirs = pythonValues(files);
    texts.forEach((t, i) => expect(ours(t), `file #${i}:\n${t}`).toEqual(theirs[i]));
  });

  it('on the transformed files (what the container loads)', () => {
    const rand = prng(515);
    const texts = Array.from({ length: 150 }, () => transformEnv(generateEnvFile(rand)).env);
    const files = texts.map((t, i) => { const f = join(dir, `out-${i}.env`); writeFileSync(f, t); return f; });
    const theirs = pythonValues(files);
    texts.forEach((t, i) => expect(ours(t), `file #${i}:\n${t}`).toEqual(theirs[i]));
  });

  it('on the golden inputs', () => {
    const root = join(import.meta.dirname, '../../../fixtures/env');
    const cases = readdirSync(root).filter((c) => !c.startsWith('bad-') && existsSync(join(root, c, 'input.env')));
    const theirs = pythonValues(cases.map((c) => join(root, c, 'input.env')));
    cases.forEach((c, i) => expect(ours(readFileSync(join(root, c, 'input.env'), 'utf8')), c).toEqual(theirs[i]));
    expect(cases.length).toBeGreaterThan(8);
  });
});
