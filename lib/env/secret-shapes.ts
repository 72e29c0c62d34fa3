/**
 * Which values are secrets: by name (the configured globs), by shape (a PEM block anywhere), and a
 * high-entropy token under a secret-sounding name (`WEBHOOK_SIGNING=9f8Q…` though no glob lists it).
 */
import { SECRET_SOUNDING, globRegExp } from './rules.ts';

const PEM = /-----BEGIN [A-Z0-9 ]+-----/u;

/** Bits per character of `value` (Shannon entropy of its characters). */
export function entropy(value: string): number {
  const counts = new Map<string, number>();
  for (const c of value) counts.set(c, (counts.get(c) ?? 0) + 1);
  const n = [...value].length;
  let bits = 0;
  for (const k of counts.values()) bits -= (k / n) * Math.log2(k / n);
  return bits;
}

/** A token that looks generated: ≥ 16 non-blank characters, letters and digits mixed, ≥ 3.5 bits each. */
export function isHighEntropyToken(value: string): boolean {
  return value.length >= 16 && /^\S+$/u.test(value) && /[A-Za-z]/u.test(value) && /\d/u.test(value) && entropy(value) >= 3.5;
}

export type SecretReason = 'name' | 'pem' | 'entropy';

/** A predicate naming why `key=value` is a secret (undefined when it is not); `*_FILE` never is one. */
export function secretClassifier(globs: readonly string[]): (key: string, value: string) => SecretReason | undefined {
  const re = globRegExp(globs);
  return (key, value) => {
    if (value === '' || /_FILE$/iu.test(key)) return undefined;
    if (re.test(key)) return 'name';
    if (PEM.test(value)) return 'pem';
    if (SECRET_SOUNDING.test(key) && isHighEntropyToken(value)) return 'entropy';
    return undefined;
  };
}
