/** ServiceControl over a compose service: stop, start (waiting healthy), and its host data dir. */
import { isAbsolute, join } from 'node:path';
import type { ServiceControl } from '../core/engine.ts';
import type { ComposeClient } from './client.ts';
import { waitHealthy, type WaitHealthyOptions } from './health.ts';

/** Host bind paths of the data services, relative to composeDir (as in docker-compose.yml). */
export const DATA_DIRS: Readonly<Record<string, string>> = { mysql: 'data/mysql', redis: 'data/redis' };

export function composeServiceControl(client: ComposeClient, service: string, o: WaitHealthyOptions & { dataDir?: string } = {}): ServiceControl {
  const rel = o.dataDir ?? DATA_DIRS[service];
  if (!rel) throw new TypeError(`Expected a \`dataDir\` for compose service \`${service}\` (known: ${Object.keys(DATA_DIRS).join(', ')})`);
  return {
    dataDir: isAbsolute(rel) ? rel : join(client.composeDir, rel),
    stop: () => client.stop([service]),
    // `start` keeps the container's configuration (with or without the migration override).
    start: async () => { await client.start([service]); await waitHealthy(client, [service], o); },
  };
}
