/**
 * URLs taken apart without normalising anything: user and password stay percent-encoded exactly as
 * written, so `format(parse(u)) === u` and only the parts a rule changes are touched. Authority is
 * split the way Python's urllib does (first `/?#` ends it, the last `@` ends the user info).
 */
export interface UrlParts {
  readonly scheme: string;
  /** Raw (still percent-encoded) user; undefined when there is no `@`. */
  readonly user: string | undefined;
  /** Raw (still percent-encoded) password; undefined when the user info has no `:`. */
  readonly password: string | undefined;
  /** Host as written (IPv6 keeps its brackets); "" for `unix:///path` forms. */
  readonly host: string;
  readonly port: string | undefined;
  /** Path, query and fragment as written. */
  readonly rest: string;
}

const URL_SHAPE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/su;

export function parseUrl(text: string): UrlParts | undefined {
  const m = URL_SHAPE.exec(text);
  if (!m) return undefined;
  const [, scheme = '', authority = '', rest = ''] = m;
  const at = authority.lastIndexOf('@');
  const userinfo = at < 0 ? undefined : authority.slice(0, at);
  const hostport = authority.slice(at + 1);
  const colon = userinfo?.indexOf(':') ?? -1;
  const user = userinfo === undefined ? undefined : colon < 0 ? userinfo : userinfo.slice(0, colon);
  const password = userinfo === undefined || colon < 0 ? undefined : userinfo.slice(colon + 1);
  const hp = /^(\[[^\]]*\]|\$\{[^}]*\}|[^:]*)(?::(\d*|\$\{[^}]*\}))?$/u.exec(hostport);
  if (!hp) return undefined;
  return { scheme, user, password, host: hp[1] ?? '', port: hp[2], rest };
}

export function formatUrl(u: UrlParts): string {
  const userinfo = u.user === undefined ? '' : `${u.user}${u.password === undefined ? '' : `:${u.password}`}@`;
  return `${u.scheme}://${userinfo}${u.host}${u.port === undefined ? '' : `:${u.port}`}${u.rest}`;
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]', '0.0.0.0', 'localhost.localdomain', '[::]', '::']);

/** True for the loopback and wildcard forms a host-installed service is reached by. */
export function isLocalHost(host: string): boolean {
  return LOCAL_HOSTS.has(host.toLowerCase()) || /^127(\.\d{1,3}){3}$/u.test(host);
}

/** `%XX` decoding that leaves malformed sequences as written (never throws). */
export function percentDecode(text: string): string {
  try { return decodeURIComponent(text); } catch { return text; }
}

/** The canonical encoding the entrypoint uses: everything but RFC 3986 unreserved characters. */
export function percentEncode(text: string): string {
  return [...new TextEncoder().encode(text)]
    .map((b) => (/[A-Za-z0-9._~-]/u.test(String.fromCharCode(b)) && b < 0x80 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`))
    .join('');
}

/** Query parameters as raw `name=value` pieces (order and encoding kept). */
export function splitQuery(rest: string): { path: string; params: string[]; fragment: string } {
  const hash = rest.indexOf('#');
  const fragment = hash < 0 ? '' : rest.slice(hash);
  const beforeHash = hash < 0 ? rest : rest.slice(0, hash);
  const q = beforeHash.indexOf('?');
  if (q < 0) return { path: beforeHash, params: [], fragment };
  return { path: beforeHash.slice(0, q), params: beforeHash.slice(q + 1).split('&').filter((p) => p !== ''), fragment };
}

export function joinQuery(path: string, params: readonly string[], fragment: string): string {
  return `${path}${params.length ? `?${params.join('&')}` : ''}${fragment}`;
}
