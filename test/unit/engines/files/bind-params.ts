/** The files engine's params for a bind-mount store under `dir` (src → dst, artifacts and state beside), owned by the test's user. */
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { EngineParams } from '../../../../lib/core/engine.ts';
import { silentLogger } from '../../../../lib/core/logger.ts';
import { noProgress } from '../../../../lib/core/progress.ts';
import { filesEngine } from '../../../../lib/engines/files/engine.ts';
import type { FilesOptions } from '../../../../lib/engines/files/options.ts';
import { Redactor } from '../../../../lib/util/redact.ts';

export function bindParams(dir: string, options: Record<string, unknown> = {}): EngineParams<FilesOptions> {
  const { uid, gid } = userInfo();
  return {
    store: { id: 'uploads', engine: 'files', source: join(dir, 'src'), target: { service: 'web', hostPath: join(dir, 'dst') }, options: filesEngine.parseOptions({ owner: `${uid}:${gid}`, quietWindowMs: 0, ...options }, 'uploads') },
    targetUrl: join(dir, 'dst'), artifactDir: join(dir, 'artifacts'), stateDir: join(dir, 'state'),
    signal: new AbortController().signal, log: silentLogger, progress: noProgress, redactor: new Redactor(),
  };
}
