/**
 * What `compose/app/entrypoint-secrets.sh` does at start-up, as a function: the tests prove the
 * shell script and this agree, and that transform → rebuild gives back every original value.
 */
import { PLACEHOLDER, SECRETS_MOUNT } from './rules.ts';
import { percentEncode } from './url.ts';

/**
 * The environment the app sees: `NAME` exported from each `NAME_FILE` (when `NAME` is unset) and
 * every `__FERRY_SECRET_X__` placeholder replaced by the percent-encoded secret `x`.
 */
export function rebuildSecretUrls(env: Readonly<Record<string, string>>, readSecret: (name: string) => string | undefined): Record<string, string> {
  const out: Record<string, string> = { ...env };
  for (const [key, value] of Object.entries(env)) {
    const base = key.endsWith('_FILE') ? key.slice(0, -5) : undefined;
    const name = value.startsWith(`${SECRETS_MOUNT}/`) ? value.slice(SECRETS_MOUNT.length + 1) : undefined;
    if (base && name && !(base in env)) {
      const secret = readSecret(name);
      if (secret !== undefined) out[base] = secret;
    }
  }
  for (const [key, value] of Object.entries(out)) {
    out[key] = value.replace(PLACEHOLDER, (m, upper: string) => {
      const secret = readSecret(upper.toLowerCase());
      return secret === undefined ? m : percentEncode(secret);
    });
  }
  return out;
}
