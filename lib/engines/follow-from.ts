/**
 * How a stack service that follows a host's server reaches it, shared by the engines that follow
 * (MySQL, Redis): the source as the container sees it (on Docker Desktop `host.docker.internal` just
 * works; on Linux it needs `extra_hosts: host.docker.internal:host-gateway`), the compose override that
 * adds that mapping, and the same mapping for a throwaway probe container.
 */

/** host:port of the source as a process inside the target container sees it. */
export interface SourceFromTarget {
  readonly host: string;
  readonly port: number;
}

/** Docker's name for the host, resolvable in a container given `host-gateway` (Linux) or by default (Desktop). */
export const DOCKER_HOST_NAME = 'host.docker.internal';

const LOOPBACK = /^(localhost|127(\.\d+){3}|::1|\[::1\])$/i;

/**
 * The source as seen from the target: an explicit `override` (a name on a shared network in tests, a
 * LAN name in real life), else `host.docker.internal` for a source on the host's loopback, else the
 * source's own host name.
 */
export function sourceFromTarget(source: { host: string; port: number }, override?: Partial<SourceFromTarget>): SourceFromTarget {
  const host = override?.host ?? (LOOPBACK.test(source.host) ? DOCKER_HOST_NAME : source.host);
  return { host, port: override?.port ?? source.port };
}

/** True when the target can only reach the source through Docker's host gateway. */
export const needsHostGateway = (from: SourceFromTarget): boolean => from.host === DOCKER_HOST_NAME;

/** The compose override that lets `service` reach the host (Linux needs the host-gateway mapping); `what` names the followed server. */
export function composeFollowOverride(service: string, from: SourceFromTarget, what: string): string {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(service)) throw new TypeError(`Expected a compose service name, got ${JSON.stringify(service)}`);
  const extra = needsHostGateway(from) ? `    extra_hosts: ["${DOCKER_HOST_NAME}:host-gateway"]` : '    {}';
  return [`# written by ferry: the stack follows the host's ${what} until the cutover`, 'services:', `  ${service}:`, extra].join('\n') + '\n';
}

/** `docker run` arguments giving a probe container the same host-gateway mapping the follow override gives the service. */
export const hostGatewayArgs = (from: SourceFromTarget): string[] => (needsHostGateway(from) ? ['--add-host', `${DOCKER_HOST_NAME}:host-gateway`] : []);
