/**
 * The stack as ferry's steps drive it: the base file, the configured overrides, and (during the
 * migration) the generated access override. Also the checks the steps share.
 */
import { exec as runCommand } from '../util/exec.ts';
import { apiNetworkIds, apiRemoveNetwork } from '../util/docker-api.ts';
import { createComposeClient, type ComposeClient } from './client.ts';
import { MIGRATION_LABEL, MIGRATION_OVERRIDE_FILE } from './migration-access.ts';
import { projectSnapshot } from './snapshot.ts';
import type { Redactor } from '../util/redact.ts';

export interface StackOptions {
  readonly composeDir: string;
  readonly project: string;
  /** Overrides from config.target.files. */
  readonly files?: readonly string[];
  /** Include the migration-time access override. */
  readonly migrationAccess: boolean;
  readonly redactor?: Redactor;
  /** Variables for compose's interpolation (e.g. VEDFOLNIR_ENV_FILE), added to the inherited environment. */
  readonly env?: Readonly<Record<string, string>>;
}

export function stackFiles(o: Pick<StackOptions, 'files' | 'migrationAccess'>): string[] {
  return ['docker-compose.yml', ...(o.files ?? []), ...(o.migrationAccess ? [MIGRATION_OVERRIDE_FILE] : [])];
}

export function createStackClient(o: StackOptions): Promise<ComposeClient> {
  return createComposeClient({
    composeDir: o.composeDir, project: o.project, files: stackFiles(o), ...(o.redactor ? { redactor: o.redactor } : {}),
    ...(o.env ? { env: o.env } : {}),
  });
}

export interface ContainerAccess {
  readonly service: string;
  /** `ip:port` bindings published on the host. */
  readonly published: readonly string[];
  /** Created with the migration override. */
  readonly migrationAccess: boolean;
}

/** What each container of `services` publishes, and whether it carries the migration label (one snapshot of the project). */
export async function containerAccess(client: ComposeClient, services: readonly string[]): Promise<ContainerAccess[]> {
  return (await projectSnapshot(client.project)).access(services);
}

/**
 * Remove the migration network: once the services are recreated without the override, `down` no
 * longer knows it (it is defined only there).
 */
export async function removeMigrationNetwork(client: ComposeClient): Promise<string[]> {
  const ids = await migrationNetworks(client);
  const left = (await Promise.all(ids.map(async (id) => ((await apiRemoveNetwork(id)) ? undefined : id)))).filter((x) => x !== undefined);
  if (left.length) await runCommand('docker', ['network', 'rm', ...left]);
  return ids;
}

/** Ids of the project's migration networks (empty once cutover is complete). */
export async function migrationNetworks(client: ComposeClient): Promise<string[]> {
  const labels = [`com.docker.compose.project=${client.project}`, `${MIGRATION_LABEL}=1`];
  const api = await apiNetworkIds(labels);
  if (api) return api;
  const ls = await runCommand('docker', ['network', 'ls', '-q', ...labels.flatMap((l) => ['--filter', `label=${l}`])]);
  return ls.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
}
