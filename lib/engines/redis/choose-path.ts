/**
 * Which copy path to take, from what the two servers support: physical (RDB placed in the target's
 * data directory) when the target reads the source's RDB version and its service can be stopped;
 * DUMP/RESTORE when RESTORE accepts the payload; else the type-aware rewrite.
 */
import { FerryError } from '../../core/errors.ts';

export type RedisPath = 'physical' | 'dump' | 'rewrite';
export type RedisPathChoice = RedisPath | 'auto';

export interface PathFacts {
  readonly sourceRdb: number;
  readonly targetRdb: number;
  /** The target's service can be stopped and its data directory written (ServiceControl given). */
  readonly canPlaceFile: boolean;
  /** Only some databases are to be moved (an RDB always carries all of them). */
  readonly subsetOfDatabases: boolean;
  /** The target runs with appendonly: at start it loads its AOF and ignores a placed RDB. */
  readonly targetAof?: boolean;
}

export interface PathDecision {
  readonly path: RedisPath;
  /** Why, in words for the report. */
  readonly reason: string;
}

/** Decide the path; a forced path the servers cannot do throws E_REDIS_PATH. */
export function choosePath(wanted: RedisPathChoice, f: PathFacts): PathDecision {
  const rdbOk = f.sourceRdb <= f.targetRdb;
  const physicalWhyNot = !rdbOk ? `target reads RDB ≤ ${f.targetRdb}, source writes ${f.sourceRdb}`
    : !f.canPlaceFile ? 'the target service cannot be stopped to place a file'
      : f.subsetOfDatabases ? 'only some databases are to be moved'
        : f.targetAof ? 'the target runs with appendonly yes (it would load its AOF, not a placed RDB)' : undefined;
  const dumpWhyNot = rdbOk ? undefined : `RESTORE on the target accepts payloads ≤ RDB ${f.targetRdb}, source writes ${f.sourceRdb}`;
  if (wanted === 'physical' && physicalWhyNot) throw refuse('physical', physicalWhyNot);
  if (wanted === 'dump' && dumpWhyNot) throw refuse('dump', dumpWhyNot);
  if (wanted !== 'auto') return { path: wanted, reason: `forced by the store's path option (${wanted})` };
  if (!physicalWhyNot) return { path: 'physical', reason: `target reads RDB ${f.sourceRdb}: the RDB file is placed whole` };
  if (!dumpWhyNot) return { path: 'dump', reason: `DUMP/RESTORE ABSTTL (physical not possible: ${physicalWhyNot})` };
  return { path: 'rewrite', reason: `type-aware rewrite (${dumpWhyNot})` };
}

function refuse(path: RedisPath, why: string): FerryError {
  return new FerryError('E_REDIS_PATH', `The ${path} path cannot be used: ${why}`, {
    hint: 'set the store\'s path option (redis.path in the preset) to "auto" (or "rewrite", which works between any versions)',
  });
}
