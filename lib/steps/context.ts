/**
 * The typed context every ferry step receives as `ctx` (the frozen config comes separately as `config`).
 * Endpoints are resolved once by the playbook (passwords from ${ENV} references, target ports from
 * `config.target.migrationPorts`, target passwords from the stack's secret files) and registered with
 * the redactor before any step runs, so a step never parses URLs or reads secrets itself.
 */
import type { Redactor } from '../util/redact.ts';

export interface MysqlEndpoint {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** Databases to move (source) / to create (target). */
  readonly databases: readonly string[];
}

export interface RedisEndpoint {
  readonly host: string;
  readonly port: number;
  readonly username?: string;
  readonly password?: string;
  /** Logical databases to move (source); empty means every database holding keys. */
  readonly databases: readonly number[];
}

/**
 * Control of one of the stack's data services, for work that must happen while it is stopped (placing
 * an RDB file in Redis's data directory before it starts). Provided by the playbook from lib/compose;
 * e2e tests provide one over a Testcontainers container with a bind mount.
 */
export interface ServiceControl {
  /** Host path of the service's data directory (the bind mount behind /data or /var/lib/mysql). */
  readonly dataDir: string;
  stop(): Promise<void>;
  /** Start and wait until healthy. */
  start(): Promise<void>;
}

export type PlaybookMode = 'migrate' | 'rehearse' | 'verify' | 'rollback';

export interface FerryContext {
  readonly mode: PlaybookMode;
  readonly redactor: Redactor;
  /** The host's services, reached by URL. */
  readonly source: { readonly mysql?: MysqlEndpoint; readonly redis?: RedisEndpoint };
  /** The stack's data services as ferry reaches them during the migration (127.0.0.1, migration ports). */
  readonly target: { readonly mysql?: MysqlEndpoint; readonly redis?: RedisEndpoint };
  /** Control of the target's data services (stop/start around physical restores). */
  readonly services: { readonly mysql?: ServiceControl; readonly redis?: ServiceControl };
  /** Where exports (the rollback backup) live: `<stateDir>/artifacts`. */
  readonly artifactsDir: string;
  /** Compose project in use (the real one, or the rehearsal's throwaway one). */
  readonly project: string;
  readonly composeDir: string;
  /** Directory holding the .env and the secrets/ folder written by the env step (rehearsals: a scratch copy). */
  readonly appDir: string;
}
