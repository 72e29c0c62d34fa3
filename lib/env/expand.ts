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

/** A variable lookup: a string, `null` for "set without a value" (reads as ""), undefined for unset. */
export type Lookup = (name: string) => string | null | undefined;

/** Expand `${…}` references in one value (a set-but-empty variable wins over the default, as in python-dotenv). */
export function expandValue(value: string, env: Readonly<Record<string, string | undefined>> | Lookup): string {
  const lookup: Lookup = typeof env === 'function' ? env : (name) => (Object.hasOwn(env, name) ? env[name] : undefined);
  return value.replace(VARIABLE, (_m, name: string, fallback: string | undefined) => {
    const found = lookup(name);
    return found === undefined ? (fallback ?? '') : (found ?? '');
  });
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
  const fromEnviron = (name: string) => (Object.hasOwn(environ, name) ? environ[name] : undefined);
  const fromFile = (name: string) => (values.has(name) ? (values.get(name) ?? null) : undefined);
  const first = (a: Lookup, b: Lookup): Lookup => (n) => { const v = a(n); return v === undefined ? b(n) : v; };
  const lookup = override ? first(fromFile, fromEnviron) : first(fromEnviron, fromFile);
  for (const b of doc.bindings) {
    if (b.key === undefined) continue;
    values.set(b.key, b.value === undefined ? undefined : expandValue(b.value, lookup));
  }
  return values;
}
