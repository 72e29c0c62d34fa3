/**
 * Rewrites of plain (non-URL) values of a service's variables: `*_HOST` (`localhost[:port]`),
 * `*_PORT`, and unix socket paths (commented out: the socket does not exist in the container).
 */
import { commentOut, withValue } from './encode.ts';
import type { EnvBinding } from './parse.ts';
import type { ServiceRule } from './rules.ts';

const LOCAL_HOSTPORT = /^(localhost|127(?:\.\d{1,3}){3}|::1|\[::1\]|0\.0\.0\.0)(?::(\d+))?$/iu;

/** Rewrites of plain (non-URL) values: `*_HOST`, `*_PORT`, unix socket paths. */
export function rewritePlain(b: EnvBinding, rule: ServiceRule): { binding: EnvBinding; what: string } | undefined {
  const key = b.key as string;
  const value = b.value ?? '';
  if (/^\/\S*\.sock(et)?$/u.test(value) || (/SOCKET|UNIX_PORT/iu.test(key) && value.startsWith('/'))) {
    return { binding: commentOut(b, `ferry: unix socket unreachable from the container, use ${rule.host}:${rule.port}`), what: 'unix socket path commented out' };
  }
  const hp = LOCAL_HOSTPORT.exec(value);
  if (hp && /(HOST|HOSTNAME|SERVER|ADDR|ADDRESS)$/iu.test(key)) {
    const port = hp[2] === undefined ? '' : `:${rule.keepPort ? hp[2] : rule.port}`;
    return { binding: withValue(b, `${rule.host}${port}`), what: `host ${value} → ${rule.host}${port}` };
  }
  if (/PORT$/iu.test(key) && /^\d+$/u.test(value) && !rule.keepPort && value !== String(rule.port)) {
    return { binding: withValue(b, String(rule.port)), what: `port ${value} → ${rule.port}` };
  }
  return undefined;
}
