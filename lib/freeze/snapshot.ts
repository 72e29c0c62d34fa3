/**
 * The source's pre-migration snapshot, taken once the freeze has proven it quiet: per table row count
 * and CHECKSUM TABLE, a digest of the stored objects' bodies, and per Redis db the key count with an
 * order-independent digest of the persistent keys (TYPE + DUMP; keys with a TTL are counted apart,
 * they may expire). Rollback compares the source with it. Streams keys and values: memory stays flat.
 */
import { createHash } from 'node:crypto';
import type mysql from 'mysql2/promise';
import type { Redis } from 'ioredis';
import type { MysqlEndpoint } from '../engines/mysql/endpoint.ts';
import type { RedisEndpoint } from '../engines/redis/endpoint.ts';

/** What the freeze reads of the run context: the host's endpoints. */
export interface SourceEndpoints { readonly source: { readonly mysql?: MysqlEndpoint; readonly redis?: RedisEndpoint } }
import { withMysql, withRedis } from './source.ts';

export interface SourceSnapshot {
  readonly takenAt: string;
  readonly mysql?: { readonly tables: Readonly<Record<string, { rows: number; checksum: string }>>; readonly objects: string };
  readonly redis?: Readonly<Record<string, { keys: number; volatile: number; digest: string }>>;
}

const q = async (c: mysql.Connection, sql: string, params: unknown[] = []) => (await c.query(sql, params))[0] as Array<Record<string, unknown>>;
const ident = (s: string) => `\`${s.replace(/`/g, '``')}\``;

export async function snapshotMysql(c: mysql.Connection, databases: readonly string[]): Promise<NonNullable<SourceSnapshot['mysql']>> {
  const dbs = databases.length ? [...databases]
    : (await q(c, "SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN ('mysql','information_schema','performance_schema','sys')")).map((r) => String(r.s));
  const tables: Record<string, { rows: number; checksum: string }> = {};
  if (!dbs.length) return { tables, objects: '' };
  for (const r of await q(c, "SELECT TABLE_SCHEMA AS db, TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA IN (?) AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1, 2", [dbs])) {
    const name = `${ident(String(r.db))}.${ident(String(r.t))}`;
    const [count] = await q(c, `SELECT COUNT(*) AS n FROM ${name}`);
    const [sum] = await q(c, `CHECKSUM TABLE ${name} EXTENDED`);
    tables[`${String(r.db)}.${String(r.t)}`] = { rows: Number(count?.n ?? 0), checksum: String(sum?.Checksum ?? 'null') };
  }
  const h = createHash('sha256');
  for (const sql of [
    'SELECT TABLE_SCHEMA, TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA IN (?) ORDER BY 1, 2',
    'SELECT TRIGGER_SCHEMA, TRIGGER_NAME, ACTION_STATEMENT FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA IN (?) ORDER BY 1, 2',
    'SELECT ROUTINE_SCHEMA, ROUTINE_NAME, ROUTINE_TYPE, ROUTINE_DEFINITION FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA IN (?) ORDER BY 1, 2, 3',
    'SELECT EVENT_SCHEMA, EVENT_NAME, EVENT_DEFINITION FROM information_schema.EVENTS WHERE EVENT_SCHEMA IN (?) ORDER BY 1, 2',
  ]) for (const row of await q(c, sql, [dbs])) h.update(JSON.stringify(Object.values(row))).update('\n');
  return { tables, objects: h.digest('hex') };
}

/** XOR of sha256(key ‖ type ‖ DUMP) over the persistent keys: independent of SCAN order. */
export async function snapshotRedis(r: Redis, databases: readonly number[]): Promise<NonNullable<SourceSnapshot['redis']>> {
  const info = await r.info('keyspace');
  const present = [...info.matchAll(/^db(\d+):/gm)].map((m) => Number(m[1]));
  const dbs = databases.length ? [...databases] : present;
  const out: Record<string, { keys: number; volatile: number; digest: string }> = {};
  for (const db of dbs) {
    await r.select(db);
    const acc = Buffer.alloc(32);
    let keys = 0, volatile = 0;
    for await (const batch of r.scanBufferStream({ count: 500 }) as AsyncIterable<Buffer[]>) {
      for (const key of batch) {
        const [pttl, type, dump] = await Promise.all([r.pttl(key), r.type(key), r.dumpBuffer(key)]);
        if (dump === null) continue; // expired between SCAN and DUMP
        keys++;
        if (pttl > 0) { volatile++; continue; }
        const d = createHash('sha256').update(key).update('\0').update(type).update('\0').update(dump).digest();
        for (let i = 0; i < 32; i++) acc[i]! ^= d[i]!;
      }
    }
    out[String(db)] = { keys, volatile, digest: acc.toString('hex') };
  }
  return out;
}

export async function takeSourceSnapshot(ctx: SourceEndpoints): Promise<SourceSnapshot> {
  const { mysql: m, redis: r } = ctx.source;
  return {
    takenAt: new Date().toISOString(),
    ...(m ? { mysql: await withMysql(m, (c) => snapshotMysql(c, m.databases)) } : {}),
    ...(r ? { redis: await withRedis(r, (c) => snapshotRedis(c, r.databases)) } : {}),
  };
}

/** One line per difference between two snapshots (volatile key counts are not compared). */
export function compareSnapshots(before: SourceSnapshot, now: SourceSnapshot): string[] {
  const out: string[] = [];
  const bt = before.mysql?.tables ?? {}, nt = now.mysql?.tables ?? {};
  for (const t of new Set([...Object.keys(bt), ...Object.keys(nt)])) {
    const a = bt[t], b = nt[t];
    if (!a) out.push(`mysql table ${t} did not exist before the migration`);
    else if (!b) out.push(`mysql table ${t} is gone`);
    else if (a.rows !== b.rows || a.checksum !== b.checksum) out.push(`mysql table ${t}: ${a.rows} rows (checksum ${a.checksum}) before, ${b.rows} rows (checksum ${b.checksum}) now`);
  }
  if (before.mysql && now.mysql && before.mysql.objects !== now.mysql.objects) out.push('mysql views, triggers, routines or events changed');
  const br = before.redis ?? {}, nr = now.redis ?? {};
  for (const db of new Set([...Object.keys(br), ...Object.keys(nr)])) {
    const a = br[db] ?? { keys: 0, volatile: 0, digest: '0'.repeat(64) }, b = nr[db] ?? { keys: 0, volatile: 0, digest: '0'.repeat(64) };
    if (a.keys - a.volatile !== b.keys - b.volatile || a.digest !== b.digest) {
      out.push(`redis db ${db}: ${a.keys - a.volatile} persistent keys (digest ${a.digest.slice(0, 12)}) before, ${b.keys - b.volatile} (digest ${b.digest.slice(0, 12)}) now`);
    }
  }
  return out;
}
