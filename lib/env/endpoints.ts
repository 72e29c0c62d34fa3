/**
 * Endpoint rewrites of one value: what "this machine" meant on the host, said from inside the app
 * container. A MySQL/Redis/PostgreSQL host becomes its compose service, every other local host
 * becomes host.docker.internal (port kept), the app's own bind address becomes 0.0.0.0, and a unix
 * socket setting is dropped (a service's socket URL becomes the service's TCP URL).
 */
import { formatUrl, isLocalHost, joinQuery, parseUrl, splitQuery } from './url.ts';
import type { UrlParts } from './url.ts';
import { HOST_GATEWAY, matchesAny } from './rules.ts';
import type { ServiceRule } from './rules.ts';

/** What happened to a value; `value` undefined means the key is dropped. */
export interface EndpointRewrite {
  readonly value: string | undefined;
  readonly kind: 'host' | 'bind' | 'socket';
  readonly what: string;
  /** The value now needs host.docker.internal to resolve. */
  readonly gateway: boolean;
}

export interface EndpointOptions {
  readonly rules: readonly ServiceRule[];
  /** Anchored regex sources of the app's listen-address keys. */
  readonly bindKeys: readonly string[];
}

const LOCAL_HOSTPORT = /^(localhost|127(?:\.\d{1,3}){3}|::1|\[::1\]|0\.0\.0\.0|\[::\])(?::(\d+))?$/iu;
const SOCKET_SCHEMES = /^(unix|redis\+unix|redis\+socket)$/iu;
const HOST_KEY = /(HOST|HOSTNAME|SERVER|ADDR|ADDRESS)$/iu;

/** The service rule a key or URL belongs to (the URL's scheme first; with `sourcePort`s, the one whose host port the value names). */
export function ruleFor(key: string, value: string, rules: readonly ServiceRule[]): ServiceRule | undefined {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//u.exec(value)?.[1];
  const byScheme = scheme ? rules.filter((r) => matchesAny(scheme, r.schemes)) : [];
  const candidates = byScheme.length ? byScheme : rules.filter((r) => matchesAny(key, r.keys));
  const port = (scheme ? parseUrl(value)?.port : LOCAL_HOSTPORT.exec(value)?.[2]) ?? (/PORT$/iu.test(key) ? value : undefined);
  if (port === undefined || port === '') return candidates[0];
  // A port no rule's server listens on is another server: one no store moves, which stays on the host.
  return candidates.find((r) => String(r.sourcePort) === port) ?? candidates.find((r) => r.sourcePort === undefined);
}

const isGateway = (host: string) => host === HOST_GATEWAY;

/** A service's unix-socket URL as its TCP URL (`unix:///tmp/redis.sock?db=2` → `redis://redis:6379/2`). */
function fromSocket(u: UrlParts, rule: ServiceRule): UrlParts | undefined {
  const { path, params, fragment } = splitQuery(u.rest);
  if (SOCKET_SCHEMES.test(u.scheme)) {
    const db = params.find((p) => p.startsWith('db='))?.slice(3);
    const rest = joinQuery(db ? `/${db}` : '', params.filter((p) => !p.startsWith('db=')), fragment);
    return { ...u, scheme: 'redis', host: rule.host, port: String(rule.port), rest };
  }
  const socket = params.find((p) => /^unix_socket=/iu.test(p));
  if (!socket) return undefined;
  return { ...u, host: rule.host, port: String(rule.port), rest: joinQuery(path, params.filter((p) => p !== socket), fragment) };
}

function rewriteUrl(key: string, value: string, u: UrlParts, rules: readonly ServiceRule[]): EndpointRewrite | undefined {
  const rule = ruleFor(key, value, rules);
  if (rule) {
    const socket = fromSocket(u, rule);
    if (socket) return { value: formatUrl(socket), kind: 'socket', what: `unix socket → ${rule.host}:${rule.port}`, gateway: isGateway(rule.host) };
  }
  if (SOCKET_SCHEMES.test(u.scheme)) return { value: undefined, kind: 'socket', what: 'unix socket URL dropped: no socket in the container', gateway: false };
  if (!isLocalHost(u.host)) return undefined;
  const target = rule ? { host: rule.host, port: rule.keepPort ? u.port : String(rule.port) } : { host: HOST_GATEWAY, port: u.port };
  const moved = formatUrl({ ...u, ...target });
  return moved === value ? undefined : {
    value: moved, kind: 'host', gateway: isGateway(target.host),
    what: `host ${u.host}${u.port ? `:${u.port}` : ''} → ${target.host}${target.port ? `:${target.port}` : ''}${rule ? ` (${rule.name})` : ''}`,
  };
}

/** The rewrite of `key=value` for the container; undefined when the value keeps its meaning there. */
export function rewriteEndpoint(key: string, value: string, options: EndpointOptions): EndpointRewrite | undefined {
  const hostPort = LOCAL_HOSTPORT.exec(value);
  if (matchesAny(key, options.bindKeys)) {
    if (!hostPort || hostPort[1] === '0.0.0.0') return undefined;
    const bind = `0.0.0.0${hostPort[2] === undefined ? '' : `:${hostPort[2]}`}`;
    return { value: bind, kind: 'bind', what: `bind address ${value} → ${bind}`, gateway: false };
  }
  if (/^\/\S*\.sock(et)?$/u.test(value) || (/SOCKET|SOCK$|UNIX_PORT/iu.test(key) && value.startsWith('/'))) {
    return { value: undefined, kind: 'socket', what: 'unix socket path dropped: no socket in the container', gateway: false };
  }
  const u = parseUrl(value);
  if (u) return rewriteUrl(key, value, u, options.rules);
  const rule = ruleFor(key, value, options.rules);
  if (hostPort && HOST_KEY.test(key)) {
    const port = hostPort[2] === undefined ? '' : `:${rule && !rule.keepPort ? rule.port : hostPort[2]}`;
    const moved = `${rule?.host ?? HOST_GATEWAY}${port}`;
    return { value: moved, kind: 'host', what: `host ${value} → ${moved}${rule ? ` (${rule.name})` : ''}`, gateway: isGateway(rule?.host ?? HOST_GATEWAY) };
  }
  if (rule && !rule.keepPort && /PORT$/iu.test(key) && /^\d+$/u.test(value) && value !== String(rule.port)) {
    return { value: String(rule.port), kind: 'host', what: `port ${value} → ${rule.port} (${rule.name})`, gateway: false };
  }
  return undefined;
}
