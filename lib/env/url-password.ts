/**
 * A password inside a URL leaves the env: the URL keeps a `__FERRY_SECRET_<NAME>__` placeholder and
 * the secret file holds the decoded password, which the entrypoint puts back percent-encoded.
 */
import { formatUrl, parseUrl, percentDecode, percentEncode } from './url.ts';
import { secretName, secretPlaceholder } from './rules.ts';
import type { ServiceRule } from './rules.ts';
import { ruleFor } from './endpoints.ts';

export interface UrlPasswordContext {
  readonly rules: readonly ServiceRule[];
  /** Secret value → the secret name it already has (one file per distinct password). */
  readonly byValue: ReadonlyMap<string, string>;
  /** Register `value` under `preferred` (or a numbered variant when that name holds another value); returns the name. */
  readonly claim: (preferred: string, value: string) => string;
  /** True when a secret of that name already holds a value. */
  readonly taken: (name: string) => boolean;
}

export interface MovedUrlPassword {
  /** The URL with the placeholder. */
  readonly value: string;
  /** The URL the app sees after the entrypoint ran. */
  readonly containerValue: string;
  readonly name: string;
  /** True when the entrypoint's canonical percent-encoding spells the password differently. */
  readonly respelled: boolean;
}

export function moveUrlPassword(key: string, value: string, ctx: UrlPasswordContext): MovedUrlPassword | undefined {
  const u = parseUrl(value);
  if (!u?.password || /^__FERRY_SECRET_[A-Z0-9_]+__$/u.test(u.password)) return undefined;
  const decoded = percentDecode(u.password);
  // The service's own secret (mysql_password) unless another password has it; then one named after the variable.
  const service = ruleFor(key, value, ctx.rules)?.passwordSecret;
  const preferred = service !== undefined && !ctx.taken(service) ? service : secretName(`${key}_PASSWORD`);
  const name = ctx.byValue.get(decoded) ?? ctx.claim(preferred, decoded);
  const encoded = percentEncode(decoded);
  return {
    value: formatUrl({ ...u, password: secretPlaceholder(name) }),
    containerValue: formatUrl({ ...u, password: encoded }),
    name,
    respelled: encoded !== u.password,
  };
}
