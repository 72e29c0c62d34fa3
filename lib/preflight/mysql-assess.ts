/** Moved to lib/engines/mysql/assess.ts (issue 17); re-exported until preflight iterates the engines. */
export { assessMysql, hasCycle, grantedPrivileges, DEFAULT_MYSQL_TARGET, type MysqlTargetFacts, type MysqlAssessOptions } from '../engines/mysql/assess.ts';
