/**
 * python-dotenv's interpolation: `${NAME}` and `${NAME:-default}` (the default is literal), resolved
 * against earlier values of the file and the process environment; an unknown name becomes "".
 */
import type { EnvDocument } from './parse.ts';

const VARIABLE = /\$\{([^}:]*)(?::-([^}]*))?\}/gu;

/** The names a value refers to with `${…}`. */
export function referencedNames(value: string): string[] {
  return [...value.matchAll(VARIABLE)].map((m) => m[1] ?? '');
}

/** Expand `${…}` references in one value against `env`. */
export function expandValue(value: string, env: Readonly<Record<string, string | undefined>>): string {
  return value.replace(VARIABLE, (_m, name: string, fallback: string | undefined) => env[name] ?? fallback ?? '');
}

export interface ResolveOptions {
  /** The process environment the file is loaded into. */
  readonly environ?: Readonly<Record<string, string | undefined>>;
  /** python-dotenv's `override`: file values win over the environment (true for `dotenv_values`). */
  readonly override?: boolean;
}

/** The values python-dotenv would load, in file order, last duplicate winning; `KEY` without `=` is undefined. */
export function resolveEnv(doc: EnvDocument, options: ResolveOptions = {}): Map<string, string | undefined> {
  const environ = options.environ ?? {};
  const override = options.override ?? true;
  const values = new Map<string, string | undefined>();
  for (const b of doc.bindings) {
    if (b.key === undefined) continue;
    if (b.value === undefined) { values.set(b.key, undefined); continue; }
    const fromFile = Object.fromEntries([...values].filter(([, v]) => v !== undefined));
    const env = override ? { ...environ, ...fromFile } : { ...fromFile, ...environ };
    values.set(b.key, expandValue(b.value, env));
  }
  return values;
}
