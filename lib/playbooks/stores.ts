/**
 * The app's stores as the playbooks use them: options validated by each store's engine (once, at the
 * boundary), each store paired with its registered engine, and a refusal of state directories written
 * before stores (their journals name steps like `mysql-export`).
 */
import type { Config } from '../config/schema.ts';
import type { EngineKind } from '../core/engine.ts';
import { FerryError } from '../core/errors.ts';
import { deepFreeze } from '../config/index.ts';
import { engines as registry, type AnyEngine } from '../engines/index.ts';
import { readJournal } from '../journal/index.ts';
import type { StoreSpec } from '../steps/order.ts';

export type EngineRegistry = Readonly<Partial<Record<EngineKind, AnyEngine>>>;

/** The config with every store's options parsed by its engine (`stores[<id>].options.<field>` errors). */
export function withEngineOptions(config: Config, engines: EngineRegistry = registry): Config {
  const stores = config.stores.map((s) => {
    const e = engines[s.engine];
    return e ? { ...s, options: e.parseOptions(withAppEnvFiles(s, config), s.id) as Readonly<Record<string, unknown>> } : s;
  });
  return deepFreeze({ ...config, stores }) as Config;
}

/**
 * A MySQL store carries the app's accounts its env files name: its `appEnvFiles` option, when the config
 * leaves it empty, is the app's `envFile` and `envFiles`.
 */
function withAppEnvFiles(s: Config['stores'][number], config: Config): unknown {
  if (s.engine !== 'mysql') return s.options;
  const given = (s.options as { appEnvFiles?: readonly string[] }).appEnvFiles;
  return given?.length ? s.options : { ...s.options, appEnvFiles: [config.app.envFile, ...config.app.envFiles] };
}

export function storeSpecs(config: Config, engines: EngineRegistry = registry): StoreSpec[] {
  return config.stores.map((store) => ({ store, engine: engines[store.engine] }));
}

/** Step ids of ferry before stores, and what they became. */
const LEGACY_IDS: Readonly<Record<string, string>> = {
  'mysql-export': 'export:mysql', 'redis-export': 'export:redis', 'mysql-import': 'import:mysql', 'redis-import': 'import:redis',
  'mysql-verify': 'verify:mysql', 'redis-verify': 'verify:redis', freeze: 'freeze:<store> + prove-quiet', unfreeze: 'thaw:<store>',
  'rollback-thaw-source': 'thaw:<store>', 'reverse-mysql-export': 'reverse:mysql', 'reverse-redis-export': 'reverse:redis',
};

/**
 * A journal written before stores cannot be resumed by per-store steps (its freeze lives in freeze.json,
 * its state under other names): refused, saying what to do.
 */
export async function refuseLegacyState(stateDir: string, playbook: string): Promise<void> {
  const entries = await readJournal(stateDir, playbook).catch(() => []);
  const old = entries.map((e) => e.id).filter((id) => LEGACY_IDS[id] !== undefined);
  if (!old.length) return;
  throw new FerryError('E_STATE_LEGACY', `the ${playbook} journal in ${stateDir} was written before stores (steps ${old.map((id) => `"${id}"`).join(', ')}; now ${old.map((id) => LEGACY_IDS[id]).join(', ')})`, {
    hint: `if that ${playbook} run finished, move ${stateDir} aside and keep it (its artifacts are the rollback backup); if it is still in progress, finish or roll it back with the ferry version that started it, then move the state directory aside`,
  });
}
