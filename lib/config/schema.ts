/**
 * ferry's configuration: validated once at the boundary (zod), every error naming the field, the
 * offending value (masked when secret) and the expected form; the result frozen.
 * Sections are owned by the capability that reads them; steps map config → engine options.
 */
import { z } from 'zod';

const url = (schemes: string[]) =>
  z.string().min(1).refine((v) => schemes.some((s) => v.startsWith(`${s}://`)), {
    message: `expected a URL starting with ${schemes.map((s) => `${s}://`).join(' or ')}`,
  });

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

export const configSchema = z.object({
  source: z.object({
    mysql: mysqlSourceSchema.optional(),
    redis: redisSourceSchema.optional(),
  }).strict(),
  app: z.object({
    /** The app's python-dotenv file, rewritten for container networking. */
    envFile: z.string().min(1),
    /** Extra secret variable names (added to Vedfolnir's defaults). */
    secretKeys: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/)).default([]),
    /** Keep passwords inside URLs in place instead of moving them to secret files. */
    keepUrlPasswords: z.boolean().default(false),
  }).strict(),
  target: z.object({
    /** Directory holding docker-compose.yml (ferry's compose/ or a copy of it). */
    composeDir: z.string().min(1),
    /** Compose project name; always explicit against a real stack. */
    project: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'expected lowercase letters, digits, _ and -'),
    /** Extra compose files (overrides) relative to composeDir. */
    files: z.array(z.string()).default([]),
    /** Host ports (127.0.0.1 only) for migration-time access; chosen not to collide with Homebrew's. */
    migrationPorts: z.object({
      mysql: z.number().int().min(1).max(65535).default(33306),
      redis: z.number().int().min(1).max(65535).default(36379),
    }).strict().prefault({}),
    /** Data services started for the import, and the app services started at cutover. */
    dataServices: z.array(z.string()).default(['mysql', 'redis']),
    appServices: z.array(z.string()).default([]),
  }).strict(),
  mysql: z.object({
    /** DEFINER handling: rewrite to `definerAccount` (default) or strip. */
    definer: z.enum(['rewrite', 'strip']).default('rewrite'),
    definerAccount: z.string().default('`root`@`%`'),
    parallelism: z.number().int().min(1).max(16).default(2),
  }).strict().prefault({}),
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
  /** State directory (journal, artifacts, lock); default `.ferry/` beside the config file. */
  stateDir: z.string().min(1).optional(),
}).strict();

export type ConfigInput = z.input<typeof configSchema>;
export type Config = Readonly<z.output<typeof configSchema>> & { readonly stateDir: string };

/** Typed helper for `ferry.config.ts`. */
export function defineConfig(config: ConfigInput): ConfigInput {
  return config;
}
