/**
 * How ferry reaches a store's target service during the migration: the container port its engine
 * listens on, and the login — `target.url` when the config gives one, else the stack's own secret file
 * (`secrets/<service>_root_password.txt` for MySQL, `secrets/<service>_password.txt` for Redis and
 * PostgreSQL: Vedfolnir's `mysql_root_password` and `redis_password`) on 127.0.0.1:<migrationPort>.
 */
import type { ConfigStore } from '../config/schema.ts';

/** The port each engine's server listens on inside its container, unless `target.containerPort` says otherwise. */
export const DEFAULT_CONTAINER_PORTS: Readonly<Record<string, number>> = { mysql: 3306, redis: 6379, postgres: 5432 };

export function containerPortOf(store: ConfigStore): number | undefined {
  return store.target.containerPort ?? DEFAULT_CONTAINER_PORTS[store.engine];
}

/** The secret file name (under secrets/) holding the target's password; undefined when the config gives `target.url` or for files. */
export function targetSecretName(store: ConfigStore): string | undefined {
  if (store.target.url || store.engine === 'files') return undefined;
  return store.engine === 'mysql' ? `${store.target.service}_root_password` : `${store.target.service}_password`;
}

/** The target URL on 127.0.0.1:<migrationPort> with `password` (no database: PostgreSQL's defaults to the source's); for files the host path or `volume:<name>`. */
export function targetUrlOf(store: ConfigStore, password: () => string, port = store.target.migrationPort): string | undefined {
  if (store.target.url) return onRunPort(store.target.url, port);
  const pw = () => encodeURIComponent(password());
  switch (store.engine) {
    case 'mysql': return port ? `mysql://root:${pw()}@127.0.0.1:${port}` : undefined;
    case 'redis': return port ? `redis://:${pw()}@127.0.0.1:${port}` : undefined;
    case 'postgres': return port ? `postgres://postgres:${pw()}@127.0.0.1:${port}` : undefined;
    case 'files': return store.target.hostPath ?? (store.target.volume ? `volume:${store.target.volume}` : undefined);
  }
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * A `target.url` on the loopback names the login; ferry reaches the service at this run's port (the
 * migration port, a rehearsal's own, or verify's exec tunnel after cutover), not the one written in it.
 */
function onRunPort(url: string, port: number | undefined): string {
  if (port === undefined || url.startsWith('/')) return url;
  const u = new URL(url);
  if (!LOOPBACK.has(u.hostname) || u.port === String(port)) return url;
  u.port = String(port);
  return u.toString();
}
