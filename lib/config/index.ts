/** Config: load `ferry.config.ts` or JSON, validate once (zod), expand the preset to stores, resolve ${ENV} references and paths, freeze. */
export { loadConfig, findConfig, DEFAULT_CONFIG_FILES } from './load-config.ts';
export { normalizeConfig, resolveEnvRefs, deepFreeze } from './normalize-config.ts';
export type { NormalizeOptions, Env, OptionParsers } from './normalize-config.ts';
export { configSecrets } from './config-secrets.ts';
export { presetStores, usesPreset, PRESET_STORE_IDS } from './preset.ts';
export { defineConfig, configSchema, storeSchema, ENGINE_KINDS } from './schema.ts';
export type { Config, ConfigInput, ConfigStore, ConfigStoreTarget } from './schema.ts';
