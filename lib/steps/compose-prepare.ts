/**
 * compose-prepare: the passwords of the services that hold the stores (`secrets/<service>_…password.txt`,
 * 0700 folder), generated only when absent — and for ferry's own compose/ stack (the preset) its host
 * layout (config/, data/, storage/, logs/, ssl/, backups/) and its other secrets. The journal
 * keeps which files this step created; `undo` removes only those, and never while a data directory
 * holds data initialised with them.
 */
import { readdir, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { defineStep } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext } from './context.ts';
import { DATA_SECRETS, LAYOUT_DIRS, prepareLayout, secretPath } from '../compose/layout.ts';
import { DATA_DIRS } from '../compose/service-control.ts';
import { targetSecretName } from '../compose/store-target.ts';

/** ferry's own compose/ stack (Vedfolnir's preset) has a host layout; an operator's project only gets its stores' secrets. */
const ownStack = (config: Config): boolean => config.stores.every((s) => s.preset === true);
const dirsOf = (config: Config): readonly string[] => (ownStack(config) ? LAYOUT_DIRS : ['secrets']);

/** The stack's data-service passwords: ferry's own stack's, and each store's target secret. */
const secretsOf = (config: Config): string[] => [...new Set([...(ownStack(config) ? DATA_SECRETS : []), ...config.stores.map(targetSecretName).filter((s): s is string => s !== undefined)])];

async function missing(composeDir: string, config: Config): Promise<string[]> {
  const paths = [...dirsOf(config), ...secretsOf(config).map((s) => `secrets/${s}.txt`)];
  const found = await Promise.all(paths.map((p) => stat(join(composeDir, p)).then(() => true, () => false)));
  return paths.filter((_, i) => !found[i]);
}

async function holdsData(dir: string): Promise<boolean> {
  return readdir(dir).then((e) => e.length > 0, () => false);
}

export default defineStep<Config, FerryContext>({
  id: 'compose-prepare',
  title: 'Prepare the stack\'s host directories and data-service passwords',
  async check({ ctx, config }) {
    const absent = await missing(ctx.composeDir, config);
    return absent.length === 0
      ? { done: true, reason: `${ctx.composeDir} has the host layout and the data services' secrets` }
      : { done: false, reason: `missing: ${absent.join(', ')}` };
  },
  async plan({ ctx, config }) {
    const absent = await missing(ctx.composeDir, config);
    return { reads: [join(ctx.composeDir, 'secrets')], changes: absent.map((p) => join(ctx.composeDir, p)), pending: absent.length > 0 };
  },
  async run({ ctx, config, log }) {
    const r = await prepareLayout(ctx.composeDir, secretsOf(config), dirsOf(config));
    if (r.createdSecrets.length) log.info(`generated ${r.createdSecrets.join(', ')} in ${join(ctx.composeDir, 'secrets')}`);
    return { data: { createdDirs: r.createdDirs, createdSecrets: r.createdSecrets } };
  },
  async verify({ ctx, config }) {
    const findings = (await missing(ctx.composeDir, config)).map((p) => `missing ${join(ctx.composeDir, p)}`);
    const mode = await stat(join(ctx.composeDir, 'secrets')).then((s) => s.mode & 0o777, () => undefined);
    if (mode !== undefined && mode !== 0o700) findings.push(`${join(ctx.composeDir, 'secrets')} has mode ${mode.toString(8)}, expected 700`);
    for (const s of secretsOf(config)) {
      const size = await stat(secretPath(ctx.composeDir, s)).then((x) => x.size, () => 0);
      if (size === 0) findings.push(`secrets/${s}.txt is empty`);
    }
    return { ok: findings.length === 0, findings };
  },
  async undo({ ctx, previous, log }) {
    const created = (previous?.data?.createdSecrets ?? []) as string[];
    const inUse = (await Promise.all(Object.values(DATA_DIRS).map((d) => holdsData(join(ctx.composeDir, d))))).some(Boolean);
    if (inUse && created.length) {
      log.warn(`kept ${created.join(', ')}: the data directories hold data initialised with them`);
    } else {
      for (const s of created) await rm(secretPath(ctx.composeDir, s), { force: true });
    }
    // Only the directories this step created, and only while empty.
    for (const d of [...((previous?.data?.createdDirs ?? []) as string[])].reverse()) {
      await rmdir(join(ctx.composeDir, d)).catch(() => undefined);
    }
  },
});
