/**
 * Step `redis-verify`: prove the copy key by key (type, value, expiry within
 * `config.redis.ttlToleranceMs`; counts per database and type, keys expired during the window counted
 * apart) and in the app's terms (Flask sessions under `config.redis.sessionPrefix`, RQ queues, jobs and
 * registries). Findings name each key. The report is kept at `<stateDir>/redis/verify.json`.
 */
import { join } from 'node:path';
import { defineStep } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import type { FerryContext } from './context.ts';
import { checkApp, describeEndpoint, verifyCopy } from '../engines/redis/index.ts';
import { endpoints, redisStateDir } from './redis-shared.ts';

export default defineStep<Config, FerryContext>({
  id: 'redis-verify',
  title: 'Verify every Redis key, session and job',
  async plan(p) {
    const { source, target } = endpoints(p);
    return { reads: [`redis ${describeEndpoint(source)}`, `redis ${describeEndpoint(target)}`], changes: [join(redisStateDir(p), 'verify.json')] };
  },
  async run() { /* the proof is `verify` */ },
  async verify(p) {
    const { source, target } = endpoints(p);
    const keys = await verifyCopy({ source, target, databases: source.databases, ttlToleranceMs: p.config.redis.ttlToleranceMs });
    const app = await checkApp({ source, target, databases: source.databases, sessionPrefix: p.config.redis.sessionPrefix, ttlToleranceMs: p.config.redis.ttlToleranceMs });
    const findings = [...keys.findings, ...app.findings].map((f) => p.ctx.redactor.redact(f));
    const report = { dbs: keys.dbs, sampling: keys.sampling, app: app.categories };
    await writeFileAtomic(join(redisStateDir(p), 'verify.json'), JSON.stringify({ ok: keys.ok && app.ok, findings, ...report }, null, 2));
    return { ok: keys.ok && app.ok, findings, report };
  },
});
