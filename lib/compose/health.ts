/**
 * Health of compose services, read from `docker inspect` (the same for v1 and v2), and a wait with a
 * budget, an AbortSignal and an injectable clock whose failure names the service, its state and its
 * last log lines.
 */
import { FerryError } from '../core/errors.ts';
import { waitFor, type Clock } from '../util/wait.ts';
import type { ComposeClient } from './client.ts';
import { exec as runCommand } from '../util/exec.ts';
import { apiInspectAll } from '../util/docker-api.ts';

/** `running` = up without a healthcheck; `missing` = no container. */
export type ServiceHealth = 'healthy' | 'starting' | 'unhealthy' | 'running' | 'exited' | 'missing';

/** A container's state as `docker inspect` prints `.State`. */
export interface ContainerState { readonly Status: string; readonly Health?: { readonly Status: string } }

/** A service's health from its containers' states: the worst of them; `missing` without any. */
export function healthOfStates(states: readonly ContainerState[]): ServiceHealth {
  if (states.length === 0) return 'missing';
  const each = states.map((s): ServiceHealth => {
    if (s.Status !== 'running') return s.Status === 'created' || s.Status === 'restarting' ? 'starting' : 'exited';
    return (s.Health?.Status as ServiceHealth | undefined) ?? 'running';
  });
  for (const worst of ['exited', 'unhealthy', 'starting', 'running'] as const) if (each.includes(worst)) return worst;
  return 'healthy';
}

export async function serviceHealth(client: Pick<ComposeClient, 'containerIds'>, service: string): Promise<ServiceHealth> {
  const ids = await client.containerIds(service);
  if (ids.length === 0) return 'missing';
  const api = await apiInspectAll(ids);
  if (api) {
    // As the CLI's inspect of them all, which fails when one is gone.
    if (api.some((x) => x === null)) return 'missing';
    return healthOfStates(api.map((x) => (x as { State: ContainerState }).State));
  }
  const r = await runCommand('docker', ['inspect', '--format', '{{json .State}}', ...ids]);
  if (r.exitCode !== 0) return 'missing';
  return healthOfStates(r.stdout.trim().split('\n').map((l) => JSON.parse(l) as ContainerState));
}

export interface WaitHealthyOptions {
  /** Budget for all services together. */
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  readonly signal?: AbortSignal;
  /** Injectable for tests (default: the system clock). */
  readonly clock?: Clock;
  /** How a service's health is read; default `serviceHealth` (docker inspect). */
  readonly probe?: (service: string) => Promise<ServiceHealth>;
  /** How the health of all pending services is read at once, one read per round (e.g. a project snapshot); overrides `probe`. */
  readonly probeAll?: (services: readonly string[]) => Promise<ReadonlyMap<string, ServiceHealth>>;
}

export const DEFAULT_HEALTH_TIMEOUT_MS = 180_000;

/** Resolve when every service is healthy (or running, without a healthcheck). */
export async function waitHealthy(client: Pick<ComposeClient, 'containerIds' | 'logs' | 'project'>, services: readonly string[], o: WaitHealthyOptions = {}): Promise<void> {
  const timeoutMs = o.timeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS;
  const probe = o.probe ?? ((s: string) => serviceHealth(client, s));
  const pending = new Set(services);
  const last: Record<string, ServiceHealth> = {};
  const gone = Symbol('gone');
  let fatal: { service: string; state: ServiceHealth } | undefined;
  try {
    await waitFor(async () => {
      const all = o.probeAll ? await o.probeAll([...pending]) : undefined;
      for (const s of [...pending]) {
        const h = all ? all.get(s) ?? 'missing' : await probe(s);
        last[s] = h;
        if (h === 'healthy' || h === 'running') pending.delete(s);
        else if (h === 'exited' || h === 'missing') { fatal = { service: s, state: h }; throw gone; }
      }
      return pending.size === 0;
    }, {
      what: `services ${services.join(', ')} of compose project ${client.project}`, timeoutMs, intervalMs: o.intervalMs ?? 1000,
      ...(o.signal ? { signal: o.signal } : {}), ...(o.clock ? { clock: o.clock } : {}),
      fatal: (e) => e === gone,
      onTimeout: () => { const [s] = pending; return notHealthy(client, s!, last[s!] ?? 'missing', `not healthy after ${timeoutMs}ms`); },
    });
  } catch (e) {
    if (e === gone && fatal) throw await notHealthy(client, fatal.service, fatal.state, `it is ${fatal.state}`);
    throw e;
  }
}

async function notHealthy(client: Pick<ComposeClient, 'logs' | 'project'>, service: string, state: ServiceHealth, why: string): Promise<FerryError> {
  const logs = await client.logs(service, 20).catch(() => '');
  return new FerryError('E_COMPOSE_UNHEALTHY', `service ${service} of compose project ${client.project}: ${why} (state: ${state})`, {
    hint: `read its last log lines below; \`docker-compose -p ${client.project} logs ${service}\` has the rest`,
    detail: logs || '(no log output)',
  });
}
