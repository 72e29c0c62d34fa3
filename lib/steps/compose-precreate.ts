/**
 * compose-precreate: the app's containers are created — not started — before the freeze, when every store
 * follows and the app's configuration (.env, secrets, env override) is already written. Inside the freeze
 * compose-cutover then only starts them (`up` finds each container's configuration unchanged), so image
 * lookup and container creation leave the downtime. A service whose container already runs is left alone
 * (starting the stack's app while the host's app still writes is compose-cutover's decision, never this
 * step's); the data services are not touched (`--no-deps`). Idempotent: an existing container is kept.
 */
import { defineStep } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext } from './context.ts';
import { serviceHealth } from '../compose/health.ts';
import { appServices, stackClient } from './compose-cutover.ts';
import type { ComposeClient } from '../compose/client.ts';

/** The services of `apps` that have no container yet (created or running). */
async function withoutContainer(c: Pick<ComposeClient, 'containerIds'>, apps: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const s of apps) if (!(await c.containerIds(s)).length) out.push(s);
  return out;
}

export default defineStep<Config, FerryContext>({
  id: 'compose-precreate',
  title: 'Create the app containers before the freeze (started at cutover)',
  async check(p) {
    const c = await stackClient(p);
    const apps = await appServices(p, c);
    const missing = await withoutContainer(c, apps);
    return missing.length ? { done: false, reason: `no container yet for ${missing.join(', ')}` } : { done: true, reason: apps.length ? `containers exist for ${apps.join(', ')}` : 'no app services' };
  },
  async plan(p) {
    return { reads: [p.ctx.composeDir], changes: ['create (not start) the app services\' containers: compose-cutover starts them inside the freeze'] };
  },
  async run(p) {
    const c = await stackClient(p);
    const apps = await appServices(p, c);
    const create: string[] = [];
    const running: string[] = [];
    for (const s of apps) {
      const h = await serviceHealth(c, s);
      if (h === 'missing') create.push(s);
      else if (h !== 'exited' && h !== 'starting') running.push(s);
    }
    if (create.length) await c.up(create, { noStart: true, noDeps: true, signal: p.signal });
    if (running.length) p.log.info(`already running, left as they are: ${running.join(', ')}`);
    return { data: { created: create, running } };
  },
  async verify(p) {
    const c = await stackClient(p);
    const missing = await withoutContainer(c, await appServices(p, c));
    return { ok: missing.length === 0, findings: missing.map((s) => `${s} has no container`) };
  },
  async undo(p) {
    // Created, never started: removing them returns the stack to where it was (a running one was not ours).
    const created = (p.previous?.data?.created as string[] | undefined) ?? [];
    if (created.length) await (await stackClient(p)).rm(created);
  },
});
