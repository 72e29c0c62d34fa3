/** Moved to lib/engines/mysql/facts.ts (issue 17); re-exported until preflight iterates the engines. */
export { gatherMysqlFacts, gatherMysqlTargetFacts, type MysqlFacts, type MysqlTableFacts, type MysqlDefinerFacts } from '../engines/mysql/facts.ts';
