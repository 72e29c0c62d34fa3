/** ferry's .env toolkit: python-dotenv parse → transform for the stack → serialise, validation, redacted diff, backup. */
export { parseEnv, serializeEnv, bindingText, decodeEscapes, lineColumn } from './parse.ts';
export type { EnvBinding, EnvDocument, ParseOptions } from './parse.ts';
export { expandValue, referencedNames, resolveEnv } from './expand.ts';
export type { ResolveOptions } from './expand.ts';
export { withValue, withKey, commentOut } from './encode.ts';
export { parseUrl, formatUrl, isLocalHost, percentDecode, percentEncode } from './url.ts';
export type { UrlParts } from './url.ts';
export {
  DEFAULT_SERVICE_RULES, DEFAULT_SECRET_KEYS, DEFAULT_SECRET_NAMES, DEFAULT_REQUIRED_KEYS, SECRETS_MOUNT, PLACEHOLDER,
  secretPlaceholder, secretName,
} from './rules.ts';
export type { ServiceRule, RequiredKey } from './rules.ts';
export { transformEnv, secretKeyMatcher, duplicateKeyWarnings } from './transform.ts';
export type { TransformOptions, TransformResult, EnvChange } from './transform.ts';
export { validateEnv } from './validate.ts';
export type { EnvProblem, ValidateOptions } from './validate.ts';
export { redactedDiff, unifiedDiff, maskedStatements } from './diff.ts';
export type { DiffOptions } from './diff.ts';
export { rebuildSecretUrls } from './rebuild.ts';
