/**
 * Import a Redis store: inspect both servers, refuse what cannot work (module types the target lacks),
 * choose the path (physical RDB placement, DUMP/RESTORE ABSTTL, type-aware rewrite), copy.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import type { ServiceControl } from '../../core/engine.ts';
import type { RedisEndpoint } from './endpoint.ts';
import { connectRedis } from './connect.ts';
import { serverInfo, type ServerInfo } from './info.ts';
import { choosePath, type PathDecision, type RedisPathChoice } from './choose-path.ts';
import { assertModulesCovered } from './preflight.ts';
import { assertTargetEmpty, copyLogical, type CopyResult } from './copy.ts';
import { placeRdb } from './physical.ts';


export interface Preflight {
  readonly source: ServerInfo;
  readonly target: ServerInfo;
  readonly decision: PathDecision;
  /** Databases to move. */
  readonly databases: number[];
}

/** Inspect both servers, refuse what cannot work (missing modules), choose the path. */
export async function preflight(source: RedisEndpoint, target: RedisEndpoint, wanted: RedisPathChoice, canPlaceFile: boolean): Promise<Preflight> {
  const [s, t] = await Promise.all([connectRedis(source, { name: 'ferry-preflight' }), connectRedis(target, { name: 'ferry-preflight' })]);
  try {
    const [si, ti] = await Promise.all([serverInfo(s), serverInfo(t)]);
    await assertModulesCovered(source, target, si, ti);
    const databases = source.databases.length ? [...source.databases] : [...si.keyspace.keys()].sort((a, b) => a - b);
    const subset = source.databases.length > 0 && [...si.keyspace.keys()].some((db) => !source.databases.includes(db));
    const decision = choosePath(wanted, { sourceRdb: si.rdbVersion, targetRdb: ti.rdbVersion, canPlaceFile, subsetOfDatabases: subset, targetAof: ti.aofEnabled });
    return { source: si, target: ti, decision, databases };
  } finally {
    s.disconnect();
    t.disconnect();
  }
}

export interface ImportOptions {
  readonly source: RedisEndpoint;
  readonly target: RedisEndpoint;
  readonly path: RedisPathChoice;
  readonly replace: boolean;
  /** Needed by the physical path. */
  readonly service?: ServiceControl;
  /** The RDB fetched by the export (physical path). */
  readonly rdbPath?: string;
  /** `<stateDir>/redis/copy-progress.json`. */
  readonly stateFile: string;
  readonly bigKeyBytes?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: { keys: number; bytes: number; db: number }) => void;
}

export interface ImportResult {
  readonly decision: PathDecision;
  readonly keys: number;
  readonly bytes: number;
  readonly expired: number;
  readonly copy?: CopyResult;
}

/** Copy the source into the target by the chosen path. */
export async function importRedis(o: ImportOptions): Promise<ImportResult> {
  const pf = await preflight(o.source, o.target, o.path, o.service !== undefined && o.rdbPath !== undefined);
  if (pf.decision.path === 'physical') {
    // A marker written before the target is touched: a re-run replaces what ferry itself placed.
    const ours = await readFile(o.stateFile, 'utf8').then((s) => (JSON.parse(s) as { mode?: string }).mode === 'physical', () => false);
    const t = await connectRedis(o.target, { name: 'ferry-import' });
    try { await assertTargetEmpty(t, o.target, [...pf.target.keyspace.keys()], o.replace || ours); } finally { t.disconnect(); }
    await writeFileAtomic(o.stateFile, JSON.stringify({ mode: 'physical', rdb: o.rdbPath }));
    const expect = [...pf.source.keyspace.values()].reduce((n, d) => n + d.keys, 0);
    const placed = await placeRdb(o.target, o.service!, o.rdbPath!, expect);
    return { decision: pf.decision, keys: placed.keys, bytes: 0, expired: Math.max(0, expect - placed.keys) };
  }
  const copy = await copyLogical({
    source: o.source, target: o.target, mode: pf.decision.path, databases: pf.databases, replace: o.replace,
    stateFile: o.stateFile, ...(o.bigKeyBytes ? { bigKeyBytes: o.bigKeyBytes } : {}),
    ...(o.signal ? { signal: o.signal } : {}), ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  });
  return { decision: pf.decision, keys: copy.keys, bytes: copy.bytes, expired: copy.expired, copy };
}
