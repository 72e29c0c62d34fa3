/**
 * ferry's configuration: validated once at the boundary (zod), every error naming the field, the
 * offending value (masked when secret) and the expected form; the result frozen.
 *
 * An app is a set of stores: `stores: [{ id, engine, source, target: { service, … }, options }]`, the
 * app's env file(s) and the operator's compose project (`target`). Vedfolnir's keys (`source.mysql`,
 * `source.redis`, top-level `mysql` and `redis`) are a preset that expands to the stores `mysql` and
 * `redis` (lib/config/preset.ts). Store options are validated by the store's engine (`parseOptions`).
 */
import { z } from 'zod';
import type { Store, StoreTarget } from '../core/engine.ts';

const url = (schemes: string[]) =>
  z.string().min(1).refine((v) => schemes.some((s) => v.startsWith(`${s}://`)), {
    message: `expected a URL starting with ${schemes.map((s) => `${s}://`).join(' or ')}`,
  });

const port = z.number().int().min(1).max(65535);
const service = z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'expected a compose service name');

export const mysqlSourceSchema = z.object({
  /** mysql://user:password@host:port/db — the password may be a ${ENV_VAR} reference. */
  url: url(['mysql', 'mariadb']),
  /** Databases to move; default: the URL's database, else every non-system database. */
  databases: z.array(z.string().min(1)).optional(),
}).strict();

export const redisSourceSchema = z.object({
  /** redis://[user]:password@host:port — the password may be a ${ENV_VAR} reference. */
  url: url(['redis', 'rediss']),
  /** Logical databases to move; default: every database holding keys. */
  databases: z.array(z.number().int().min(0).max(15)).optional(),
}).strict();

/** The kinds of store ferry knows (lib/core/engine.ts `EngineKind`). */
export const ENGINE_KINDS = ['mysql', 'redis', 'postgres', 'files'] as const;

export const storeTargetSchema = z.object({
  /** The compose service that holds the store (the database server; for files, the service mounting it). */
  service,
  /** 127.0.0.1 port the service is published on during the migration (database engines). */
  migrationPort: port.optional(),
  /** The port the service listens on inside its container; default the engine's (3306, 6379, 5432). */
  containerPort: port.optional(),
  /** How ferry logs in to the target (`mysql://root:${PW}@127.0.0.1:33306`); default from the stack's secrets. */
  url: z.string().min(1).optional(),
  /** Files: a named volume of the compose project. */
  volume: z.string().min(1).optional(),
  /** Files: a host directory bind-mounted into the service. */
  hostPath: z.string().min(1).optional(),
  /** Files: the path inside the container. */
  containerPath: z.string().min(1).optional(),
}).strict();

export const storeSchema = z.object({
  /** Stable id (kebab-case): names steps (`export:<id>`), the artifact directory and report entries. */
  id: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'expected a kebab-case id (lowercase letters, digits and -)'),
  engine: z.enum(ENGINE_KINDS),
  /** A URL (`mysql://…`, `redis://…`, `postgres://…`) or, for files, a host directory. */
  source: z.string().min(1),
  target: storeTargetSchema,
  /** Engine-specific options, validated by the engine's `parseOptions`. */
  options: z.record(z.string(), z.unknown()).default({}),
}).strict();

export const configSchema = z.object({
  /** Preset (Vedfolnir): one MySQL and one Redis source, expanded to the stores `mysql` and `redis`. */
  source: z.object({
    mysql: mysqlSourceSchema.optional(),
    redis: redisSourceSchema.optional(),
  }).strict().default({}),
  stores: z.array(storeSchema).default([]),
  app: z.object({
    /** The app's python-dotenv file, rewritten for container networking. */
    envFile: z.string().min(1),
    /** More env files of the app, each rewritten like `envFile` into its own `app.<name>.env` (secrets split, backed up, restored by rollback). */
    envFiles: z.array(z.string().min(1)).default([]),
    /**
     * Which compose services load each of `envFiles` (its path as in `envFiles` → services); default: the
     * services whose `env_file:` names the file in the stack's compose files, else the app's services.
     */
    envFileServices: z.record(z.string().min(1), z.array(service)).default({}),
    /** The app's compose services (started at cutover); default: the compose file's services that hold no store. */
    appServices: z.array(service).optional(),
    /** Extra secret variable names, `*` matching any run (`*_WEBHOOK`), added to Vedfolnir's defaults. */
    secretKeys: z.array(z.string().regex(/^[A-Za-z_*][A-Za-z0-9_*]*$/)).default([]),
    /** Keep passwords inside URLs in place instead of moving them to secret files. */
    keepUrlPasswords: z.boolean().default(false),
    /** Host directory → container directory of a volume holding the app's files (absolute paths in the env follow it). */
    pathMappings: z.record(z.string().regex(/^\//, 'expected an absolute host path'), z.string().regex(/^\//, 'expected an absolute container path')).default({}),
    /** More keys (anchored regexes) holding the app's own listen address, set to 0.0.0.0 in the container. */
    bindKeys: z.array(z.string().min(1)).default([]),
    /** `uid:gid` the app container runs as (compose `user:`): its secret files are owned by it, mode 0600. */
    containerUser: z.string().regex(/^\d+:\d+$/, 'expected uid:gid').default('10001:10001'),
  }).strict(),
  target: z.object({
    /** Directory holding docker-compose.yml (the operator's compose project). */
    composeDir: z.string().min(1),
    /** Compose project name; always explicit against a real stack. */
    project: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'expected lowercase letters, digits, _ and -'),
    /** Extra compose files (overrides) relative to composeDir. */
    files: z.array(z.string()).default([]),
    /** Preset: host ports (127.0.0.1 only) for the `mysql` and `redis` stores during the migration. */
    migrationPorts: z.object({
      mysql: port.default(33306),
      redis: port.default(36379),
    }).strict().prefault({}),
    /** Data services started for the import; default: the stores' services (the preset: mysql and redis). */
    dataServices: z.array(service).default(['mysql', 'redis']),
    /** The app's services started at cutover (also spelled `app.appServices`); normalizeConfig fills it. */
    appServices: z.array(service).default([]),
  }).strict(),
  /** Preset: options of the `mysql` store. */
  mysql: z.object({
    /** DEFINER handling (lib/engines/mysql/options.ts): keep (default), rewrite to `definerAccount`, or strip. */
    definer: z.enum(['keep', 'rewrite', 'strip']).default('keep'),
    definerAccount: z.string().min(1).optional(),
    /** App accounts to carry besides the DEFINERs (`passwordFile`: for a target lacking the account's plugin). */
    accounts: z.array(z.object({ user: z.string().min(1), host: z.string().min(1).optional(), passwordFile: z.string().min(1).optional() }).strict()).default([]),
    parallelism: z.number().int().min(1).max(16).default(2),
  }).strict().prefault({}),
  /** Preset: options of the `redis` store. */
  redis: z.object({
    /** Copy path: chosen automatically, or forced. */
    path: z.enum(['auto', 'physical', 'dump', 'rewrite']).default('auto'),
    /** Flask-Session's prefix by default. */
    sessionPrefix: z.string().default('session:'),
    /** Replace keys a non-empty target already holds (refused otherwise). */
    replace: z.boolean().default(false),
    ttlToleranceMs: z.number().int().min(0).default(2000),
  }).strict().prefault({}),
  freeze: z.object({
    /** Commands that stop the app's writers on the host (e.g. `brew services stop vedfolnir`). */
    stopWriters: z.array(z.string()).default([]),
    /** Commands that start them again (rollback, failure). */
    startWriters: z.array(z.string()).default([]),
    /** Seconds the source must stay quiet before the final export. */
    quietSeconds: z.number().int().min(0).default(3),
  }).strict().prefault({}),
  /**
   * migrate's cutover: `follow` makes every store whose engine can follow a live follower of the source,
   * so the freeze only waits for the last changes; `freeze-copy` copies every store inside the freeze;
   * `auto` follows the stores that say how the stack reaches their source (`options.followFrom`).
   * `budgetSeconds`: the longest catch-up inside the freeze before it is lifted (the app stays on the host).
   */
  cutover: z.object({
    mode: z.enum(['auto', 'follow', 'freeze-copy']).default('auto'),
    budgetSeconds: z.number().positive().max(3600).default(30),
  }).strict().prefault({}),
  /** State directory (journal, artifacts, lock); default `.ferry/` beside the config file. */
  stateDir: z.string().min(1).optional(),
}).strict();

export type ConfigInput = z.input<typeof configSchema>;

/** Where a store lands, as ferry reaches it. */
export interface ConfigStoreTarget extends StoreTarget {
  readonly containerPort?: number;
  /** Login to the target during the migration; default from the stack's secret files (preset services). */
  readonly url?: string;
}

/** A store as the normalized config holds it: `${ENV}` references resolved, paths absolute. */
export interface ConfigStore extends Store {
  readonly target: ConfigStoreTarget;
  /** True for the stores the Vedfolnir preset expanded (`source.mysql`, `source.redis`). */
  readonly preset?: boolean;
}

type Parsed = z.output<typeof configSchema>;

export type Config = Readonly<Omit<Parsed, 'stores'>> & {
  /** Every store of the app: the preset's first, then `stores`. */
  readonly stores: readonly ConfigStore[];
  readonly stateDir: string;
};

/** Typed helper for `ferry.config.ts`. */
export function defineConfig(config: ConfigInput): ConfigInput {
  return config;
}
