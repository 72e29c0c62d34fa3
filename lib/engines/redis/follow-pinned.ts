/**
 * Verify a following Redis at a pinned point while the app keeps running on the host: keys are sampled
 * first (RANDOMKEY per database, unpinned), then the source is pinned (`CLIENT PAUSE … WRITE`, which
 * holds writes and expiry and lifts itself after `pauseMs` even if ferry dies), the replica is let reach
 * the source's replication offset exactly, and at that offset both keyspaces' counts per database are
 * compared and every sampled key's DUMP (a type-aware comparison when the payloads differ: encodings
 * may), then the pause is lifted. The app's writes wait for milliseconds; nothing fails. What the
 * catch-up inside the freeze then checks is bounded by the changes since this pin.
 */
import type { Redis } from 'ioredis';
import type { ReportEntry, VerifyReport } from '../../core/engine.ts';
import { FerryError } from '../../core/errors.ts';
import { compareKey } from './compare-key.ts';
import { describeEndpoint } from './connect.ts';
import { parseInfo, parseKeyspace } from './info.ts';
import { withServers, type RedisFollowOptions } from './follow.ts';

export interface PinnedOptions {
  /** Keys sampled per database (default 200). */
  readonly sample?: number;
  /** The pin's own limit: the source lifts it by itself after this long (default 5000 ms). */
  readonly pauseMs?: number;
}

const offsets = async (src: Redis, tgt: Redis) => {
  const [s, t] = await Promise.all([src.info('replication'), tgt.info('replication')].map(async (x) => parseInfo(await x)));
  return {
    source: Number(s!.get('master_repl_offset') ?? 0), replica: Number(t!.get('slave_repl_offset') ?? -1),
    linked: t!.get('role') === 'slave' && t!.get('master_link_status') === 'up',
  };
};

const keyspace = async (r: Redis) => parseKeyspace(parseInfo(await r.info('keyspace')));

/** RANDOMKEY `n` times in `db` (duplicates dropped). */
async function sampleKeys(r: Redis, db: number, n: number): Promise<Buffer[]> {
  await r.select(db);
  const pipe = r.pipeline();
  for (let i = 0; i < n; i++) pipe.callBuffer('RANDOMKEY');
  const got = ((await pipe.exec()) ?? []).map(([, k]) => k as Buffer | null).filter((k): k is Buffer => k !== null);
  return [...new Map(got.map((k) => [k.toString('latin1'), k])).values()];
}

async function dumps(r: Redis, keys: readonly Buffer[]): Promise<Array<Buffer | null>> {
  const pipe = r.pipeline();
  for (const k of keys) pipe.dumpBuffer(k);
  return ((await pipe.exec()) ?? []).map(([e, v]) => (e ? null : (v as Buffer | null)));
}

export async function verifyRedisPinned(o: RedisFollowOptions, opts: PinnedOptions = {}): Promise<VerifyReport> {
  const t0 = performance.now();
  const sample = opts.sample ?? 200;
  const pauseMs = opts.pauseMs ?? 5000;
  return withServers(o, async (src, tgt) => {
    const before = await keyspace(src);
    const sampled = new Map<number, Buffer[]>();
    for (const db of before.keys()) sampled.set(db, await sampleKeys(src, db, sample));
    await src.call('CLIENT', 'PAUSE', String(pauseMs), 'WRITE');
    const pinnedAt = performance.now();
    try {
      let at = await offsets(src, tgt);
      while (!(at.linked && at.replica === at.source)) {
        if (performance.now() - pinnedAt > pauseMs - 1000) {
          throw new FerryError('E_REDIS_FOLLOW_LAG', `the target ${describeEndpoint(o.target)} did not reach the pinned offset ${at.source} of ${describeEndpoint(o.source)} within ${pauseMs - 1000} ms (at ${at.replica}, link ${at.linked ? 'up' : 'down'})`, {
            hint: 'the follower is behind or its link is down: check its status (follow:<store> resumes it), then run migrate again',
          });
        }
        await new Promise((r) => setTimeout(r, 10));
        at = await offsets(src, tgt);
      }
      const [a, b] = await Promise.all([keyspace(src), keyspace(tgt)]);
      const dbs = [...new Set([...a.keys(), ...b.keys()])].sort((x, y) => x - y);
      const entries: ReportEntry[] = [];
      for (const db of dbs) {
        const findings: string[] = [];
        const sk = a.get(db)?.keys ?? 0, tk = b.get(db)?.keys ?? 0;
        if (sk !== tk) findings.push(`${sk} keys on the source, ${tk} on the target at offset ${at.source}`);
        const keys = sampled.get(db) ?? [];
        await Promise.all([src.select(db), tgt.select(db)]);
        const [da, dbb] = await Promise.all([dumps(src, keys), dumps(tgt, keys)]);
        for (let i = 0; i < keys.length && findings.length < 20; i++) {
          const x = da[i], y = dbb[i];
          if (x == null || y == null ? x == y : x.equals(y)) continue;
          const type = x == null ? 'none' : String(await src.type(keys[i]!));
          const diff = y == null || x == null ? 'missing on one side' : await compareKey(src, tgt, keys[i]!, type);
          if (diff) findings.push(`key ${keys[i]!.toString('utf8')}: ${diff}`);
        }
        entries.push({ subject: `db ${db}`, ok: findings.length === 0, counts: { sourceKeys: sk, targetKeys: tk, sampled: keys.length, offset: at.source }, findings });
      }
      o.log?.info(`${o.storeId}: pinned at offset ${at.source} for ${Math.round(performance.now() - pinnedAt)} ms: ${entries.map((e) => `${e.subject} ${e.counts!.sourceKeys} keys, ${e.counts!.sampled} sampled`).join('; ')}`);
      return { ok: entries.every((e) => e.ok), entries, seconds: (performance.now() - t0) / 1000 };
    } finally {
      await src.call('CLIENT', 'UNPAUSE').catch(() => undefined); // the pause lifts itself after pauseMs anyway
    }
  });
}
