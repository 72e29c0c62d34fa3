/**
 * Can the stack reach a PostgreSQL source? `pg_isready` from the stack's postgres image in a throwaway
 * container on the service's network (with the host-gateway mapping for host.docker.internal): exit 0
 * (accepting) or 1 (rejecting: a server answered) proves the route; 2 (no response) does not. No
 * credentials travel.
 */
import { exec } from '../util/exec.ts';
import { hostGatewayArgs, needsHostGateway, type SourceFromTarget } from '../engines/follow-from.ts';

export function pgProbeArgs(i: { image: string; from: SourceFromTarget; network?: string }): string[] {
  return [
    'run', '--rm', '--pull', 'never', '--label', 'ferry.probe=1', ...hostGatewayArgs(i.from), ...(i.network ? ['--network', i.network] : []),
    '--entrypoint', 'pg_isready', i.image, '-h', i.from.host, '-p', String(i.from.port), '-t', '5',
  ];
}

export async function probePgFromStack(i: { image: string; from: SourceFromTarget; network?: string; signal?: AbortSignal }): Promise<{ ok: boolean; detail: string; hint?: string }> {
  const r = await exec('docker', pgProbeArgs(i), { all: true, timeoutMs: 60_000, ...(i.signal ? { signal: i.signal } : {}) });
  const where = `${i.from.host}:${i.from.port}`;
  if (r.exitCode === 0 || r.exitCode === 1) return { ok: true, detail: `PostgreSQL answers at ${where} from the stack's side` };
  const out = (r.all ?? `${r.stdout}\n${r.stderr}`).trim().split('\n').pop() ?? '';
  return {
    ok: false, detail: `nothing answers at ${where} from the stack's side: ${out}`,
    hint: needsHostGateway(i.from)
      ? `let PostgreSQL listen beyond 127.0.0.1 (listen_addresses = '*' in postgresql.conf, a restart) and allow the Docker network in pg_hba.conf; or set options.followFrom to a name the stack resolves`
      : `the stack must reach ${where}: check that the name resolves on the service's network and that PostgreSQL listens there`,
  };
}
