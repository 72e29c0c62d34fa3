/**
 * One read of a compose project's containers: a `docker ps` for their ids and one `docker inspect` of
 * them all (service, state, published ports, the migration label), instead of a `ps` and an `inspect`
 * per service and per question; both asked of the engine's socket where it can be (util/docker-api.ts).
 * Inside the write freeze every docker CLI call is downtime (≈ 0.1–0.2 s each here): compose-cutover's
 * checks asked 11 of them twice over.
 */
import { exec as runCommand } from '../util/exec.ts';
import { apiInspectAll } from '../util/docker-api.ts';
import { composeContainers } from './containers.ts';
import { healthOfStates, type ContainerState, type ServiceHealth } from './health.ts';
import { MIGRATION_LABEL } from './migration-access.ts';
import type { ContainerAccess } from './stack.ts';

export interface ContainerFacts {
  readonly service: string;
  readonly state: ContainerState;
  /** `ip:port` bindings published on the host. */
  readonly published: readonly string[];
  /** Created with the migration override. */
  readonly migrationAccess: boolean;
}

const FORMAT = `{"labels":{{json .Config.Labels}},"state":{{json .State}},"ports":{{json .HostConfig.PortBindings}}}`;

/** The project's containers (running or not, no one-off `run` containers), as one snapshot. */
export async function projectSnapshot(project: string): Promise<ProjectSnapshot> {
  const ids = await composeContainers({ project, all: true, noOneOff: true });
  if (!ids.length) return new ProjectSnapshot([]);
  const api = await apiInspectAll(ids);
  if (api) {
    // A container removed since the listing (null) is left out, as below.
    return new ProjectSnapshot(api.filter((x) => x !== null).map((x) => {
      const j = x as { Config?: { Labels?: Record<string, string> | null }; State: ContainerState; HostConfig?: { PortBindings?: Bindings } };
      return facts({ labels: j.Config?.Labels ?? null, state: j.State, ports: j.HostConfig?.PortBindings ?? null });
    }));
  }
  const r = await runCommand('docker', ['inspect', '--format', FORMAT, ...ids]);
  // A container removed between the two calls fails the inspect: read the survivors one by one.
  const lines = r.exitCode === 0 ? r.stdout.trim().split('\n')
    : (await Promise.all(ids.map(async (id) => { const x = await runCommand('docker', ['inspect', '--format', FORMAT, id]); return x.exitCode === 0 ? x.stdout.trim() : ''; }))).filter(Boolean);
  return new ProjectSnapshot(lines.map((l) => facts(JSON.parse(l) as Inspected)));
}

type Bindings = Record<string, Array<{ HostIp: string; HostPort: string }> | null> | null;
/** What FORMAT prints of a container (the API's inspection holds the same three objects). */
interface Inspected { readonly labels: Record<string, string> | null; readonly state: ContainerState; readonly ports: Bindings }

function facts(j: Inspected): ContainerFacts {
  const published = Object.values(j.ports ?? {}).flatMap((b) => (b ?? []).map((x) => `${x.HostIp || '0.0.0.0'}:${x.HostPort}`));
  return { service: j.labels?.['com.docker.compose.service'] ?? '', state: j.state, published, migrationAccess: j.labels?.[MIGRATION_LABEL] === '1' };
}

export class ProjectSnapshot {
  readonly containers: readonly ContainerFacts[];
  constructor(containers: readonly ContainerFacts[]) { this.containers = containers; }
  of(service: string): ContainerFacts[] { return this.containers.filter((c) => c.service === service); }
  /** As serviceHealth reads it. */
  health(service: string): ServiceHealth { return healthOfStates(this.of(service).map((c) => c.state)); }
  /** What containerAccess reports: one entry per container of each service. */
  access(services: readonly string[]): ContainerAccess[] {
    return services.flatMap((s) => this.of(s).map((c) => ({ service: s, published: c.published, migrationAccess: c.migrationAccess })));
  }
}

/** waitHealthy's `probeAll`: one snapshot per round. */
export const snapshotProbe = (project: string) => async (services: readonly string[]): Promise<ReadonlyMap<string, ServiceHealth>> => {
  const snap = await projectSnapshot(project);
  return new Map(services.map((s) => [s, snap.health(s)]));
};
