/** lib/compose: drive the target stack through docker compose v2 or docker-compose v1. */
export { composeContainers, type ComposeContainersQuery } from './containers.ts';
export { composeServiceImages, parseServiceImages } from './images.ts';
export { detectCompose, availableComposes, type ComposeCli, type ComposeKind } from './detect.ts';
export { createComposeClient, type ComposeClient, type ComposeClientOptions, type ExecOptions, type DownOptions } from './client.ts';
export { exec as runCommand, type ExecResult as CommandResult, type ExecOptions as RunCommandOptions } from '../util/exec.ts';
export { serviceHealth, waitHealthy, DEFAULT_HEALTH_TIMEOUT_MS, type ServiceHealth, type WaitHealthyOptions } from './health.ts';
export {
  MIGRATION_OVERRIDE_FILE, MIGRATION_LABEL, LOWER_CASE_CNF, migrationOverridePath, mysqlImportFlags, renderMigrationOverride,
  targetLowerCaseTableNames, renderLowerCaseCnf, type MigrationAccess, type MysqlImportSettings,
} from './migration-access.ts';
export { readMysqlSettings, type MysqlServerSettings } from './mysql-settings.ts';
export { LAYOUT_DIRS, DATA_SECRETS, prepareLayout, generatePassword, secretPath, type LayoutResult } from './layout.ts';
export { targetEndpoints, readSecret, type TargetEndpointsConfig } from './endpoints.ts';
export { composeServiceControl, DATA_DIRS } from './service-control.ts';
export { createStackClient, stackFiles, containerAccess, removeMigrationNetwork, migrationNetworks, type StackOptions, type ContainerAccess } from './stack.ts';
