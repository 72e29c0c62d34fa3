/**
 * Migration-time access to the stack's data services: a temporary compose override that publishes each
 * store's service on 127.0.0.1 only, on its `migrationPort` (chosen not to collide with the host's own
 * services: Homebrew's MySQL holds 3306), and starts a MySQL service with the settings the import
 * needs. Cutover recreates the services without it. Rendered as JSON, which every YAML reader accepts.
 */
import { join } from 'node:path';

export const MIGRATION_OVERRIDE_FILE = 'docker-compose.ferry-migration.yml';
/** The label that marks containers created with the override (cutover verifies it is gone). */
export const MIGRATION_LABEL = 'ferry.migration-access';
const NETWORK = 'ferry-migration';

/** Settings applied to mysql for the import only. */
export interface MysqlImportSettings {
  /** `LOAD DATA LOCAL INFILE` for the bulk import (MySQL 8 ships with it off). */
  readonly localInfile: boolean;
  /** The source's server character set and collation, so unqualified DDL matches the export. */
  readonly characterSet: string;
  readonly collation?: string;
}

export interface MigrationAccess {
  readonly ports: { readonly mysql: number; readonly redis: number };
  readonly mysql: MysqlImportSettings;
  /** Service names in the compose file. */
  readonly services?: { readonly mysql: string; readonly redis: string };
}

export function migrationOverridePath(composeDir: string): string {
  return join(composeDir, MIGRATION_OVERRIDE_FILE);
}

/** The mysqld flags for `settings`, in a stable order. */
export function mysqlImportFlags(settings: MysqlImportSettings): string[] {
  return [
    `--local-infile=${settings.localInfile ? 1 : 0}`,
    `--character-set-server=${settings.characterSet}`,
    ...(settings.collation ? [`--collation-server=${settings.collation}`] : []),
  ];
}

/** One store's service as the migration override publishes it. */
export interface PublishedService {
  /** The compose service that holds the store. */
  readonly service: string;
  /** The 127.0.0.1 port ferry reaches it on (the store's `migrationPort`). */
  readonly hostPort: number;
  /** The port the service listens on inside its container. */
  readonly containerPort: number;
  /** A command for the migration only (mysqld's import settings). */
  readonly command?: readonly string[];
}

/** Each store's service published on 127.0.0.1:<migrationPort> only, labelled, on the migration network. */
export function renderServicesOverride(services: readonly PublishedService[]): string {
  for (const s of services) {
    for (const [what, port] of [['migration port', s.hostPort], ['container port', s.containerPort]] as const) {
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new TypeError(`Expected the ${what} for \`${s.service}\` to be an integer in 1..65535, got \`${port}\``);
      }
    }
  }
  const marked = { labels: { [MIGRATION_LABEL]: '1' }, networks: { [NETWORK]: {} } };
  const doc = {
    services: Object.fromEntries(services.map((s) => [s.service, {
      ...marked, ports: [`127.0.0.1:${s.hostPort}:${s.containerPort}`], ...(s.command ? { command: [...s.command] } : {}),
    }])),
    // The stack's own networks are internal (no published ports); this one reaches the host.
    networks: { [NETWORK]: { driver: 'bridge', labels: { [MIGRATION_LABEL]: '1' } } },
  };
  return `# Written by ferry for the migration; removed at cutover. Do not edit.\n${JSON.stringify(doc, null, 2)}\n`;
}

interface OverrideDoc { services: Record<string, unknown>; networks?: Record<string, unknown> }

/** The JSON document of an override `renderServicesOverride` wrote (its comment lines left out). */
function parseOverride(text: string): OverrideDoc {
  const doc = JSON.parse(text.split('\n').filter((l) => !l.startsWith('#')).join('\n')) as OverrideDoc;
  return { ...doc, services: doc.services ?? {} };
}

/** The services an override written by `renderServicesOverride` publishes (empty for an absent or empty file). */
export function overrideServices(text: string): string[] {
  if (!text.trim()) return [];
  return Object.entries(parseOverride(text).services).filter(([, v]) => Object.keys((v ?? {}) as object).length > 0).map(([k]) => k);
}

/**
 * The override with `service`'s entry emptied (its entry returned, to put back), in the same rendering.
 * Emptied, not removed: `mysql: {}` adds nothing to the service, and an override left with `services: {}`
 * is read by docker-compose v1 as a version 1 file it refuses to merge.
 */
export function overrideWithout(text: string, service: string): { text: string; entry: unknown } {
  const doc = parseOverride(text);
  const entry = doc.services[service];
  return { text: renderOverrideDoc({ ...doc, services: { ...doc.services, [service]: {} } }), entry };
}

/** The override with `service`'s entry (put back by an undo). */
export function overrideWith(text: string, service: string, entry: unknown): string {
  const doc = text.trim() ? parseOverride(text) : { services: {} };
  return renderOverrideDoc({ ...doc, services: { ...doc.services, [service]: entry } });
}

const renderOverrideDoc = (doc: OverrideDoc) => `# Written by ferry for the migration; removed at cutover. Do not edit.\n${JSON.stringify(doc, null, 2)}\n`;

/** Vedfolnir's two services (the preset's stores), as before stores. */
export function renderMigrationOverride(access: MigrationAccess): string {
  const { mysql = 'mysql', redis = 'redis' } = access.services ?? {};
  for (const [name, port] of Object.entries(access.ports)) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new TypeError(`Expected the migration port for \`${name}\` to be an integer in 1..65535, got \`${port}\``);
    }
  }
  return renderServicesOverride([
    { service: mysql, hostPort: access.ports.mysql, containerPort: 3306, command: ['mysqld', ...mysqlImportFlags(access.mysql)] },
    { service: redis, hostPort: access.ports.redis, containerPort: 6379 },
  ]);
}

/**
 * lower_case_table_names for the target, from the source's. Linux servers accept 0 or 1 only; a Mac
 * source (2: stored as given, compared in lowercase) maps to 1, the only Linux value that keeps its
 * case-insensitive lookups working.
 */
export function targetLowerCaseTableNames(source: number): 0 | 1 {
  if (source === 0) return 0;
  if (source === 1 || source === 2) return 1;
  throw new TypeError(`Expected lower_case_table_names to be 0, 1 or 2, got \`${source}\``);
}

/** Where the setting lives: it must stay for the data dir's life (MySQL 8 refuses to start otherwise). */
export const LOWER_CASE_CNF = join('config', 'mysql', 'conf.d', 'ferry-lower-case-table-names.cnf');

export function renderLowerCaseCnf(value: 0 | 1): string {
  return `# Written by ferry to match the source. MySQL 8 fixes lower_case_table_names when the data\n`
    + `# directory is initialised: keep this file as long as data/mysql exists.\n[mysqld]\nlower_case_table_names = ${value}\n`;
}
