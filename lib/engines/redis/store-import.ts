/**
 * A Redis store's import, keyed by the export it follows and the target: a finished import of the
 * same export is a no-op; a new export (the source changed) first clears what ferry copied before, so
 * keys deleted on the source since do not stay. A frozen source's write pause is lowered around the
 * copy (the rewrite path reads with EVAL, which CLIENT PAUSE WRITE blocks) and set again afterwards.
 */
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImportSummary } from '../../core/engine.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { withRedis } from './connect.ts';
import { importRedis } from './import.ts';
import { removeRdb } from './physical.ts';
import { freezeRedis, readRedisFreeze, unpauseRedis } from './freeze.ts';
import { placeable, RDB, readJson, sourceOf, targetOf, type RedisParams, type Sidecar } from './store.ts';

const DONE = 'import.json';
const PROGRESS = 'copy-progress.json';

/** `<stateDir>/import.json`: which export went into which target, written before the copy and completed after it. */
interface Done {
  readonly export: string;
  readonly target: string;
  readonly finished: boolean;
  readonly path?: string;
  readonly reason?: string;
  readonly keys?: number;
  readonly expired?: number;
}

export async function importStore(p: RedisParams): Promise<ImportSummary> {
  const rdb = join(p.artifactDir, RDB);
  const side = await readJson<Sidecar>(`${rdb}.json`);
  const target = targetOf(p);
  const want = { export: side?.sha256 ?? 'no export', target: `${target.host}:${target.port}` };
  const prev = await readJson<Done>(join(p.stateDir, DONE));
  const same = prev?.export === want.export && prev.target === want.target;
  if (prev?.finished && same) {
    p.log.info(`${p.store.id}: already imported by the ${prev.path} path (${prev.keys} keys)`);
    return { data: { ...prev, alreadyImported: true } };
  }
  // What ferry copied for an earlier export (or half-copied) goes first: keys deleted on the source since must not stay.
  if (prev && !same) {
    p.log.info(`${p.store.id}: the target holds an earlier export's copy: cleared before this one`);
    await clearStore(p);
  }
  await writeFileAtomic(join(p.stateDir, DONE), JSON.stringify({ ...want, finished: false } satisfies Done));
  const service = placeable(p);
  const hasRdb = (await stat(rdb).catch(() => null)) !== null;
  const source = sourceOf(p);
  // The rewrite path reads the source with EVAL, which CLIENT PAUSE WRITE blocks: a frozen store's
  // pause is lowered for the copy (its writers stay stopped) and set again afterwards, record kept in step.
  const frozen = await readRedisFreeze(p.stateDir);
  if (frozen) {
    await withRedis(source, unpauseRedis);
    p.log.warn(`${p.store.id}: write pause lowered for the copy (the writers stay stopped)`);
  }
  const r = await importRedis({
    source, target, path: p.store.options.path, replace: p.store.options.replace, stateFile: join(p.stateDir, PROGRESS),
    ...(service && hasRdb ? { service, rdbPath: rdb } : {}), signal: p.signal,
    onProgress: (d) => p.progress.update({ unit: 'keys', done: d.keys, bytes: d.bytes, label: `db ${d.db}` }),
  }).finally(async () => {
    if (frozen) await freezeRedis(source, p.stateDir, p.store.options.pauseMs);
  });
  p.log.info(`${p.store.id}: ${r.decision.path} path (${r.decision.reason}): ${r.keys} keys, ${r.expired} expired during the copy`);
  const record: Done = { ...want, finished: true, path: r.decision.path, reason: r.decision.reason, keys: r.keys, expired: r.expired };
  await writeFileAtomic(join(p.stateDir, DONE), JSON.stringify(record));
  return { data: { ...record, bytes: r.bytes, big: r.copy?.big ?? 0, alreadyImported: false } };
}

/** Remove what ferry wrote into the target (flush the databases it copied, or all after a physical placement) and its import state. */
export async function clearStore(p: RedisParams): Promise<void> {
  const done = await readJson<Done>(join(p.stateDir, DONE));
  const state = await readJson<{ mode?: string; dbs?: Record<string, unknown> }>(join(p.stateDir, PROGRESS));
  const physical = done?.path === 'physical' || state?.mode === 'physical';
  if (!state && !physical && !done?.finished) {
    // Nothing written by ferry yet (or already cleared): only the markers go.
    await rm(join(p.stateDir, DONE), { force: true });
    return;
  }
  if (p.store.options.replace) {
    p.log.warn(`${p.store.id}: the target held keys before the import (replace): left as it is, not flushed`);
  } else {
    const service = placeable(p);
    if (physical && service) await removeRdb(service);
    await withRedis(targetOf(p), async (t) => {
      // Only the databases ferry wrote (the physical path replaced the whole dataset).
      if (physical || !state) await t.flushall();
      else for (const db of Object.keys(state.dbs ?? {}).map(Number)) { await t.select(db); await t.flushdb(); }
    }, { name: 'ferry-clear' });
  }
  await rm(join(p.stateDir, PROGRESS), { force: true });
  await rm(join(p.stateDir, DONE), { force: true });
}
