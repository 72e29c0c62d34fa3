/**
 * Validate a config once, at the boundary: zod schema, `${ENV_VAR}` references in URLs resolved, paths
 * made absolute against the config's directory, `stateDir` defaulted to `<baseDir>/.ferry`; the result
 * deep-frozen. Every error names the field, the offending value (masked when secret) and the expected form.
 */
import { isAbsolute, resolve } from 'node:path';
import { FerryError } from '../core/errors.ts';
import { configSchema, type Config } from './schema.ts';
import { describeIssue } from './describe-issue.ts';

export type Env = Readonly<Record<string, string | undefined>>;

export interface NormalizeOptions {
  /** Relative paths in the config are resolved against this directory (the config file's). */
  readonly baseDir: string;
  /** Where `${NAME}` references are looked up; default `process.env`. */
  readonly env?: Env;
  /** Shown in messages ("ferry.config.ts"); default "config". */
  readonly source?: string;
}

const REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export function normalizeConfig(input: unknown, opts: NormalizeOptions): Config {
  const where = opts.source ?? 'config';
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => describeIssue(i, input));
    const more = lines.length > 1 ? ` (and ${lines.length - 1} more)` : '';
    throw new FerryError('E_CONFIG', `${where}: ${lines[0]}${more}`, {
      hint: `fix ${lines.length > 1 ? 'these fields' : 'this field'} in ${where}; the schema is lib/config/schema.ts`,
      detail: lines.join('\n'),
    });
  }
  const c = parsed.data;
  const env = opts.env ?? process.env;
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(opts.baseDir, p));
  const config = {
    ...c,
    source: {
      ...(c.source.mysql ? { mysql: { ...c.source.mysql, url: resolveEnvRefs(c.source.mysql.url, env, `${where}: source.mysql.url`) } } : {}),
      ...(c.source.redis ? { redis: { ...c.source.redis, url: resolveEnvRefs(c.source.redis.url, env, `${where}: source.redis.url`) } } : {}),
    },
    app: { ...c.app, envFile: abs(c.app.envFile) },
    target: { ...c.target, composeDir: abs(c.target.composeDir) },
    stateDir: abs(c.stateDir ?? '.ferry'),
  };
  return deepFreeze(config) as Config;
}

/** Replace `${NAME}` with the URL-encoded `env[NAME]`; a missing variable is an error naming it and the field. */
export function resolveEnvRefs(text: string, env: Env, field: string): string {
  return text.replace(REF, (_m, name: string) => {
    const value = env[name];
    if (value === undefined) {
      throw new FerryError('E_CONFIG_ENV', `${field} refers to \${${name}}, which is not set in the environment`, {
        hint: `export ${name}=… before running ferry (the value never appears in argv, logs or reports)`,
      });
    }
    return encodeURIComponent(value);
  });
}

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
