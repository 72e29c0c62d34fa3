/**
 * Step `rollback-stop-stack`: stop every container of the stack's project (containers and volumes
 * kept, so the incident can be studied and the migration resumed).
 */
import { defineStep } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext } from './context.ts';
import { composeContainers, createComposeClient } from '../compose/index.ts';

/** Running containers of a compose project (the one compose label query). */
export function runningContainers(project: string): Promise<string[]> {
  return composeContainers({ project });
}

export default defineStep<Config, FerryContext>({
  id: 'rollback-stop-stack',
  title: 'Stop the stack (containers and volumes kept)',
  async plan({ ctx }) {
    const running = await runningContainers(ctx.project);
    return { reads: [`containers of project ${ctx.project}`], changes: running.length ? [`stop ${running.length} container(s) of ${ctx.project}`] : [], pending: running.length > 0 };
  },
  async check({ ctx }) {
    const running = await runningContainers(ctx.project);
    return { done: running.length === 0, reason: running.length ? `${running.length} container(s) of ${ctx.project} running` : `no container of ${ctx.project} runs` };
  },
  async run({ ctx, config, log }) {
    const client = await createComposeClient({ composeDir: ctx.composeDir, project: ctx.project, files: ['docker-compose.yml', ...config.target.files], redactor: ctx.redactor });
    await client.stop([]);
    log.info(`project ${ctx.project} stopped; its volumes and data directories are kept`);
  },
  async verify({ ctx }) {
    const running = await runningContainers(ctx.project);
    return { ok: running.length === 0, findings: running.length ? [`${running.length} container(s) of ${ctx.project} still run`] : [] };
  },
});
