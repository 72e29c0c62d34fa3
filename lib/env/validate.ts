/**
 * Validation of the environment the app container will see: required variables present (a secret
 * counts when it arrives through `KEY_FILE`), URLs that parse, service URLs whose host is a stack
 * service name. Each problem names the key and its line — never a value.
 */
import { parseUrl, isLocalHost } from './url.ts';
import { DEFAULT_REQUIRED_KEYS, DEFAULT_SERVICE_RULES, matchesAny } from './rules.ts';
import type { RequiredKey, ServiceRule } from './rules.ts';

export interface EnvProblem {
  readonly key: string;
  /** Line of the statement; undefined for a missing variable. */
  readonly line: number | undefined;
  readonly message: string;
}

export interface ValidateOptions {
  readonly file?: string;
  readonly required?: readonly RequiredKey[] | undefined;
  readonly rules?: readonly ServiceRule[];
}

/** One variable of the container env: its value there and the line of the .env it came from. */
export interface ContainerValue {
  readonly value: string;
  readonly line: number | undefined;
}

/** Problems of the container environment `env`; empty when it is usable. */
export function validateEnv(env: ReadonlyMap<string, ContainerValue>, options: ValidateOptions = {}): EnvProblem[] {
  const file = options.file ?? '.env';
  const rules = options.rules ?? DEFAULT_SERVICE_RULES;
  const problems: EnvProblem[] = [];
  const at = (key: string, line: number | undefined, message: string) =>
    problems.push({ key, line, message: `${file}${line ? `:${line}` : ''}: ${key} ${message}` });

  for (const req of options.required ?? DEFAULT_REQUIRED_KEYS) {
    // A secret arrives as `KEY_FILE` and the entrypoint exports `KEY` from it.
    const entry = env.get(req.key) ?? env.get(`${req.key}_FILE`);
    if (!entry || entry.value === '') at(req.key, entry?.line, `is missing or empty; ${req.neededBy} needs it`);
    else if (req.hosts && env.has(req.key)) {
      const u = parseUrl(entry.value);
      if (u && !req.hosts.includes(u.host.toLowerCase())) at(req.key, entry.line, `must point at ${req.hosts.join(' or ')} (got host ${u.host || 'none'}); ${req.neededBy} needs it`);
    }
  }
  for (const [key, { value, line }] of env) {
    if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\//u.test(value)) continue;
    const u = parseUrl(value);
    if (!u) { at(key, line, 'is not a URL that parses (scheme://[user[:password]@]host[:port]/…)'); continue; }
    if (u.port !== undefined && (u.port === '' || !/^\d+$/u.test(u.port) || Number(u.port) > 65535)) at(key, line, `has an invalid port "${u.port}"`);
    const rule = rules.find((r) => matchesAny(u.scheme, r.schemes)) ?? rules.find((r) => matchesAny(key, r.keys));
    if (rule && (isLocalHost(u.host) || u.host === '')) at(key, line, `still points at ${u.host || 'a unix socket'}; inside the stack use ${rule.host}`);
  }
  return problems;
}
