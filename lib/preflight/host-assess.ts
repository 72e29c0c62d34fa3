/** Judging the machine (pure): engine and compose present, the design's VM size, disk, ports. */
import { finding, type Finding } from './finding.ts';
import type { HostFacts } from './host-facts.ts';

export const MIN_CPUS = 2;
export const MIN_MEMORY_BYTES = 4 * 1024 ** 3;
/** Artifacts are written once and the target's volumes fill the same disk: 2× plus 1 GiB. */
export const DISK_FACTOR = 2;
export const DISK_MARGIN_BYTES = 1024 ** 3;

const gib = (n: number) => `${(n / 1024 ** 3).toFixed(1)} GiB`;

export function requiredDiskBytes(estimatedArtifactBytes: number): number {
  return Math.ceil(estimatedArtifactBytes * DISK_FACTOR + DISK_MARGIN_BYTES);
}

export function assessHost(h: HostFacts, opts: { estimatedArtifactBytes: number; stateDir: string; ownPorts?: readonly number[] }): Finding[] {
  const out: Finding[] = [];
  if (!h.dockerVersion) out.push(finding('blocker', 'docker-engine', 'docker', 'no Docker engine answers', 'start Docker Desktop / colima / the docker service, then re-run'));
  else out.push(finding('info', 'docker-engine', 'docker', `engine ${h.dockerVersion}`, 'nothing to do'));
  if (!h.composeVersion) out.push(finding('blocker', 'docker-compose', 'docker', 'neither `docker compose` (v2) nor `docker-compose` (v1) answers', 'install the compose plugin (Docker Desktop ships it)'));
  else out.push(finding('info', 'docker-compose', 'docker', `${h.composeCommand} ${h.composeVersion}`, 'nothing to do'));
  if (h.dockerVersion && h.cpus < MIN_CPUS) out.push(finding('blocker', 'docker-cpus', 'docker', `the engine has ${h.cpus} CPU(s); the stack needs ≥ ${MIN_CPUS}`, 'give the Docker VM more CPUs (Docker Desktop → Settings → Resources)'));
  if (h.dockerVersion && h.memoryBytes < MIN_MEMORY_BYTES) out.push(finding('blocker', 'docker-memory', 'docker', `the engine has ${gib(h.memoryBytes)} of memory; the stack needs ≥ ${gib(MIN_MEMORY_BYTES)}`, 'give the Docker VM more memory (Docker Desktop → Settings → Resources)'));
  const need = requiredDiskBytes(opts.estimatedArtifactBytes);
  out.push(finding(h.freeDiskBytes < need ? 'blocker' : 'info', 'disk-space', opts.stateDir,
    `${gib(h.freeDiskBytes)} free; the artifacts need about ${gib(opts.estimatedArtifactBytes)}, ${gib(need)} with margin`,
    h.freeDiskBytes < need ? 'free disk space or point stateDir at a bigger disk' : 'nothing to do'));
  for (const [port, free] of Object.entries(h.ports)) {
    if (free || opts.ownPorts?.includes(Number(port))) continue;
    out.push(finding('blocker', 'target-port', `127.0.0.1:${port}`, 'the migration port is in use', 'stop what listens there or choose another port in target.migrationPorts'));
  }
  return out;
}
