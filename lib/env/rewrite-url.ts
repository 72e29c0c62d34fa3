/**
 * One URL value rewritten for the stack: a local host (or a unix socket) becomes the service's host
 * and port, and a literal password becomes a secret placeholder. Everything else is kept as written.
 */
import { formatUrl, isLocalHost, joinQuery, parseUrl, percentDecode, percentEncode, splitQuery } from './url.ts';
import type { UrlParts } from './url.ts';
import { secretName, secretPlaceholder } from './rules.ts';
import type { ServiceRule } from './rules.ts';

export interface RewriteContext {
  readonly key: string;
  readonly line: number;
  readonly file: string;
  readonly rule: ServiceRule | undefined;
  readonly keepUrlPasswords: boolean;
  /** Secret value → secret name already chosen (shared secrets). */
  readonly byValue: Map<string, string>;
  readonly secrets: Record<string, string>;
  readonly warnings: string[];
  readonly isSecretKey: (key: string) => boolean;
  /** The secret name a secret variable's value went to. */
  readonly secretNameOf: (key: string) => string;
}

const SOCKET_SCHEMES = /^(unix|redis\+unix|redis\+socket)$/iu;

/** A unix-socket URL as the equivalent TCP URL of the service (`unix:///tmp/redis.sock?db=2` → `redis://redis:6379/2`). */
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

const REF_WITH_DEFAULT = /^\$\{([^}:]*):-([^}]*)\}$/u;

/** `${REDIS_HOST:-localhost}` → `${REDIS_HOST:-redis}`, `${DB_PORT:-3307}` → `${DB_PORT:-3306}`; plain references are left to their variable. */
function moveReferences(u: UrlParts, rule: ServiceRule, what: string[]): UrlParts {
  const host = REF_WITH_DEFAULT.exec(u.host);
  const port = u.port === undefined ? null : REF_WITH_DEFAULT.exec(u.port);
  const newHost = host && isLocalHost(host[2] ?? '') ? `\${${host[1]}:-${rule.host}}` : u.host;
  const newPort = port && !rule.keepPort && port[2] !== String(rule.port) ? `\${${port[1]}:-${rule.port}}` : u.port;
  if (newHost !== u.host || newPort !== u.port) what.push(`default host/port → ${rule.host}${rule.keepPort ? '' : `:${rule.port}`}`);
  return { ...u, host: newHost, port: newPort };
}

function moveHost(u: UrlParts, ctx: RewriteContext, what: string[]): UrlParts {
  const rule = ctx.rule;
  if (!rule) return u;
  if (u.host.includes('${') || u.port?.includes('${')) return moveReferences(u, rule, what);
  const socket = fromSocket(u, rule);
  if (socket) { what.push(`unix socket → ${rule.host}:${rule.port}`); return socket; }
  if (isLocalHost(u.host)) {
    const port = rule.keepPort ? u.port : String(rule.port);
    what.push(`host ${u.host}${u.port ? `:${u.port}` : ''} → ${rule.host}${port ? `:${port}` : ''}`);
    return { ...u, host: rule.host, port };
  }
  if (u.host.toLowerCase() !== rule.host.toLowerCase()) {
    ctx.warnings.push(`${ctx.file}:${ctx.line}: ${ctx.key} points at ${u.host}, not this machine: left unchanged (reachable from the container?)`);
  }
  return u;
}

function movePassword(u: UrlParts, ctx: RewriteContext, what: string[]): UrlParts {
  const pw = u.password;
  if (ctx.keepUrlPasswords || !pw || /^__FERRY_SECRET_[A-Z0-9_]+__$/u.test(pw)) return u;
  const ref = /^\$\{([^}:]+)\}$/u.exec(pw)?.[1];
  if (ref !== undefined && ctx.isSecretKey(ref)) {
    // Compose interpolates env_file values before the entrypoint runs: a placeholder survives, `${DB_PASSWORD}` would not.
    what.push(`password reference → secret ${ctx.secretNameOf(ref)}`);
    return { ...u, password: secretPlaceholder(ctx.secretNameOf(ref)) };
  }
  if (pw.includes('${')) return u;
  const decoded = percentDecode(pw);
  const preferred = ctx.rule?.passwordSecret;
  const name = ctx.byValue.get(decoded) ?? (preferred && ctx.secrets[preferred] === undefined ? preferred : secretName(`${ctx.key}_PASSWORD`));
  if (!ctx.byValue.has(decoded)) ctx.byValue.set(decoded, name);
  ctx.secrets[name] = decoded;
  if (percentEncode(decoded) !== pw) {
    ctx.warnings.push(`${ctx.file}:${ctx.line}: ${ctx.key}'s password will be percent-encoded canonically at start-up (same password, different spelling)`);
  }
  what.push(`password → secret ${name}`);
  return { ...u, password: secretPlaceholder(name) };
}

/** The rewritten URL and what changed; undefined when `value` is not a URL. */
export function rewriteUrl(value: string, ctx: RewriteContext): { value: string; what: string[] } | undefined {
  const parsed = parseUrl(value);
  if (!parsed) return undefined;
  const what: string[] = [];
  const moved = movePassword(moveHost(parsed, ctx, what), ctx, what);
  return { value: what.length ? formatUrl(moved) : value, what };
}
