/**
 * Generated configuration for following a MySQL source from the stack: how the target container
 * reaches the source (on Docker Desktop `host.docker.internal` just works; on Linux it needs
 * `extra_hosts: host.docker.internal:host-gateway` and a source listening on the bridge, not only on
 * 127.0.0.1), the compose override that says so, and the target's own `server-id`.
 */
import { composeFollowOverride as overrideFor, DOCKER_HOST_NAME, hostGatewayArgs, needsHostGateway, type SourceFromTarget } from '../follow-from.ts';

export { DOCKER_HOST_NAME, needsHostGateway, sourceFromTarget, type SourceFromTarget } from '../follow-from.ts';

/**
 * The `[mysqld]` snippet for the target's conf.d, so a restart while following keeps an id distinct from
 * the source's and the filter to the migrated databases (`_` left unescaped: it matches itself too).
 */
export function followConf(serverId: number, databases: readonly string[]): string {
  if (!Number.isSafeInteger(serverId) || serverId < 1 || serverId > 4294967295) throw new TypeError(`Expected a server id in 1..4294967295, got \`${serverId}\``);
  const filters = databases.map((db) => {
    if (!/^[A-Za-z0-9_$-]+$/.test(db)) throw new TypeError(`Expected a plain database name, got ${JSON.stringify(db)}`);
    return `replicate-wild-do-table = ${db}.%\n`;
  });
  return `# written by ferry: this server follows the host's MySQL during the migration\n[mysqld]\nserver-id = ${serverId}\n${filters.join('')}`;
}

/**
 * A server id for the target that differs from the source's (the source's + 1, wrapping). A second
 * follower of the same source (a rehearsal's throwaway stack, `name` its follow name) gets an id derived
 * from that name in 1000..4294967294, never the source's nor the first follower's: a source disconnects
 * the older of two replicas sharing a server_id, which would cut a real run's follower.
 */
export function targetServerId(sourceId: number, name?: string): number {
  const first = sourceId >= 4294967295 ? 2 : Math.max(2, sourceId + 1);
  if (name === undefined) return first;
  let h = 0x811c9dc5;
  for (const b of Buffer.from(name)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  const span = 4294967294 - 1000;
  for (let i = 0; ; i++) {
    const id = 1000 + ((h + i) % span);
    if (id !== sourceId && id !== first) return id;
  }
}

/** The compose override that lets `service` reach the host (Linux needs the host-gateway mapping). */
export const composeFollowOverride = (service: string, from: SourceFromTarget): string => overrideFor(service, from, 'database');

/** What to change when the target cannot reach the source (said once, in the error's hint). */
export function reachabilityHint(from: SourceFromTarget, sourceOnHost: { host: string; port: number }): string {
  if (needsHostGateway(from)) {
    return `the stack reaches the host's MySQL as ${from.host}:${from.port}: add extra_hosts "${DOCKER_HOST_NAME}:host-gateway" to the service (ferry's follow override does), `
      + `and make the server listen beyond ${sourceOnHost.host} (bind-address = 0.0.0.0 in my.cnf, then restart it) with the firewall allowing the Docker bridge; `
      + 'or migrate without following (the copy runs inside the freeze)';
  }
  return `the stack must reach ${from.host}:${from.port}: check that the name resolves inside the container, that the server listens there and the replication account may connect from the stack; or migrate without following`;
}

export interface ProbeInput {
  /** The stack's MySQL image (it carries mysqladmin). */
  readonly image: string;
  readonly from: SourceFromTarget;
  /** The compose project's network the data service is on (the probe sees what the service sees). */
  readonly network?: string;
}

/**
 * `docker run` arguments for a throwaway container that tries the source from where the stack stands:
 * mysqladmin ping without credentials (an "Access denied" proves the server answered). With
 * host.docker.internal the host-gateway mapping is added, as the follow override adds it to the service.
 */
export function probeArgs(i: ProbeInput): string[] {
  return [
    'run', '--rm', '--pull', 'never',
    ...hostGatewayArgs(i.from),
    ...(i.network ? ['--network', i.network] : []),
    '--entrypoint', 'mysqladmin', i.image,
    'ping', '--protocol=tcp', '-h', i.from.host, '-P', String(i.from.port), '-u', 'ferry-probe', '--connect-timeout=5',
  ];
}

/** Whether the probe's output shows a MySQL server answering (alive, or refusing the unknown user). */
export function probeAnswered(output: string): boolean {
  return /is alive|Access denied|not allowed to connect|Host '.*' is blocked/i.test(output);
}
