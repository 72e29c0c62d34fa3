/**
 * Validate a config once, at the boundary: zod schema, the preset expanded to stores, `${ENV_VAR}`
 * references in URLs resolved, paths made absolute against the config's directory, `stateDir`
 * defaulted to `<baseDir>/.ferry`, store options validated by their engines when given; the result
 * deep-frozen. Every error names the field, the offending value (masked when secret) and the expected form.
 */
import { isAbsolute, resolve } from 'node:path';
import { FerryError } from '../core/errors.ts';
import type { Engine, EngineKind } from '../core/engine.ts';
import { configSchema, type Config, type ConfigStore } from './schema.ts';
import { describeIssue } from './describe-issue.ts';
import { presetStores, usesPreset } from './preset.ts';
import { checkStores } from './check-stores.ts';

export type Env = Readonly<Record<string, string | undefined>>;

/** What the config needs of the engine registry: each kind's option validator. */
export type OptionParsers = Partial<Record<EngineKind, Pick<Engine, 'parseOptions'>>>;

export interface NormalizeOptions {
  /** Relative paths in the config are resolved against this directory (the config file's). */
  readonly baseDir: string;
  /** Where `${NAME}` references are looked up; default `process.env`. */
  readonly env?: Env;
  /** Shown in messages ("ferry.config.ts"); default "config". */
  readonly source?: string;
  /** The engines' option validators (lib/engines `engines`); a kind without one keeps its options as given. */
  readonly engines?: OptionParsers;
}

const REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export function normalizeConfig(input: unknown, opts: NormalizeOptions): Config {
  const where = opts.source ?? 'config';
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => describeIssue(i, input));
    throw configError(where, lines);
  }
  const c = parsed.data;
  const env = opts.env ?? process.env;
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(opts.baseDir, p));
  const preset = usesPreset(c);
  const declared: ConfigStore[] = [...presetStores(c, input), ...c.stores];
  const problems = [...checkStores(declared, c.stores.length), ...checkEnvFiles(c.app, abs)];
  if (problems.length) throw configError(where, problems);
  const stores = declared.map((s, i) => resolveStore(s, { where, env, abs, field: s.preset ? `source.${s.id}` : `stores[${i - (declared.length - c.stores.length)}]`, ...(opts.engines ? { engines: opts.engines } : {}) }));
  // Explicit lists win; else the preset keeps Vedfolnir's defaults and a stores config derives them.
  const raw = (input as { target?: Record<string, unknown> }).target ?? {};
  const appServices = c.app.appServices ?? (raw.appServices !== undefined || preset ? c.target.appServices : undefined);
  const dataServices = raw.dataServices !== undefined || !c.stores.length ? c.target.dataServices : [...new Set(stores.map((s) => s.target.service))];
  const config = {
    ...c,
    source: {
      ...(c.source.mysql ? { mysql: { ...c.source.mysql, url: resolveEnvRefs(c.source.mysql.url, env, `${where}: source.mysql.url`) } } : {}),
      ...(c.source.redis ? { redis: { ...c.source.redis, url: resolveEnvRefs(c.source.redis.url, env, `${where}: source.redis.url`) } } : {}),
    },
    stores,
    app: { ...c.app, envFile: abs(c.app.envFile), envFiles: c.app.envFiles.map(abs), envFileServices: Object.fromEntries(Object.entries(c.app.envFileServices).map(([f, s]) => [abs(f), s])), ...(appServices ? { appServices } : { appServices: undefined }) },
    target: { ...c.target, composeDir: abs(c.target.composeDir), dataServices, appServices: appServices ?? [] },
    stateDir: abs(c.stateDir ?? '.ferry'),
  };
  if (config.app.appServices === undefined) delete (config.app as { appServices?: unknown }).appServices;
  return deepFreeze(config) as Config;
}

function resolveStore(s: ConfigStore, o: { where: string; env: Env; abs: (p: string) => string; field: string; engines?: OptionParsers }): ConfigStore {
  const files = s.engine === 'files';
  const source = files ? o.abs(s.source) : resolveEnvRefs(s.source, o.env, `${o.where}: ${o.field}${s.preset ? '.url' : '.source'}`);
  const target = {
    ...s.target,
    ...(s.target.url ? { url: resolveEnvRefs(s.target.url, o.env, `${o.where}: ${o.field}.target.url`) } : {}),
    ...(s.target.hostPath ? { hostPath: o.abs(s.target.hostPath) } : {}),
  };
  const parser = o.engines?.[s.engine];
  const options = parser ? parser.parseOptions(s.options, s.id) as Readonly<Record<string, unknown>> : s.options;
  return { ...s, source, target, options };
}

/** The app's further env files: each once, not the main one, and `envFileServices` naming only files of `envFiles`. */
function checkEnvFiles(app: { envFile: string; envFiles: readonly string[]; envFileServices: Readonly<Record<string, readonly string[]>> }, abs: (p: string) => string): string[] {
  const out: string[] = [];
  const files = app.envFiles.map(abs);
  files.forEach((f, i) => {
    if (f === abs(app.envFile)) out.push(`app.envFiles[${i}]: got "${app.envFiles[i]}"; expected a file other than app.envFile (it is transformed already)`);
    else if (files.indexOf(f) < i) out.push(`app.envFiles[${i}]: got "${app.envFiles[i]}"; expected each file once (app.envFiles[${files.indexOf(f)}] names it too)`);
  });
  for (const key of Object.keys(app.envFileServices)) {
    if (!files.includes(abs(key))) out.push(`app.envFileServices: got "${key}"; expected one of app.envFiles (${app.envFiles.join(', ') || 'none'})`);
  }
  return out;
}

function configError(where: string, lines: readonly string[]): FerryError {
  const more = lines.length > 1 ? ` (and ${lines.length - 1} more)` : '';
  return new FerryError('E_CONFIG', `${where}: ${lines[0]}${more}`, {
    hint: `fix ${lines.length > 1 ? 'these fields' : 'this field'} in ${where}; the schema is lib/config/schema.ts`,
    detail: lines.join('\n'),
  });
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
