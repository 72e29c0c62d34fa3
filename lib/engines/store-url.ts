/** A store's URL, parsed once for every engine: errors show it with the password masked. */
import { FerryError } from '../core/errors.ts';
import type { SecretSink } from '../core/engine.ts';
import { redactUrlPasswords } from '../util/redact.ts';

/** Parse a store URL; the error shows it with its password masked and says the expected form. */
export function parseUrl(raw: string, field: string, schemes: readonly string[], redactor?: SecretSink): URL {
  let url: URL | undefined;
  try { url = new URL(raw); } catch { /* reported below */ }
  if (url?.password) redactor?.add(decodeURIComponent(url.password), url.password);
  if (!url || !schemes.includes(url.protocol)) {
    const shown = redactor ? redactor.redact(raw) : redactUrlPasswords(raw);
    throw new FerryError('E_CONFIG', `${field} is not a ${schemes.map((s) => `${s}//`).join(' or ')} URL: ${JSON.stringify(shown)}`, {
      hint: `expected ${schemes[0]}//user:password@host:port/…; percent-encode special characters in the password`,
    });
  }
  return url;
}

/** The URL's host as a client library takes it: IPv6 without its brackets, 127.0.0.1 when empty. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
}
