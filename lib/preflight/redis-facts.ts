/** Moved to lib/engines/redis/facts.ts (issue 17); re-exported until preflight iterates the engines. */
export { gatherRedisFacts, gatherRedisTargetFacts, parseInfo, HASH_TTL_SAMPLE, type RedisFacts } from '../engines/redis/facts.ts';
