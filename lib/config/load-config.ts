/**
 * Load `ferry.config.ts` (a module whose default export is the config, typically via `defineConfig`)
 * or a JSON file, then validate it with `normalizeConfig` against the file's directory.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FerryError } from '../core/errors.ts';
import { redactUrlPasswords } from '../util/redact.ts';
import { normalizeConfig, type Env, type OptionParsers } from './normalize-config.ts';
import type { Config } from './schema.ts';

/** Config files looked for, in order, when none is named. */
export const DEFAULT_CONFIG_FILES = ['ferry.config.ts', 'ferry.config.json'] as const;

export async function loadConfig(path: string, opts: { env?: Env; engines?: OptionParsers } = {}): Promise<Config> {
  const file = resolve(path);
  const st = await stat(file).catch(() => null);
  if (!st?.isFile()) {
    throw new FerryError('E_CONFIG_MISSING', `config file ${file} not found`, {
      hint: 'pass --config <file>, or create ferry.config.ts (or ferry.config.json) in the current directory',
    });
  }
  const input = extname(file) === '.json' ? await readJson(file) : await importModule(file);
  return normalizeConfig(input, { baseDir: dirname(file), source: basename(file), ...(opts.env ? { env: opts.env } : {}), ...(opts.engines ? { engines: opts.engines } : {}) });
}

/** The first of `DEFAULT_CONFIG_FILES` that exists in `dir`, else undefined. */
export async function findConfig(dir: string): Promise<string | undefined> {
  for (const name of DEFAULT_CONFIG_FILES) {
    const p = resolve(dir, name);
    if ((await stat(p).catch(() => null))?.isFile()) return p;
  }
  return undefined;
}

async function readJson(file: string): Promise<unknown> {
  const text = await readFile(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    const pos = /position (\d+)/.exec(String((e as Error).message));
    const at = pos ? lineCol(text, Number(pos[1])) : '';
    throw new FerryError('E_CONFIG_SYNTAX', `${file}${at}: not valid JSON: ${redactUrlPasswords(String((e as Error).message).split('\n')[0] ?? '')}`, {
      hint: 'fix the JSON syntax there (no trailing commas, no comments, double-quoted keys)',
      cause: e,
    });
  }
}

async function importModule(file: string): Promise<unknown> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    const msg = redactUrlPasswords(String((e as Error)?.message ?? e).split('\n')[0] ?? '');
    throw new FerryError('E_CONFIG_LOAD', `${file}: cannot load: ${msg}`, {
      hint: 'the config must be an ES module with `export default defineConfig({...})`, using only erasable TypeScript',
      cause: e,
    });
  }
  const value = mod.default ?? mod.config;
  if (value === undefined) {
    throw new FerryError('E_CONFIG_LOAD', `${file} has no default export`, { hint: 'end it with `export default defineConfig({ ... })`' });
  }
  return value;
}

function lineCol(text: string, pos: number): string {
  const before = text.slice(0, pos).split('\n');
  return `:${before.length}:${(before[before.length - 1]?.length ?? 0) + 1}`;
}
