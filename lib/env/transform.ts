/**
 * `transformEnv`: the host's .env rewritten for the Compose stack. Pure: text in, text out.
 *
 * The secrets scheme:
 * - a secret variable (`FLASK_SECRET_KEY=…`) becomes `FLASK_SECRET_KEY_FILE=/run/secrets/flask_secret_key`
 *   on the same line; its value is returned in `secrets.flask_secret_key`, written by the step to
 *   `secrets/flask_secret_key.txt` and mounted as the Docker secret `flask_secret_key`. Database and
 *   Redis passwords take the stack's names (`DB_PASSWORD` → `mysql_password`, see DEFAULT_SECRET_NAMES);
 * - a password inside a URL (`mysql+pymysql://vedfolnir:p%40ss@…`) is replaced by the placeholder
 *   `__FERRY_SECRET_MYSQL_PASSWORD__`; the secret holds the decoded password (`p@ss`), shared with a
 *   secret variable holding the same value, else named after the service (`mysql_password`,
 *   `redis_password`) or, when that is taken by another value, after the variable (`cache_url_password`);
 * - `${DB_PASSWORD}` as a URL password becomes the placeholder too: Compose interpolates `env_file`
 *   values before the entrypoint runs, and `DB_PASSWORD` is no longer in the file;
 * - at start-up `compose/app/entrypoint-secrets.sh` exports `NAME` from every `NAME_FILE` and puts the
 *   percent-encoded secret in place of every placeholder, then runs the app; python-dotenv's
 *   `load_dotenv()` (override=False) keeps those environment values. The compose service must load
 *   the .env with `env_file:` so the entrypoint sees it.
 * With `keepUrlPasswords`, URL passwords stay in place (still masked in every diff and log).
 */
import { parseEnv, serializeEnv } from './parse.ts';
import type { EnvBinding, EnvDocument } from './parse.ts';
import { withKey, withValue } from './encode.ts';
import { rewritePlain } from './rewrite-plain.ts';
import { redactedDiff } from './diff.ts';
import { referencedNames } from './expand.ts';
import { rewriteUrl } from './rewrite-url.ts';
import { DEFAULT_SECRET_KEYS, DEFAULT_SECRET_NAMES, DEFAULT_SERVICE_RULES, SECRETS_MOUNT, globRegExp, matchesAny, secretName } from './rules.ts';
import type { RequiredKey, ServiceRule } from './rules.ts';
import { validateEnv } from './validate.ts';
import type { EnvProblem } from './validate.ts';

export interface TransformOptions {
  /** File name for messages and the diff header. */
  readonly file?: string;
  /** Service rules; default `DEFAULT_SERVICE_RULES` (Vedfolnir's). */
  readonly rules?: readonly ServiceRule[];
  /** Secret variable names (globs); default `DEFAULT_SECRET_KEYS`. */
  readonly secretKeys?: readonly string[];
  /** Added to `secretKeys` (config `app.secretKeys`). */
  readonly extraSecretKeys?: readonly string[];
  /** Variable → secret name; default `DEFAULT_SECRET_NAMES` (the stack's names), else `secretName(key)`. */
  readonly secretNames?: Readonly<Record<string, string>>;
  /** Keep passwords inside URLs instead of moving them to secret files (config `app.keepUrlPasswords`). */
  readonly keepUrlPasswords?: boolean;
  /** Variables the containers need; default `DEFAULT_REQUIRED_KEYS`. */
  readonly required?: readonly RequiredKey[];
}

/** One rewritten statement, described without values. */
export interface EnvChange {
  readonly key: string;
  readonly line: number;
  readonly what: string;
}

export interface TransformResult {
  /** The new .env text. */
  readonly env: string;
  /** Secret name → value, for `secrets/<name>.txt`. */
  readonly secrets: Record<string, string>;
  readonly warnings: string[];
  /** Redacted unified diff (secret values shown as •••); "" when nothing changes. */
  readonly diff: string;
  readonly changes: EnvChange[];
  /** `extra_hosts` entries the app service needs. */
  readonly extraHosts: string[];
  /** Problems the result has for the containers (empty when it is usable). */
  readonly problems: EnvProblem[];
}

/** A predicate for secret variable names under `options` (`*_FILE` never is one). */
export function secretKeyMatcher(options: TransformOptions = {}): (key: string) => boolean {
  const re = globRegExp([...(options.secretKeys ?? DEFAULT_SECRET_KEYS), ...(options.extraSecretKeys ?? [])]);
  return (key) => !/_FILE$/iu.test(key) && re.test(key);
}

/** Warnings for keys set more than once (python-dotenv keeps the last). */
export function duplicateKeyWarnings(doc: EnvDocument, file = '.env'): string[] {
  const lines = new Map<string, number[]>();
  for (const b of doc.bindings) if (b.key !== undefined) { const l = lines.get(b.key); if (l) l.push(b.line); else lines.set(b.key, [b.line]); }
  return [...lines].filter(([, l]) => l.length > 1)
    .map(([k, l]) => `${file}: ${k} is set on lines ${l.join(', ')}; python-dotenv keeps the last (line ${l.at(-1)})`);
}

function ruleFor(b: EnvBinding, rules: readonly ServiceRule[]): ServiceRule | undefined {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//u.exec(b.value ?? '')?.[1];
  return (scheme ? rules.find((r) => matchesAny(scheme, r.schemes)) : undefined) ?? rules.find((r) => matchesAny(b.key ?? '', r.keys));
}

/** Rewrite a python-dotenv .env for the Compose stack. Throws `E_ENV_PARSE` on an unparseable line. */
export function transformEnv(text: string, options: TransformOptions = {}): TransformResult {
  const file = options.file ?? '.env';
  const doc = parseEnv(text, { file });
  const rules = options.rules ?? DEFAULT_SERVICE_RULES;
  const isSecretKey = secretKeyMatcher(options);
  const warnings = duplicateKeyWarnings(doc, file);
  const secrets: Record<string, string> = {};
  const byValue = new Map<string, string>();
  const changes: EnvChange[] = [];
  const out: EnvBinding[] = [...doc.bindings];

  // Secret variables first, so URL passwords equal to one share its secret.
  const owner = new Map<string, string>();
  const nameOfKey = new Map<string, string>();
  const names = options.secretNames ?? DEFAULT_SECRET_NAMES;
  doc.bindings.forEach((b, i) => {
    if (b.key === undefined || !isSecretKey(b.key) || !b.value || b.value.includes('${')) return;
    let name = names[b.key] ?? secretName(b.key);
    if (owner.has(name) && owner.get(name) !== b.key && secrets[name] !== b.value) {
      const taken = name;
      name = secretName(b.key);
      for (let n = 2; owner.has(name) && owner.get(name) !== b.key; n++) name = `${secretName(b.key)}_${n}`;
      warnings.push(`${file}:${b.line}: ${b.key} differs from ${owner.get(taken)}, which already fills secret ${taken}: it gets its own secret ${name}`);
    }
    if (!owner.has(name)) owner.set(name, b.key);
    nameOfKey.set(b.key, name);
    // A later duplicate replaces the value (python-dotenv keeps the last): forget the old one.
    const previous = secrets[name];
    if (previous !== undefined && byValue.get(previous) === name) byValue.delete(previous);
    secrets[name] = b.value;
    if (!byValue.has(b.value)) byValue.set(b.value, name);
    out[i] = withValue(withKey(b, `${b.key}_FILE`), `${SECRETS_MOUNT}/${name}`);
    changes.push({ key: b.key, line: b.line, what: `value → secret ${name} (${b.key}_FILE)` });
  });

  doc.bindings.forEach((b, i) => {
    if (b.key === undefined || b.value === undefined || out[i] !== b) return;
    const rule = ruleFor(b, rules);
    const url = rewriteUrl(b.value, { key: b.key, line: b.line, file, rule, keepUrlPasswords: options.keepUrlPasswords ?? false, byValue, secrets, warnings, isSecretKey,
      secretNameOf: (key) => nameOfKey.get(key) ?? names[key] ?? secretName(key) });
    if (url) {
      if (url.value !== b.value) { out[i] = withValue(b, url.value); changes.push({ key: b.key, line: b.line, what: url.what.join('; ') }); }
      return;
    }
    const plain = rule ? rewritePlain(b, rule) : undefined;
    if (plain) { out[i] = plain.binding; changes.push({ key: b.key, line: b.line, what: plain.what }); }
  });

  for (const b of out) {
    for (const name of b.value === undefined ? [] : referencedNames(b.value)) {
      if (isSecretKey(name)) {
        warnings.push(`${file}:${b.line}: ${b.key} refers to \${${name}}, a secret that leaves the .env: it resolves only once the entrypoint has exported ${name}`);
      }
    }
  }
  const after: EnvDocument = { bom: doc.bom, bindings: out };
  const env = serializeEnv(after);
  const extraHosts = [...new Set(rules.filter((r) => r.extraHosts && env.includes(r.host)).flatMap((r) => r.extraHosts ?? []))];
  const diff = redactedDiff(doc, after, { file, isSecretKey, secrets: Object.values(secrets) });
  const problems = validateEnv(after, { file, required: options.required, rules, isSecretKey });
  return { env, secrets, warnings, diff, changes, extraHosts, problems };
}
