/** Config: load `ferry.config.ts` or JSON, validate once (zod), resolve ${ENV} references and paths, freeze. */
export { loadConfig, findConfig, DEFAULT_CONFIG_FILES } from './load-config.ts';
export { normalizeConfig, resolveEnvRefs, deepFreeze } from './normalize-config.ts';
export type { NormalizeOptions, Env } from './normalize-config.ts';
export { configSecrets } from './config-secrets.ts';
export { defineConfig, configSchema } from './schema.ts';
export type { Config, ConfigInput } from './schema.ts';
