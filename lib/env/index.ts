/** ferry's .env toolkit: python-dotenv parse → the container's env (canonical file, override, secrets), validation, redacted diff. */
export { parseEnv, serializeEnv, bindingText, decodeEscapes, lineColumn } from './parse.ts';
export type { EnvBinding, EnvDocument, ParseOptions } from './parse.ts';
export { expandValue, referencedNames, resolveEnv } from './expand.ts';
export type { ResolveOptions } from './expand.ts';
export { parseUrl, formatUrl, isLocalHost, percentDecode, percentEncode } from './url.ts';
export type { UrlParts } from './url.ts';
export {
  DEFAULT_SERVICE_RULES, DEFAULT_SECRET_KEYS, DEFAULT_SECRET_NAMES, DEFAULT_REQUIRED_KEYS, DEFAULT_BIND_KEYS, SECRETS_MOUNT, PLACEHOLDER,
  HOST_GATEWAY, HOST_GATEWAY_EXTRA_HOST, secretPlaceholder, secretName,
} from './rules.ts';
export type { ServiceRule, RequiredKey } from './rules.ts';
export { transformEnv } from './transform.ts';
export { placeSecrets } from './secrets.ts';
export type { Placement, PlaceOptions } from './secrets.ts';
export type { TransformOptions, TransformResult, EnvChange, EnvChangeKind } from './transform.ts';
export { isCanonicalKey, isCanonicalValue, yamlQuote, composeValue } from './canonical.ts';
export { composeOverride } from './override.ts';
export type { OverrideEnv, OverrideEnvFile, OverrideOptions } from './override.ts';
export type { PathMapping } from './paths.ts';
export { validateEnv } from './validate.ts';
export type { EnvProblem, ValidateOptions, ContainerValue } from './validate.ts';
export { envDiff, unifiedDiff } from './diff.ts';
export type { EnvDiffInput } from './diff.ts';
export { rebuildSecretUrls } from './rebuild.ts';
