/**
 * The typed context every ferry step receives as `ctx` (the frozen config comes separately as `config`).
 * `stores` binds each store of the app to its engine and its target (127.0.0.1:<migrationPort>, the
 * login from `target.url` or the stack's secret file, read on first use and registered with the
 * redactor), resolved once by the playbook: a step never parses URLs or reads secrets itself. `source`,
 * `target` and `services` are the preset's two endpoints, kept for library callers of the MySQL and
 * Redis helpers.
 */
import type { Redactor } from '../util/redact.ts';

// The endpoint and service vocabulary lives below the steps (engines, core); re-exported here for the steps.
import type { MysqlEndpoint } from '../engines/mysql/endpoint.ts';
import type { RedisEndpoint } from '../engines/redis/endpoint.ts';
import type { Engine, ServiceControl, ServiceHandle } from '../core/engine.ts';
import type { ConfigStore } from '../config/schema.ts';
export type { MysqlEndpoint, RedisEndpoint, ServiceControl };

/**
 * One store of the run as the steps reach it: the store, its engine (undefined while no engine of its
 * kind is registered: its steps then say "not available yet"), how ferry logs in to its target, and
 * control of the compose service that holds it.
 */
export interface StoreBinding {
  readonly store: ConfigStore;
  readonly engine: Engine | undefined;
  /** The target as ferry reaches it now (a URL, or for files a path); undefined before the stack's secrets exist. */
  targetUrl(): string | undefined;
  readonly service?: ServiceHandle | ServiceControl;
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
  /** The app's stores by id, in config order (the generated per-store steps read theirs here). */
  readonly stores?: ReadonlyMap<string, StoreBinding>;
  /**
   * From now on reach a store's target through a `docker exec` tunnel to its service (which publishes
   * no port any more): its binding's `targetUrl` then names the tunnel's 127.0.0.1 port. Idempotent.
   * Set by the migrate playbook.
   */
  readonly tunnels?: {
    open(storeId: string): Promise<void>;
    close(storeId: string): Promise<void>;
    /**
     * Inside the freeze (from the first catch-up to the first thaw; a rehearsal's to its report): start no
     * `docker exec` ahead, the connections take the spares started before (lib/playbooks/exec-tunnel.ts).
     */
    hold(): void;
    release(): void;
  };
}
