/**
 * What the transform knows about Vedfolnir: which variables point at which service, which hold
 * secrets, and which the containers need. Every list is overridable through `TransformOptions`.
 */

/** Where one host-installed service lives inside the stack. */
export interface ServiceRule {
  /** The rule's name, used in messages ("mysql", "redis", "ollama"). */
  readonly name: string;
  /** The host name the app container reaches the service by (a compose service, or host.docker.internal). */
  readonly host: string;
  /** The port inside the stack; with `keepPort` the host port is kept instead. */
  readonly port: number;
  readonly keepPort?: boolean;
  /** Variables (anchored regex sources) that belong to this service. */
  readonly keys: readonly string[];
  /** URL schemes (anchored regex sources) that belong to this service whatever the variable's name. */
  readonly schemes: readonly string[];
  /** `extra_hosts` entries the app service needs for `host` to resolve (Linux has no host.docker.internal). */
  readonly extraHosts?: readonly string[];
  /** Secret name for a password found in this service's URLs (the stack's own secret for it). */
  readonly passwordSecret?: string;
  /** The port the service listens on at the host: picks this rule among several of one kind (two MySQL servers). */
  readonly sourcePort?: number;
}

export const DEFAULT_SERVICE_RULES: readonly ServiceRule[] = Object.freeze([
  {
    name: 'mysql', host: 'mysql', port: 3306, passwordSecret: 'mysql_password',
    keys: ['DATABASE_URL', 'SQLALCHEMY_DATABASE_URI', '(DB|MYSQL)_.*'],
    schemes: ['mysql(\\+\\w+)?', 'mariadb(\\+\\w+)?'],
  },
  {
    name: 'redis', host: 'redis', port: 6379, passwordSecret: 'redis_password',
    keys: ['.*REDIS.*', 'RQ_.*', 'SESSION_.*', 'CELERY_BROKER_URL'],
    schemes: ['rediss?', 'redis\\+unix', 'redis\\+socket'],
  },
  {
    name: 'postgres', host: 'postgres', port: 5432, passwordSecret: 'postgres_password',
    keys: ['PG[A-Z]+', '(POSTGRES|POSTGRESQL)_.*'],
    schemes: ['postgres(ql)?(\\+\\w+)?'],
  },
  {
    name: 'ollama', host: 'host.docker.internal', port: 11434, keepPort: true,
    keys: ['.*OLLAMA.*'],
    schemes: [],
    extraHosts: ['host.docker.internal:host-gateway'],
  },
]);

/**
 * Variables whose values move to secret files. `*` matches any run of characters. URL passwords in
 * service URLs move too (see `transformEnv`).
 */
export const DEFAULT_SECRET_KEYS: readonly string[] = Object.freeze([
  'FLASK_SECRET_KEY', 'SECRET_KEY', 'PLATFORM_ENCRYPTION_KEY',
  'DB_PASSWORD', 'DATABASE_PASSWORD', 'MYSQL_PASSWORD', 'MYSQL_ROOT_PASSWORD', 'REDIS_PASSWORD',
  '*_PASSWORD', '*_PASSWD', '*_TOKEN', '*_API_KEY', '*_SECRET', '*_SECRET_KEY', '*_PRIVATE_KEY', '*_SIGNING_KEY',
  '*_ENCRYPTION_KEY', '*_WEBHOOK_SECRET', '*_CLIENT_SECRET', '*_ACCESS_KEY',
]);

/** Names that sound secret: a high-entropy value under one of these leaves the env even when no glob lists it. */
export const SECRET_SOUNDING = /(SECRET|TOKEN|PASS(WORD|WD)?|PWD|API_?KEY|PRIVATE|SIGNING|SALT|CREDENTIAL|AUTH|WEBHOOK|(^|_)KEY$)/iu;

/**
 * The app's own listen address (anchored regex sources): inside the container it must be 0.0.0.0 so
 * the published port and the other services reach it; the port is kept.
 */
export const DEFAULT_BIND_KEYS: readonly string[] = Object.freeze([
  'HOST', 'BIND', 'FLASK_HOST', 'FLASK_RUN_HOST', 'GUNICORN_BIND', 'GUNICORN_HOST', 'UVICORN_HOST', '.*_BIND',
  'BIND_(ADDR|ADDRESS|HOST)', 'LISTEN(_ADDR|_ADDRESS|_HOST)?', 'APP_BIND',
]);

/** The name containers on Linux reach the host by (with `extra_hosts: host.docker.internal:host-gateway`). */
export const HOST_GATEWAY = 'host.docker.internal';
export const HOST_GATEWAY_EXTRA_HOST = 'host.docker.internal:host-gateway';

/**
 * Secret names the stack already uses (compose/docker-compose.yml: `mysql_password`, `redis_password`),
 * so the app and the data services read one secret. Other variables get `secretName(key)`.
 */
export const DEFAULT_SECRET_NAMES: Readonly<Record<string, string>> = Object.freeze({
  DB_PASSWORD: 'mysql_password', DATABASE_PASSWORD: 'mysql_password', MYSQL_PASSWORD: 'mysql_password',
  REDIS_PASSWORD: 'redis_password',
});

/** A variable the containers cannot start without. A secret is satisfied by `KEY` or `KEY_FILE`. */
export interface RequiredKey {
  readonly key: string;
  /** Who needs it, for the error ("the app (SQLAlchemy) to reach MySQL"). */
  readonly neededBy: string;
  /** It must be a URL whose host is one of these (the stack's service names). */
  readonly hosts?: readonly string[];
}

export const DEFAULT_REQUIRED_KEYS: readonly RequiredKey[] = Object.freeze([
  { key: 'DATABASE_URL', neededBy: 'the app (SQLAlchemy) to reach MySQL', hosts: ['mysql'] },
  { key: 'REDIS_URL', neededBy: 'the app (Flask-Session, RQ) to reach Redis', hosts: ['redis'] },
  { key: 'FLASK_SECRET_KEY', neededBy: 'Flask to sign session cookies' },
  { key: 'PLATFORM_ENCRYPTION_KEY', neededBy: 'the app to decrypt stored platform credentials' },
]);

/** Where the app container finds Docker secrets. */
export const SECRETS_MOUNT = '/run/secrets';

/** The placeholder left where a URL password was; the entrypoint substitutes the secret file's value. */
export function secretPlaceholder(name: string): string {
  return `__FERRY_SECRET_${name.toUpperCase()}__`;
}

export const PLACEHOLDER = /__FERRY_SECRET_([A-Z0-9]+(?:_[A-Z0-9]+)*)__/gu;

/** The secret (and file) name for a variable: lower case, one underscore between words. */
export function secretName(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '') || 'secret';
}

const anyCache = new WeakMap<readonly string[], RegExp>();
const globCache = new WeakMap<readonly string[], RegExp>();

/** One anchored, case-insensitive regex for a list of regex sources (compiled once per list). */
function anyRegExp(patterns: readonly string[]): RegExp {
  let re = anyCache.get(patterns);
  if (!re) anyCache.set(patterns, (re = new RegExp(`^(?:${patterns.join('|') || '(?!)'})$`, 'iu')));
  return re;
}

/** True when `name` matches one of the anchored, case-insensitive regex sources. */
export function matchesAny(name: string, patterns: readonly string[]): boolean {
  return anyRegExp(patterns).test(name);
}

/** One regex for a list of globs (`*_TOKEN`), compiled once per list. */
export function globRegExp(globs: readonly string[]): RegExp {
  let re = globCache.get(globs);
  if (!re) {
    const alternatives = globs.map((g) => g.split('*').map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*'));
    globCache.set(globs, (re = new RegExp(`^(?:${alternatives.join('|') || '(?!)'})$`, 'u')));
  }
  return re;
}

/** Glob form (`*_TOKEN`) used by secret key lists. */
export function matchesGlob(name: string, globs: readonly string[]): boolean {
  return globRegExp(globs).test(name);
}
