/**
 * The app's meaning of the Redis data, checked on both sides: every Flask session (`session:` by
 * default) present with identical bytes and its TTL; RQ's queues (`rq:queues`, `rq:queue:<q>` in
 * order), job hashes (`rq:job:<id>`) and the wip/finished/failed/deferred/scheduled registries equal.
 */
import type { Redis } from 'ioredis';
import type { RedisEndpoint } from './endpoint.ts';
import { connectRedis } from './connect.ts';
import { serverInfo } from './info.ts';
import { scanBatches } from './scan.ts';
import { compareKey } from './compare-key.ts';
import { printable } from './rewrite.ts';
import { pool, VERIFY_CONCURRENCY } from './pool.ts';
import { extraKeys } from './verify.ts';

export interface AppCheckOptions {
  readonly source: RedisEndpoint;
  readonly target: RedisEndpoint;
  readonly sessionPrefix: string;
  readonly ttlToleranceMs: number;
  readonly databases?: readonly number[];
}

export interface CategoryReport { source: number; target: number; differing: number }
export interface AppCheckReport {
  readonly ok: boolean;
  readonly findings: string[];
  readonly categories: Record<string, CategoryReport>;
}

const escapeGlob = (s: string) => s.replace(/[*?[\]\\]/g, '\\$&');

/** Category → SCAN pattern. */
export function appCategories(sessionPrefix: string): Record<string, string> {
  return {
    sessions: `${escapeGlob(sessionPrefix)}*`,
    'rq queues set': 'rq:queues',
    'rq queues': 'rq:queue:*',
    'rq jobs': 'rq:job:*',
    'rq started registries': 'rq:wip:*',
    'rq finished registries': 'rq:finished:*',
    'rq failed registries': 'rq:failed:*',
    'rq deferred registries': 'rq:deferred:*',
    'rq scheduled registries': 'rq:scheduled:*',
  };
}

export async function checkApp(o: AppCheckOptions): Promise<AppCheckReport> {
  const src = await connectRedis(o.source, { name: 'ferry-app-src' });
  const tgt = await connectRedis(o.target, { name: 'ferry-app-tgt' });
  const findings: string[] = [];
  const categories: Record<string, CategoryReport> = {};
  try {
    const dbs = o.databases?.length ? [...o.databases] : [...(await serverInfo(src)).keyspace.keys()];
    for (const db of dbs) {
      await Promise.all([src.select(db), tgt.select(db)]);
      for (const [cat, match] of Object.entries(appCategories(o.sessionPrefix))) {
        const c = (categories[cat] ??= { source: 0, target: 0, differing: 0 });
        const targetCount = await countMatching(tgt, match);
        c.target += targetCount;
        const before = { source: c.source, differing: c.differing };
        for await (const b of scanBatches(src, { match })) {
          // A batch's keys are checked side by side: one by one, each key's round trips add up (seconds
          // per thousand keys through a post-cutover `docker exec` tunnel).
          await pool(b.keys, VERIFY_CONCURRENCY, async (key) => {
            const why = await checkKey(src, tgt, key, cat === 'sessions' ? o.ttlToleranceMs : undefined);
            if (why === 'gone') return; // expired during the check
            c.source++;
            if (why) { c.differing++; if (findings.length < 100) findings.push(`${cat}: db ${db} key ${printable(key)}: ${why}`); }
          });
        }
        // Counts taken apart differ by the keys that expired in between (RQ jobs share one result TTL, so
        // many at once): only keys the target holds and the source does not, and that do not expire
        // within the tolerance, are a finding.
        if (c.source - before.source !== targetCount && c.differing === before.differing) {
          const extra = await extraKeys(tgt, src, 5, o.ttlToleranceMs, match);
          if (extra.length) findings.push(`${cat}: db ${db}: the target holds keys the source does not (e.g. ${extra.join(', ')})`);
        }
      }
    }
    return { ok: findings.length === 0, findings, categories };
  } finally {
    src.disconnect();
    tgt.disconnect();
  }
}

async function countMatching(r: Redis, match: string): Promise<number> {
  let n = 0;
  for await (const b of scanBatches(r, { match })) n += b.keys.length;
  return n;
}

async function checkKey(src: Redis, tgt: Redis, key: Buffer, ttlTolerance: number | undefined): Promise<string | undefined> {
  const [st, tt] = await Promise.all([src.type(key), tgt.type(key)]);
  if (st === 'none') return 'gone';
  if (tt === 'none') {
    // Expired on the source since TYPE (-2), or about to: it expired during the window on both sides.
    const left = await src.pttl(key);
    return left === -2 || (left >= 0 && left <= (ttlTolerance ?? 2000)) ? 'gone' : 'missing on the target';
  }
  if (st !== tt) return `type ${st} on the source, ${tt} on the target`;
  const diff = await compareKey(src, tgt, key, st);
  if (diff) return diff;
  if (ttlTolerance === undefined) return undefined;
  const [a, b] = await Promise.all([src.pttl(key), tgt.pttl(key)]);
  if (a >= 0 && b < 0) return 'TTL dropped on the target';
  if (a < 0 && b >= 0) return 'TTL added on the target';
  if (a >= 0 && Math.abs(a - b) > ttlTolerance) return `TTL differs by ${b - a} ms`;
  return undefined;
}
