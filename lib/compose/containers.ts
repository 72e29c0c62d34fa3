/**
 * The one compose label query: a project's containers (of one service, running or all), found by the
 * labels compose v1 and v2 both set. Cheaper than `compose ps`, and needs no compose file: asked of the
 * engine's socket (util/docker-api.ts), else `docker ps`.
 */
import { FerryError } from '../core/errors.ts';
import { exec } from '../util/exec.ts';
import { apiContainerIds } from '../util/docker-api.ts';

export interface ComposeContainersQuery {
  readonly project: string;
  /** Only this service's containers. */
  readonly service?: string;
  /** Stopped containers too (default: running only). */
  readonly all?: boolean;
  /** Leave out one-off containers (`compose run`). */
  readonly noOneOff?: boolean;
}

/** Full container ids; a Docker engine that does not answer is a FerryError. */
export async function composeContainers(q: ComposeContainersQuery): Promise<string[]> {
  const labels = [`com.docker.compose.project=${q.project}`, ...(q.service ? [`com.docker.compose.service=${q.service}`] : []),
    ...(q.noOneOff ? ['com.docker.compose.oneoff=False'] : [])];
  const api = await apiContainerIds(labels, q.all ?? false);
  if (api) return api;
  const r = await exec('docker', ['ps', '-q', '--no-trunc', ...(q.all ? ['-a'] : []), ...labels.flatMap((l) => ['--filter', `label=${l}`])]);
  if (r.exitCode !== 0) {
    const what = q.service ? `service ${q.service} of compose project ${q.project}` : `compose project ${q.project}`;
    throw new FerryError('E_COMPOSE', `cannot list the containers of ${what}: ${(r.failure ?? r.stderr.trim().split('\n')[0]) || `exit ${r.exitCode}`}`, {
      hint: 'is the Docker engine running? (`docker info`)', detail: r.stderr,
    });
  }
  return r.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
}
