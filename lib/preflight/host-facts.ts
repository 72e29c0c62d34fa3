/**
 * The machine side of preflight: the Docker engine and its compose, the engine's CPUs and memory (on a
 * Mac, the VM's), free disk where the artifacts go, and the migration ports on 127.0.0.1.
 */
import { createServer } from 'node:net';
import { exec } from '../util/exec.ts';
import { freeBytes } from '../util/free-bytes.ts';

export interface HostFacts {
  readonly dockerVersion: string | undefined;
  /** `v2.x` (docker compose) or `1.x` (docker-compose), undefined when neither answers. */
  readonly composeVersion: string | undefined;
  readonly composeCommand: 'docker compose' | 'docker-compose' | undefined;
  readonly cpus: number;
  readonly memoryBytes: number;
  readonly freeDiskBytes: number;
  /** Port → free on 127.0.0.1. */
  readonly ports: Readonly<Record<number, boolean>>;
}

async function out(file: string, args: string[]): Promise<string | undefined> {
  const r = await exec(file, args, { timeoutMs: 20_000 });
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}

export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

export async function gatherHostFacts(opts: { stateDir: string; ports: readonly number[] }): Promise<HostFacts> {
  const dockerVersion = await out('docker', ['version', '--format', '{{.Server.Version}}']);
  let composeCommand: HostFacts['composeCommand'];
  let composeVersion = await out('docker', ['compose', 'version', '--short']);
  if (composeVersion) composeCommand = 'docker compose';
  else {
    composeVersion = await out('docker-compose', ['version', '--short']);
    if (composeVersion) composeCommand = 'docker-compose';
  }
  const info = await out('docker', ['info', '--format', '{{.NCPU}} {{.MemTotal}}']);
  const [cpus, mem] = (info ?? '0 0').split(' ').map(Number);
  const ports: Record<number, boolean> = {};
  for (const p of opts.ports) ports[p] = await isPortFree(p);
  return { dockerVersion, composeVersion, composeCommand, cpus: cpus ?? 0, memoryBytes: mem ?? 0, freeDiskBytes: await freeBytes(opts.stateDir), ports };
}
