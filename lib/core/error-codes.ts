/**
 * Every code a FerryError may carry, with what it means: the registry `FerryError` is typed against.
 * A new failure gets a line here (grouped by where it arises); a code is never reused for another
 * meaning. Codes are stable: automation and the runbook key on them.
 */
export const ERROR_CODES = {
  // The run itself (runner, journal, lock, CLI)
  E_CANCELLED: 'the run (or one step) was stopped by Ctrl-C, SIGTERM or an abort signal; the journal is intact and the same command resumes',
  E_STEP_FAILED: 'a step threw something that was not a FerryError; its message is kept, the step is not recorded',
  E_PLAN_FAILED: 'a dry run could not plan a step (nothing was changed)',
  E_VERIFY_FAILED: 'a step ran but its verify could not prove the effect; the step is not recorded',
  E_UNDO_FAILED: 'undoing a step (after a failure, or a rehearsal) failed; its effect may still be in place',
  E_UNEXPECTED: 'an error ferry did not expect; keep the --json output for a bug report',
  E_USAGE: 'the command line is wrong (unknown flag, missing value, a flag this playbook lacks)',
  E_RESTART_UNKNOWN: '--restart-from names a step the playbook does not have',
  E_SOURCE_CHANGED: 'the source changed since a recorded export: resuming would import stale data; --restart-from the export',
  E_JOURNAL_READ: 'the journal file cannot be read (permissions)',
  E_JOURNAL_WRITE: 'the journal file cannot be moved aside (a finished rollback resetting the migrate journal): permissions',
  E_JOURNAL_CORRUPT: 'the journal file is not valid JSON (edited by hand or by something else)',
  E_JOURNAL_VERSION: 'the journal was written by another ferry version',
  E_JOURNAL_MISMATCH: 'the journal names steps the playbook does not have (a step renamed or removed since)',
  E_STATE_LEGACY: 'the state directory was written before stores existed and cannot be resumed by this version',
  E_LOCKED: 'another live run (or another host) holds the state directory\'s run lock',
  E_LOCK_IO: 'the run lock cannot be created (the state directory is not writable)',

  // Shell-outs and waits (lib/util)
  E_SECRET_IN_ARGV: 'a known secret was about to be put in a child process\'s argv (a ferry bug): refused before running',
  E_WAIT_TIMEOUT: 'something awaited did not become ready within its budget',

  // Configuration
  E_CONFIG: 'a config field is invalid (its path, the masked value and the expected form are named)',
  E_CONFIG_ENV: 'the config refers to ${NAME}, which is not set in the environment',
  E_CONFIG_LOAD: 'the config file cannot be loaded (a .ts that throws, or unreadable)',
  E_CONFIG_MISSING: 'no config file where it was looked for',
  E_CONFIG_SYNTAX: 'the config file is not valid JSON',
  E_CONFIG_URL: 'a source or target URL in the config cannot be parsed',
  E_ENGINE_UNAVAILABLE: 'a store names an engine that is not registered yet',

  // Preflight, freeze, quiet proof, rollback's source check
  E_PREFLIGHT_BLOCKED: 'preflight found blockers: nothing was changed',
  E_DISK_SPACE: 'not enough free disk for an export or copy',
  E_FREEZE_COMMAND: 'a freeze.stopWriters / startWriters command exited non-zero',
  E_SOURCE_NOT_QUIET: 'the source kept changing after the freeze: a writer still runs',
  E_NO_SNAPSHOT: 'rollback found no source fingerprint from the freeze to compare with',
  E_SOURCE_DIVERGED: 'integrity: the source differs from its fingerprint at the freeze (written to after the migration)',

  // .env and the app container's environment
  E_ENV_PARSE: 'the .env file has a statement python-dotenv would not parse',
  E_ENV_ENCODING: 'the .env file is not valid UTF-8',
  E_ENV_MISSING: 'the app\'s .env cannot be read',
  E_ENV_INVALID: 'the app container\'s env derived from .env is not usable',
  E_ENV_SECRET_PLACE: 'a secret in .env cannot be placed in a secret file',
  E_ENV_SECRET_CONFLICT: 'a secret file already exists with a different value',
  E_ENV_SECRET_OWNER: 'a secret file cannot be given to the app container\'s user',
  E_ENV_BACKUP_CORRUPT: 'integrity: the .env backup is missing or does not match its checksum',
  E_ENV_RESTORE: 'integrity: the restored .env does not match the backup\'s checksum',

  // Compose target
  E_COMPOSE: 'a docker compose command failed for the target project',
  E_COMPOSE_MISSING: 'neither docker compose (v2) nor docker-compose (v1) is installed',
  E_COMPOSE_NO_CONTAINER: 'a compose service has no container',
  E_COMPOSE_UNHEALTHY: 'a compose service exited or did not become healthy within its budget',
  E_COMPOSE_SECRET: 'a secret file of the stack cannot be read',
  E_COMPOSE_MYSQL: 'the stack\'s MySQL settings cannot be read inside its container',
  E_MYSQL_SETTINGS: 'the target MySQL\'s server settings cannot be read',
  E_LOWER_CASE_TABLE_NAMES: 'source and target disagree on lower_case_table_names and the target\'s data directory is already initialised',
  E_TUNNEL: 'the docker exec tunnel to a service could not be opened',

  // MySQL engine
  E_MYSQL_CONNECT: 'cannot connect to a MySQL server',
  E_MYSQL_UNREACHABLE: 'a MySQL server does not answer on its host:port',
  E_MYSQL_AUTH: 'a MySQL server refused the user or password',
  E_MYSQL_PRIVILEGE: 'the MySQL account lacks a privilege the step needs',
  E_MYSQL_UNSUPPORTED: 'the source uses something ferry cannot carry (a storage engine…)',
  E_MYSQL_DISK: 'not enough disk for the MySQL export',
  E_MYSQL_ARTIFACT: 'the MySQL export is missing or damaged',
  E_MYSQL_EXPORT: 'integrity: a table streamed a different number of rows than its snapshot counts',
  E_MYSQL_LOAD: 'loading a chunk into the target failed',
  E_MYSQL_LOAD_CHANGED: 'integrity: a loaded chunk does not match its checksum or row count (values changed on the way)',
  E_MYSQL_KEYS: 'a deferred index or foreign key cannot be added on the target',
  E_MYSQL_VERIFY: 'integrity: the MySQL target differs from the export (or the host from the stack after a reverse copy)',
  E_MYSQL_OBJECT: 'a view, routine, trigger or event cannot be created on the target',
  E_MYSQL_ACCOUNT: 'an account cannot be created on the target',
  E_FOLLOW_REFUSED: 'the store\'s target cannot follow its source; copy it inside the freeze instead',
  E_REHEARSAL_CLEANUP: 'a rehearsal could not stop following and remove its replication objects from the source (its stack is kept for the next rehearse to retry)',
  E_MYSQL_FOLLOW_PREREQ: 'the source cannot be followed (binlog format, GTIDs, privileges)',
  E_MYSQL_FOLLOW_UNREACHABLE: 'the target cannot reach or log in to the source to replicate',
  E_MYSQL_FOLLOW_TARGET_BUSY: 'the target already replicates from another source',
  E_MYSQL_FOLLOW_BROKEN: 'replication into the target stopped with an error',
  E_MYSQL_FOLLOW_LOST: 'the target no longer replicates (reset or recreated while following)',
  E_MYSQL_FOLLOW_ABORTED: 'following was aborted; abort again or start over',
  E_MYSQL_FOLLOW_ACCOUNT: 'the replication account cannot be dropped',
  E_MYSQL_PROMOTE_LAG: 'promote refused: the target is behind the source',
  E_MYSQL_PIN: 'a consistent point shared by a following target and its source cannot be pinned (to verify while following)',

  // Redis engine
  E_REDIS_CONNECT: 'cannot connect to a Redis server',
  E_REDIS_AUTH: 'a Redis server refused the credentials',
  E_REDIS_PERMISSION: 'the Redis account lacks a command the step needs',
  E_REDIS_CONFIG: 'the run has no Redis endpoint where one is needed',
  E_REDIS_PATH: 'the chosen Redis copy path cannot be used here',
  E_REDIS_READ: 'reading keys from the source failed',
  E_REDIS_TYPE: 'a key has a type ferry cannot rewrite',
  E_REDIS_RESTORE: 'RESTORE of a key failed on the target',
  E_REDIS_RESTORE_FORMAT: 'the target rejected a DUMP payload (RDB version)',
  E_REDIS_TARGET_NOT_EMPTY: 'the target Redis already holds keys ferry did not write',
  E_REDIS_TARGET_KEY_EXISTS: 'the target already holds a key ferry did not write',
  E_REDIS_TARGET_AOF: 'the target has appendonly on: it would load its AOF, not the RDB',
  E_REDIS_RDB_FETCH: 'fetching the RDB over replication failed',
  E_REDIS_RDB_NOT_LOADED: 'integrity: the target started empty after its RDB was placed',
  E_REDIS_PLACE_RDB: 'the RDB file cannot be written into the target\'s data directory',
  E_REDIS_MODULE_MISSING: 'the target lacks a module the source\'s keys need',
  E_REDIS_AOF: 'the target\'s append-only file is not healthy after following',
  E_REDIS_FOLLOW_UNREACHABLE: 'the target cannot reach or log in to the source to replicate',
  E_REDIS_FOLLOW_TARGET_BUSY: 'the target already replicates from another source',
  E_REDIS_FOLLOW_LOST: 'the target no longer replicates',
  E_REDIS_FOLLOW_ABORTED: 'an abort of following did not finish',
  E_REDIS_FOLLOW_LAG: 'the follower did not reach the pinned replication offset in time',
  E_REDIS_PROMOTE_LAG: 'promote refused: the target is behind the source',
  E_FOLLOW_BUDGET: 'the target did not catch up with the source within the budget',

  // PostgreSQL engine
  E_PG_URL: 'a postgres URL cannot be parsed',
  E_PG_CONNECT: 'cannot connect to a PostgreSQL server',
  E_PG_UNREACHABLE: 'a PostgreSQL server does not answer on its host:port',
  E_PG_AUTH: 'a PostgreSQL server refused the user (password or pg_hba.conf)',
  E_PG_NO_DATABASE: 'the PostgreSQL database does not exist',
  E_PG_PRIVILEGE: 'the PostgreSQL user lacks a privilege the step needs',
  E_PG_DUMP: 'pg_dump failed',
  E_PG_DUMP_VERSION: 'no pg_dump able to dump this source\'s major version',
  E_PG_SCHEMA: 'the schema failed on the target',
  E_PG_TARGET_EXISTS: 'the target already holds the database',
  E_PG_ARTIFACT: 'integrity: an export file does not match its sha256 in the manifest',
  E_PG_EXPORT: 'integrity: COPY streamed a different number of rows than the snapshot counts',
  E_PG_IMPORT: 'the import into the target could not go on: a chunk loaded a different number of rows than the manifest lists (integrity), a lost session (re-run resumes) or a resume refused before any change (the message says what to do)',
  E_PG_VERIFY: 'integrity: the host PostgreSQL differs from the stack\'s data after a reverse copy',
  E_PG_FOLLOW_ACTIVE: 'the target already follows the source: a new export would not match it',
  E_PG_FOLLOW_NOT_PREPARED: 'no export was made in a replication slot\'s snapshot (followFrom unset, or the export did not finish)',
  E_PG_FOLLOW_ABORTED: 'following was aborted: export, import and follow again',
  E_PG_FOLLOW_LOST: 'the replication slot or subscription is gone',
  E_PG_FOLLOW_UNREACHABLE: 'the target\'s subscription cannot stream from the source as the stack sees it',
  E_PG_FOLLOW_DDL: 'the source\'s schema changed during the follow phase (logical replication carries no DDL)',
  E_PG_PROMOTE_STATE: 'promote of a store that does not follow',
  E_PG_PROMOTE_LAG: 'promote refused: the target is behind the source',
  E_PG_PIN: 'a following PostgreSQL target cannot be held at a pinned point of its source (not following, or no privilege to lock the tables)',
  E_PIN_GIVEN_UP: 'the pinned verify was given up (lock wait or follower over its budget): writers resumed, the follower continues',

  // Files engine
  E_FILES_OPTIONS: 'a files store option is invalid',
  E_FILES_SOURCE: 'a files store\'s source directory does not exist',
  E_FILES_TARGET: 'a files store\'s target is ill-defined (hostPath and volume, or neither)',
  E_FILES_UNREADABLE: 'a source file or directory cannot be read',
  E_FILES_LINK_ESCAPES: 'a symlink points outside the store\'s directory',
  E_FILES_NOT_DATA: 'the source holds something that is not a file, directory or symlink',
  E_FILES_NOT_QUIET: 'the directory kept changing: no quiet window within the budget',
  E_FILES_FINAL_CHECK: 'after the final pass inside the freeze the target still differs from the frozen tree',
  E_FILES_NO_SPACE: 'not enough free space on the target for the copy',
  E_FILES_HELPER: 'the helper container reading or writing a volume failed',
  E_FILES_NO_EXPORT: 'a files store has no manifest yet: its export has not run',

  // --demo (demo/, outside lib/)
  E_DEMO_DOCKER: 'a docker command of the demo failed',
  E_DEMO_MIGRATE: 'the demo\'s migrate (run before verify/rollback --demo) failed',
} as const satisfies Record<`E_${string}`, string>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

/** What a code means, in words (for reports and `--json` consumers). */
export function describeErrorCode(code: ErrorCode): string {
  return ERROR_CODES[code];
}
