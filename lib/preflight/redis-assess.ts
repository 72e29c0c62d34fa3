/** Moved to lib/engines/redis/assess.ts (issue 17); re-exported until preflight iterates the engines. */
export { assessRedis, DEFAULT_REDIS_TARGET, type RedisTargetFacts } from '../engines/redis/assess.ts';
