/**
 * Step `preflight`: refuse before a byte moves. Gathers facts (read-only), records every finding in
 * `<stateDir>/preflight.json` and fails with the list of blockers when there is one.
 */
import { join } from 'node:path';
import { defineStep } from '../core/step.ts';
import { FerryError } from '../core/errors.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext } from './context.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { blockers, formatFindings, runPreflight } from '../preflight/index.ts';
import { composeServiceImages, createComposeClient } from '../compose/index.ts';

/** Target images as the compose project runs them (its files, its `.env`); the official ones when it names none. */
export async function targetImages(config: Config): Promise<{ mysql: string; redis: string }> {
  const client = await createComposeClient({ composeDir: config.target.composeDir, project: config.target.project, files: config.target.files });
  const images = await composeServiceImages(client);
  return { mysql: images.mysql ?? 'mysql:8.0', redis: images.redis ?? 'redis:7-alpine' };
}

export default defineStep<Config, FerryContext>({
  id: 'preflight',
  title: 'Preflight: refuse before a byte moves',
  async plan({ ctx, config }) {
    return {
      reads: [
        ...(ctx.source.mysql ? [`mysql ${ctx.source.mysql.host}:${ctx.source.mysql.port} (variables, grants, information_schema)`] : []),
        ...(ctx.source.redis ? [`redis ${ctx.source.redis.host}:${ctx.source.redis.port} (INFO, MODULE LIST, SCAN of streams and hashes)`] : []),
        'docker engine, compose, free disk, ports ' + `${config.target.migrationPorts.mysql}/${config.target.migrationPorts.redis}`,
      ],
      changes: [],
      pending: false,
    };
  },
  async run({ ctx, config, log, signal, stateDir }) {
    const result = await runPreflight({ config, ctx, targetImages: await targetImages(config), signal });
    for (const f of result.findings) {
      const line = `${f.severity.toUpperCase()} ${f.check} (${f.subject}): ${f.message} → ${f.hint}`;
      if (f.severity === 'blocker') log.error(line);
      else if (f.severity === 'info') log.info(line);
      else log.warn(line);
    }
    await writeFileAtomic(join(stateDir, 'preflight.json'), JSON.stringify(result.findings, null, 2) + '\n');
    const b = blockers(result.findings);
    if (b.length) {
      throw new FerryError('E_PREFLIGHT_BLOCKED', `preflight found ${b.length} blocker(s); first: ${b[0]!.check} (${b[0]!.subject}): ${b[0]!.message}`, {
        hint: `fix each BLOCKER (MIGRATION.md, "Preflight findings"), then re-run; all findings: ${join(stateDir, 'preflight.json')}`,
        detail: formatFindings(b),
      });
    }
    return { data: { findings: result.findings, estimatedArtifactBytes: result.estimatedArtifactBytes } };
  },
});
