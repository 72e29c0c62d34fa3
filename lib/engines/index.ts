/**
 * The engine registry: one engine object per kind of store (lib/core/engine.ts), keyed by kind. Steps,
 * preflight and the report look engines up here; an engine that is not registered yet (postgres,
 * files) makes its stores' phases "not available yet" instead of failing the plan.
 */
import type { Engine, EngineKind } from '../core/engine.ts';
import { FerryError } from '../core/errors.ts';
import { mysqlEngine } from './mysql/engine.ts';
import { redisEngine } from './redis/engine.ts';
import { filesEngine } from './files/engine.ts';
import { postgresEngine } from './postgres/engine.ts';

/** An engine of any options and facts (each engine's own types stay inside its folder). */
export type AnyEngine = Readonly<Engine<any, any>>;

export const engines: Readonly<Partial<Record<EngineKind, AnyEngine>>> = Object.freeze({
  mysql: mysqlEngine,
  redis: redisEngine,
  postgres: postgresEngine,
  files: filesEngine,
});

/** The engine for `kind`, or a FerryError saying it is not available yet. */
export function engineFor(kind: EngineKind, storeId?: string): AnyEngine {
  const e = engines[kind];
  if (!e) {
    throw new FerryError('E_ENGINE_UNAVAILABLE', `${storeId ? `store ${storeId}: ` : ''}the ${kind} engine is not available yet`, {
      hint: `remove the ${kind} store from the config for now, or move it by hand; registered engines: ${Object.keys(engines).join(', ')}`,
    });
  }
  return e;
}

export { mysqlEngine, redisEngine };
export type { MysqlEngineFacts } from './mysql/engine.ts';
export type { RedisEngineFacts } from './redis/engine.ts';
export type { MysqlOptions } from './mysql/options.ts';
export type { RedisOptions } from './redis/options.ts';
