/** Moved to the engines (issue 17); re-exported here until the preflight callers import them there. */
export { parseVersion, compareVersions, rdbVersionOf, type Semver } from '../engines/redis/versions.ts';
export { mysqlFlavorOf } from '../engines/mysql/facts.ts';
