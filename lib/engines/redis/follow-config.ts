/**
 * Generated configuration for a stack Redis that follows the host's Redis with REPLICAOF: whether it can
 * (a replica loads the source's RDB, so it must read that RDB version), the address it reaches the source
 * at (`host.docker.internal` through `host-gateway` on Linux), the least-privileged ACL user for the
 * replication link, and the compose override.
 */
import { composeFollowOverride as overrideFor, DOCKER_HOST_NAME, hostGatewayArgs, needsHostGateway, type SourceFromTarget } from '../follow-from.ts';

export { DOCKER_HOST_NAME, sourceFromTarget, type SourceFromTarget } from '../follow-from.ts';

export type FollowDecision =
  | { readonly follow: true; readonly reason: string }
  | { readonly follow: false; readonly reason: string; readonly hint: string };

/** Follow when the target reads what the source writes; otherwise the copy runs inside the freeze. */
export function decideFollow(source: { version: string; rdbVersion: number }, target: { version: string; rdbVersion: number }): FollowDecision {
  if (target.rdbVersion >= source.rdbVersion) {
    return { follow: true, reason: `Redis ${target.version} reads the RDB v${source.rdbVersion} that Redis ${source.version} sends at the first sync` };
  }
  return {
    follow: false,
    reason: `the stack's Redis ${target.version} reads RDB up to v${target.rdbVersion}, the source (Redis ${source.version}) writes v${source.rdbVersion}: the copy runs inside the freeze`,
    hint: `use a Redis image at least as new as the source (${source.version}) for the stack to follow it`,
  };
}

/** ACL users exist from Redis 6.0: older sources authenticate the link with their own password. */
export const supportsAcl = (version: string): boolean => Number.parseInt(version, 10) >= 6;

/** `ferry-repl-<8 hex>`, one per store. */
export function replicaUserName(hash8: string): string {
  if (!/^[0-9a-f]{8}$/.test(hash8)) throw new TypeError(`Expected 8 hex digits, got ${JSON.stringify(hash8)}`);
  return `ferry-repl-${hash8}`;
}

/**
 * `ACL SETUSER` arguments (sent as a command, never argv) for a user that may do exactly what a replica
 * does: AUTH, then PING, REPLCONF and PSYNC. `reset` first makes a re-run converge on the same rules.
 */
export function replicaAclArgs(user: string, password: string): string[] {
  return ['SETUSER', user, 'reset', 'on', `>${password}`, '-@all', '+psync', '+replconf', '+ping'];
}

/** The compose override that lets `service` reach the host (Linux needs the host-gateway mapping). */
export const composeFollowOverride = (service: string, from: SourceFromTarget): string => overrideFor(service, from, 'Redis');

/** What to change when the replication link does not come up. */
export function reachabilityHint(from: SourceFromTarget): string {
  const where = `${from.host}:${from.port}`;
  if (needsHostGateway(from)) {
    return `the stack reaches the host's Redis as ${where}: add extra_hosts "${DOCKER_HOST_NAME}:host-gateway" to the service (ferry's follow override does) `
      + 'and let Redis listen beyond loopback (`bind 0.0.0.0` or the bridge\'s address, keep requirepass, `protected-mode no` only with a password) with the firewall allowing the Docker bridge; '
      + 'or migrate without following (the copy runs inside the freeze)';
  }
  return `the stack must reach ${where}: check that the name resolves in the container, that Redis listens there, and that the ACL user ferry created may log in; or migrate without following`;
}

/**
 * `docker run` arguments for a throwaway container that tries the source from where the stack stands
 * (redis-cli PING without credentials: NOAUTH proves the server answered), with the host-gateway mapping
 * for host.docker.internal.
 */
export function probeArgs(i: { image: string; from: SourceFromTarget; network?: string }): string[] {
  return [
    'run', '--rm', '--pull', 'never',
    ...hostGatewayArgs(i.from),
    ...(i.network ? ['--network', i.network] : []),
    '--entrypoint', 'redis-cli', i.image, '-h', i.from.host, '-p', String(i.from.port), 'PING',
  ];
}

/** PONG, or an auth refusal, means a Redis server answered. */
export function probeAnswered(output: string): boolean {
  return /PONG|NOAUTH|WRONGPASS|DENIED/i.test(output);
}
