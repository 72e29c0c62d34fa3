/**
 * Every secret leaves the container env: whole values by name or shape (→ `KEY_FILE`), passwords
 * inside URLs (→ a `__FERRY_SECRET_<NAME>__` placeholder), then any value that still contains a
 * secret (→ `KEY_FILE` too). One secret file per distinct value; names from the stack first.
 */
import { moveUrlPassword } from './url-password.ts';
import { SECRETS_MOUNT, secretName, secretPlaceholder } from './rules.ts';
import type { ServiceRule } from './rules.ts';
import type { SecretReason } from './secret-shapes.ts';

export interface PlaceOptions {
  readonly classify: (key: string, value: string) => SecretReason | undefined;
  /** Variable → the stack's secret name (`DB_PASSWORD` → `mysql_password`). */
  readonly names: Readonly<Record<string, string>>;
  readonly rules: readonly ServiceRule[];
  readonly keepUrlPasswords: boolean;
  /** Report a change of `key` (no values). */
  readonly note: (key: string, kind: 'secret' | 'url-password', what: string) => void;
  readonly warn: (key: string, message: string) => void;
  /** Secrets the app's other env files placed already (name → value): one value keeps one name across files. */
  readonly taken?: Readonly<Record<string, string>>;
}

export interface Placement {
  /** Secret name → exact value. */
  readonly secrets: Record<string, string>;
  /** Variable → secret name, for variables that leave whole. */
  readonly secretFiles: Record<string, string>;
  /** What stays in the env: the values with placeholders, without the variables that left whole. */
  readonly values: Map<string, string>;
  /** What the app sees once the entrypoint ran (URL passwords back, percent-encoded). */
  readonly containerEnv: Map<string, string>;
}

const WHY: Record<SecretReason, string> = { name: 'secret by name', pem: 'PEM block', entropy: 'high-entropy token under a secret-sounding name' };

/** Move every secret of `resolved` (the container's values, in order) out of the env. */
export function placeSecrets(resolved: ReadonlyMap<string, string>, o: PlaceOptions): Placement {
  const secrets: Record<string, string> = { ...o.taken };
  const secretFiles: Record<string, string> = {};
  const byValue = new Map<string, string>(Object.entries(o.taken ?? {}).map(([n, v]) => [v, n]));
  const values = new Map(resolved);
  const containerEnv = new Map(resolved);
  const claim = (preferred: string, value: string): string => {
    let name = preferred;
    for (let n = 2; secrets[name] !== undefined && secrets[name] !== value; n++) name = `${preferred}_${n}`;
    secrets[name] = value;
    if (!byValue.has(value)) byValue.set(value, name);
    return name;
  };
  const moveWhole = (key: string, value: string, why: string) => {
    const preferred = o.names[key] ?? secretName(key);
    const shared = byValue.get(value);
    const name = claim(shared ?? preferred, value);
    if (shared === undefined && name !== preferred) o.warn(key, `${key} differs from the value in secret ${preferred}: it gets its own secret ${name}`);
    secretFiles[key] = name;
    values.delete(key);
    o.note(key, 'secret', `${why} → secret ${name} (${key}_FILE=${SECRETS_MOUNT}/${name})`);
  };
  for (const [key, value] of values) {
    const reason = o.classify(key, value);
    if (reason) moveWhole(key, value, WHY[reason]);
  }
  if (!o.keepUrlPasswords) {
    for (const [key, value] of values) {
      const moved = moveUrlPassword(key, value, { rules: o.rules, byValue, claim, taken: (n) => secrets[n] !== undefined });
      if (!moved) continue;
      values.set(key, moved.value);
      containerEnv.set(key, moved.containerValue);
      o.note(key, 'url-password', `password → secret ${moved.name} (placeholder, put back percent-encoded at start-up)`);
      if (moved.respelled) o.warn(key, `${key}'s password is percent-encoded canonically at start-up (same password, different spelling)`);
    }
  }
  // Short values (`abc`) are too common to hunt for inside other values.
  const known = Object.values(secrets).flatMap((s) => (s.length >= 6 ? [s, encodeURIComponent(s)] : []));
  for (const [key, value] of values) if (known.some((s) => value.includes(s))) moveWhole(key, value, 'contains a secret value');
  if (!o.taken) return { secrets, secretFiles, values, containerEnv };
  // Only the secrets this file's variables use (the others' stay theirs).
  const used = new Set(Object.values(secretFiles));
  for (const name of Object.keys(secrets)) if ([...values.values()].some((v) => v.includes(secretPlaceholder(name)))) used.add(name);
  return { secrets: Object.fromEntries(Object.entries(secrets).filter(([n]) => used.has(n))), secretFiles, values, containerEnv };
}
