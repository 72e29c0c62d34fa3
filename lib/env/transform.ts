/**
 * `transformEnv(text, options)`: the app's python-dotenv file as the app container must see it.
 * The original is only read. What python-dotenv loads from it (duplicates resolved, `${…}` expanded,
 * keys without `=` unset) is rewritten for the container and emitted in three places:
 * - `env`: the canonical env file (`KEY=value`, LF, nothing any reader could read otherwise);
 * - `environment`: values the canonical form cannot carry (multi-line, edge blanks, `$`, quotes…),
 *   for the compose override's `environment:` (see override.ts);
 * - `secrets`: secret name → exact value, for `secrets/<name>.txt`; the env carries `KEY_FILE` (or a
 *   `__FERRY_SECRET_<NAME>__` placeholder where a URL held a password) and
 *   compose/app/entrypoint-secrets.sh puts the value back at start-up.
 * Rewrites happen on each statement's literal value first, so references are re-resolved against the
 * rewritten values, then once more on the resolved values (defaults, assembled URLs).
 */
import { FerryError } from '../core/errors.ts';
import { parseEnv } from './parse.ts';
import type { EnvDocument } from './parse.ts';
import { referencedNames, resolveEnv } from './expand.ts';
import { ambiguities } from './ambiguity.ts';
import { rewriteEndpoint } from './endpoints.ts';
import type { EndpointOptions } from './endpoints.ts';
import { mapHostPath, normalizeMappings } from './paths.ts';
import type { PathMapping } from './paths.ts';
import { secretClassifier } from './secret-shapes.ts';
import { isCanonicalKey, isCanonicalValue } from './canonical.ts';
import { envDiff } from './diff.ts';
import { placeSecrets } from './secrets.ts';
import {
  DEFAULT_BIND_KEYS, DEFAULT_SECRET_KEYS, DEFAULT_SECRET_NAMES, DEFAULT_SERVICE_RULES, HOST_GATEWAY, HOST_GATEWAY_EXTRA_HOST,
  SECRETS_MOUNT,
} from './rules.ts';
import type { RequiredKey, ServiceRule } from './rules.ts';
import { validateEnv } from './validate.ts';
import type { ContainerValue, EnvProblem } from './validate.ts';

export interface TransformOptions {
  /** File name for messages and the diff header. */
  readonly file?: string;
  /** Service rules; default `DEFAULT_SERVICE_RULES` (MySQL, Redis, PostgreSQL, Ollama). */
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
  /** The app's listen-address keys (anchored regex sources); default `DEFAULT_BIND_KEYS`. */
  readonly bindKeys?: readonly string[];
  /** Host directory → container directory, one per volume that carries the app's files. */
  readonly pathMappings?: readonly PathMapping[];
  /** python-dotenv's `os.environ` for names the file does not set (default: none). */
  readonly environ?: Readonly<Record<string, string>>;
  /** Secrets the app's other env files placed already (name → value): the same value keeps its name, another value gets a name of its own. */
  readonly secretsTaken?: Readonly<Record<string, string>>;
}

export type EnvChangeKind = 'host' | 'bind' | 'socket' | 'path' | 'reference' | 'secret' | 'url-password' | 'dropped' | 'duplicate' | 'environment' | 'ambiguous';

/** One thing the report lists, described without values. */
export interface EnvChange {
  readonly key: string;
  readonly line: number;
  readonly kind: EnvChangeKind;
  readonly what: string;
}

export interface TransformResult {
  /** The canonical container env file. */
  readonly env: string;
  /** Values for the override's `environment:` (not canonical; never secrets). */
  readonly environment: Readonly<Record<string, string>>;
  /** Secret name → exact value, for `secrets/<name>.txt`. */
  readonly secrets: Readonly<Record<string, string>>;
  /** Variable → secret name, for the variables that arrive through `KEY_FILE`. */
  readonly secretFiles: Readonly<Record<string, string>>;
  /** What the app process sees once the entrypoint ran. Holds secret values: never log it. */
  readonly containerEnv: Readonly<Record<string, string>>;
  /** `extra_hosts` entries the app service needs. */
  readonly extraHosts: readonly string[];
  readonly changes: readonly EnvChange[];
  readonly warnings: readonly string[];
  /** Redacted diff from what python-dotenv loads to what the container gets (secrets as •••). */
  readonly diff: string;
  /** Problems the container env has (empty when it is usable). */
  readonly problems: readonly EnvProblem[];
}

function linesOf(doc: EnvDocument): Map<string, number[]> {
  const lines = new Map<string, number[]>();
  for (const b of doc.bindings) if (b.key !== undefined) { const l = lines.get(b.key); if (l) l.push(b.line); else lines.set(b.key, [b.line]); }
  return lines;
}

type Step = { value: string | undefined; kind: EnvChangeKind; what: string; gateway: boolean };

/** Endpoint, then path, rewrite of one value; undefined when it keeps its meaning in the container. */
function rewrite(key: string, value: string, endpoints: EndpointOptions, mappings: readonly PathMapping[], secretKey: boolean): Step | undefined {
  const e = rewriteEndpoint(key, value, endpoints);
  if (e) return e;
  const p = mapHostPath(value, mappings);
  if (p && 'mapping' in p) return { value: p.value, kind: 'path', what: secretKey ? 'path mapped into a volume' : `path ${p.mapping.host} → ${p.mapping.container}`, gateway: false };
  return undefined;
}

/** Rewrite the app's python-dotenv file for the container. Throws `E_ENV_PARSE` (file:line:col) on an unparseable line. */
export function transformEnv(text: string, options: TransformOptions = {}): TransformResult {
  const file = options.file ?? '.env';
  const doc = parseEnv(text, { file });
  const rules = options.rules ?? DEFAULT_SERVICE_RULES;
  const endpoints: EndpointOptions = { rules, bindKeys: options.bindKeys ?? DEFAULT_BIND_KEYS };
  const mappings = normalizeMappings(options.pathMappings ?? []);
  const classify = secretClassifier([...(options.secretKeys ?? DEFAULT_SECRET_KEYS), ...(options.extraSecretKeys ?? [])]);
  const names = options.secretNames ?? DEFAULT_SECRET_NAMES;
  const environ = options.environ ?? {};
  const changes: EnvChange[] = [];
  const warnings: string[] = [];
  const lines = linesOf(doc);
  const lineOf = (key: string) => lines.get(key)?.at(-1) ?? 0;
  const note = (key: string, kind: EnvChangeKind, what: string) => changes.push({ key, line: lineOf(key), kind, what });

  const first = doc.bindings.find((b) => b.key !== undefined);
  if (doc.bom && first) changes.push({ key: first.key as string, line: first.line, kind: 'ambiguous', what: "a BOM starts the file: older python-dotenv releases read it into this key's name, compose v1 and newer ones drop it; dropped" });
  for (const b of doc.bindings) for (const a of ambiguities(b)) changes.push({ key: b.key as string, line: b.line, kind: 'ambiguous', what: `${a}; kept python-dotenv's reading` });
  for (const [key, l] of lines) if (l.length > 1) note(key, 'duplicate', `set on lines ${l.join(', ')}: python-dotenv keeps line ${l.at(-1)}, written once`);

  // Pass 1: each statement's literal value, so `${REDIS_HOST}` resolves to the moved host.
  const steps = new Map<string, Step[]>();
  const lastIndex = new Map(doc.bindings.map((b, i) => [b.key, i] as const));
  const literal: EnvDocument = {
    bom: doc.bom,
    bindings: doc.bindings.map((b, i) => {
      if (b.key === undefined || b.value === undefined || b.value.includes('${')) return b;
      const s = rewrite(b.key, b.value, endpoints, mappings, classify(b.key, b.value) !== undefined);
      if (!s || s.value === undefined) return b; // drops are decided on the resolved value
      if (lastIndex.get(b.key) === i) steps.set(b.key, [s]);
      return { ...b, value: s.value };
    }),
  };
  const before = resolveEnv(doc, { environ, override: true });
  const after = resolveEnv(literal, { environ, override: true });

  // Pass 2: the resolved values (defaults, URLs assembled from references).
  const values = new Map<string, string>();
  for (const [key, value] of after) {
    if (value === undefined) { note(key, 'dropped', 'no `=`: unset, left out of every emitted file'); continue; }
    const s = rewrite(key, value, endpoints, mappings, classify(key, value) !== undefined);
    if (s) steps.set(key, [...(steps.get(key) ?? []), s]);
    if (s && s.value === undefined) { note(key, 'dropped', s.what); continue; }
    values.set(key, s?.value ?? value);
  }
  for (const [key, value] of values) {
    const own = steps.get(key) ?? [];
    for (const s of own) note(key, s.kind, s.what);
    if (own.length === 0 && value !== before.get(key)) {
      const refs = referencedNames(doc.bindings[lastIndex.get(key) ?? 0]?.rawValue ?? '');
      note(key, 'reference', `re-resolved: follows the rewritten ${refs.map((r) => `\${${r}}`).join(', ') || 'references'}`);
    }
    for (const name of referencedNames(doc.bindings[lastIndex.get(key) ?? 0]?.value ?? '')) {
      if (!lines.has(name)) warnings.push(`${file}:${lineOf(key)}: ${key} refers to \${${name}}, which the file does not set: python-dotenv reads it from the process environment (${Object.hasOwn(environ, name) ? 'set' : 'empty'} here)`);
    }
    const p = mapHostPath(value, mappings);
    if (p && 'unmapped' in p) warnings.push(`${file}:${lineOf(key)}: ${key} is a host path no volume carries: it does not exist in the container (map it with app.pathMappings)`);
  }

  const { secrets, secretFiles, values: kept, containerEnv } = placeSecrets(values, {
    classify, names, rules, keepUrlPasswords: options.keepUrlPasswords ?? false, note, ...(options.secretsTaken ? { taken: options.secretsTaken } : {}),
    warn: (key, message) => warnings.push(`${file}:${lineOf(key)}: ${message}`),
  });

  // Emit: canonical lines, else the override's environment; every secret must be placeable.
  const envLines: string[] = [];
  const environment: Record<string, string> = {};
  for (const [key, value] of after) {
    if (value === undefined) continue;
    const name = secretFiles[key];
    if (name !== undefined) {
      if (!isCanonicalKey(key)) throw unplaceable(file, key, lineOf(key), 'its name is not a shell identifier, so the entrypoint cannot export it from a file');
      if (lines.has(`${key}_FILE`)) throw unplaceable(file, key, lineOf(key), `${key}_FILE is set in the file too`);
      envLines.push(`${key}_FILE=${SECRETS_MOUNT}/${name}`);
      continue;
    }
    const v = kept.get(key);
    if (v === undefined) continue;
    if (isCanonicalKey(key) && isCanonicalValue(v)) { envLines.push(`${key}=${v}`); continue; }
    if (!isCanonicalKey(key) && v.includes('__FERRY_SECRET_')) throw unplaceable(file, key, lineOf(key), 'its name is not a shell identifier, so the entrypoint cannot put the URL password back');
    environment[key] = v;
    note(key, 'environment', `${isCanonicalKey(key) ? 'value' : 'name'} has no canonical form (${whyNotCanonical(key, v)}) → compose environment: in the override`);
  }

  const finalEnv = new Map<string, ContainerValue>();
  for (const [key, value] of containerEnv) finalEnv.set(key, { value, line: lineOf(key) });
  const problems = validateEnv(finalEnv, { file, required: options.required, rules });
  const gateway = [...containerEnv.values()].some((v) => v.includes(HOST_GATEWAY));
  const extraHosts = gateway ? [HOST_GATEWAY_EXTRA_HOST] : [];
  const env = envLines.length ? `${envLines.join('\n')}\n` : '';
  const diff = envDiff({ file, before, after: { lines: envLines, environment, secretFiles }, secrets: Object.values(secrets) });
  changes.sort((a, b) => a.line - b.line);
  return { env, environment, secrets, secretFiles, containerEnv: Object.fromEntries(containerEnv), extraHosts, changes, warnings, diff, problems };
}

function whyNotCanonical(key: string, v: string): string {
  if (!isCanonicalKey(key)) return 'not a shell identifier';
  if (/[\r\n]/u.test(v)) return 'multi-line';
  if (/^\s|\s$/u.test(v)) return 'leading or trailing blank';
  if (v.includes('$')) return '`$`';
  if (/['"`\\]/u.test(v)) return 'quote, backtick or backslash';
  if (/#/u.test(v)) return '`#`';
  return 'control character';
}

function unplaceable(file: string, key: string, line: number, why: string): FerryError {
  return new FerryError('E_ENV_SECRET_PLACE', `${file}:${line}: the secret ${key} cannot be placed: ${why}`, {
    hint: `rename ${key} (or remove the clash) in ${file} and re-run; nothing was written`,
  });
}
