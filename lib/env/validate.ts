/**
 * Validation of a transformed .env against what the containers need: required variables present
 * (a secret as `KEY` or `KEY_FILE`), URLs that parse, service URLs whose host is a stack service name,
 * secret files referenced under /run/secrets. Each problem names the key and its line.
 */
import { parseUrl, isLocalHost } from './url.ts';
import { DEFAULT_REQUIRED_KEYS, DEFAULT_SERVICE_RULES, SECRETS_MOUNT, matchesAny } from './rules.ts';
import type { RequiredKey, ServiceRule } from './rules.ts';
import type { EnvDocument } from './parse.ts';
import { resolveEnv } from './expand.ts';

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
  readonly isSecretKey?: (key: string) => boolean;
}

/** Problems of `doc` for the stack; empty when it is usable. */
export function validateEnv(doc: EnvDocument, options: ValidateOptions = {}): EnvProblem[] {
  const file = options.file ?? '.env';
  const rules = options.rules ?? DEFAULT_SERVICE_RULES;
  // Values as the app loads them: `${…}` expanded, secrets from `NAME_FILE` present in the environment.
  const fromFiles = Object.fromEntries(doc.bindings.filter((b) => b.key?.endsWith('_FILE')).map((b) => [(b.key as string).slice(0, -5), 'secret']));
  const resolved = resolveEnv(doc, { environ: fromFiles, override: false });
  const last = new Map<string, { value: string | undefined; line: number }>();
  for (const b of doc.bindings) if (b.key !== undefined) last.set(b.key, { value: resolved.get(b.key), line: b.line });
  const problems: EnvProblem[] = [];
  const at = (key: string, line: number | undefined, message: string) =>
    problems.push({ key, line, message: `${file}${line ? `:${line}` : ''}: ${key} ${message}` });

  for (const req of options.required ?? DEFAULT_REQUIRED_KEYS) {
    const entry = last.get(req.key) ?? last.get(`${req.key}_FILE`);
    if (!entry || entry.value === undefined || entry.value === '') at(req.key, entry?.line, `is missing or empty; ${req.neededBy} needs it`);
    else if (req.hosts && last.has(req.key)) {
      const u = parseUrl(entry.value);
      if (u && !u.host.includes('${') && !req.hosts.includes(u.host.toLowerCase())) at(req.key, entry.line, `must point at ${req.hosts.join(' or ')} (got host ${u.host || 'none'}); ${req.neededBy} needs it`);
    }
  }
  for (const [key, { value, line }] of last) {
    if (value === undefined) continue;
    if (/_FILE$/u.test(key) && value.startsWith('/') && !value.startsWith(`${SECRETS_MOUNT}/`) && options.isSecretKey?.(key.slice(0, -5))) {
      at(key, line, `must name a file under ${SECRETS_MOUNT}/`);
    }
    if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\//u.test(value)) continue;
    const u = parseUrl(value);
    if (!u) { at(key, line, 'is not a URL that parses (scheme://[user[:password]@]host[:port]/…)'); continue; }
    if (u.port !== undefined && (u.port === '' || Number(u.port) > 65535)) at(key, line, `has an invalid port "${u.port}"`);
    const rule = rules.find((r) => matchesAny(u.scheme, r.schemes)) ?? rules.find((r) => matchesAny(key, r.keys));
    if (rule && (isLocalHost(u.host) || u.host === '')) at(key, line, `still points at ${u.host || 'a unix socket'}; inside the stack use ${rule.host}`);
  }
  return problems;
}
