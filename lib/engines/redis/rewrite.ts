/**
 * The type-aware rewrite of one key, chunk by chunk, so neither server blocks for long and memory
 * stays flat: string (GETRANGE), hash (HSCAN→HSET), list (LRANGE→RPUSH), set (SSCAN→SADD),
 * zset (ZSCAN→ZADD), stream (XRANGE→XADD, XSETID, XGROUP CREATE, CREATECONSUMER, XCLAIM for the
 * pending entries). HyperLogLogs are strings. Expiry is applied last, as an absolute time.
 */
import type { Redis } from 'ioredis';
import { FerryError } from '../../core/errors.ts';

export const CHUNK = 1000;
const STRING_CHUNK = 1 << 20;

type Bulk = Buffer;
const pairs = (flat: Bulk[]): Array<[Bulk, Bulk]> => {
  const out: Array<[Bulk, Bulk]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
};
/** XINFO-style flat [name, value, …] reply to a map. */
export const fields = (flat: unknown[]): Map<string, unknown> => {
  const m = new Map<string, unknown>();
  for (let i = 0; i + 1 < flat.length; i += 2) m.set(String(flat[i]), flat[i + 1]);
  return m;
};

/** Copy `key` from src to tgt (both on the right db); `expireAt` unix ms, or -1 for none. */
export async function rewriteKey(src: Redis, tgt: Redis, key: Buffer, type: string, expireAt: number): Promise<void> {
  await tgt.del(key);
  switch (type) {
    case 'string': {
      const len = await src.strlen(key);
      if (len <= STRING_CHUNK) { const v = await src.getBuffer(key); if (v) await tgt.set(key, v); break; }
      for (let off = 0; off < len; off += STRING_CHUNK) await tgt.append(key, await src.getrangeBuffer(key, off, off + STRING_CHUNK - 1));
      break;
    }
    case 'hash': await scanInto(src, 'HSCAN', key, async (flat) => { await tgt.callBuffer('HSET', key, ...flat); }); break;
    case 'set': await scanInto(src, 'SSCAN', key, async (flat) => { await tgt.callBuffer('SADD', key, ...flat); }); break;
    case 'zset': await scanInto(src, 'ZSCAN', key, async (flat) => {
      await tgt.callBuffer('ZADD', key, ...pairs(flat).flatMap(([m, s]) => [s, m]));
    }); break;
    case 'list':
      for (let i = 0; ; i += CHUNK) {
        const items = await src.lrangeBuffer(key, i, i + CHUNK - 1);
        if (items.length) await tgt.rpush(key, ...items);
        if (items.length < CHUNK) break;
      }
      break;
    case 'stream': await rewriteStream(src, tgt, key); break;
    case 'none': return; // expired or deleted since the scan
    default:
      throw new FerryError('E_REDIS_TYPE', `Key ${printable(key)} has type ${type}, which ferry cannot rewrite`, {
        hint: 'load the module that defines this type in the target and set the store\'s path option (redis.path in the preset) to "dump", or remove the key',
      });
  }
  if (expireAt > 0) await tgt.pexpireat(key, expireAt);
}

async function scanInto(src: Redis, cmd: string, key: Buffer, write: (flat: Buffer[]) => Promise<void>): Promise<void> {
  let cursor = '0';
  do {
    const [next, flat] = (await src.callBuffer(cmd, key, cursor, 'COUNT', String(CHUNK))) as [Buffer, Buffer[]];
    cursor = next.toString();
    if (flat.length) await write(flat);
  } while (cursor !== '0');
}

async function rewriteStream(src: Redis, tgt: Redis, key: Buffer): Promise<void> {
  let start = '-';
  for (;;) {
    const entries = (await src.callBuffer('XRANGE', key, start, '+', 'COUNT', String(CHUNK))) as Array<[Buffer, Buffer[]]>;
    if (entries.length) {
      const p = tgt.pipeline();
      for (const [id, kv] of entries) p.callBuffer('XADD', key, id, ...kv);
      await execOrThrow(p);
      start = `(${entries[entries.length - 1]![0].toString()}`;
    }
    if (entries.length < CHUNK) break;
  }
  const info = fields((await src.call('XINFO', 'STREAM', key)) as unknown[]);
  const lastId = String(info.get('last-generated-id'));
  const setid: string[] = ['XSETID', lastId];
  if (info.has('entries-added')) setid.push('ENTRIESADDED', String(info.get('entries-added')), 'MAXDELETEDID', String(info.get('max-deleted-entry-id')));
  const [cmd, ...args] = setid;
  if (Number(info.get('length')) === 0) await tgt.call('XGROUP', 'CREATE', key, 'ferry-tmp', '0', 'MKSTREAM').then(() => tgt.call('XGROUP', 'DESTROY', key, 'ferry-tmp'));
  await tgt.call(cmd!, key, ...args);
  const groups = ((await src.call('XINFO', 'GROUPS', key)) as unknown[][]).map(fields);
  for (const g of groups) {
    const name = String(g.get('name'));
    const read = g.get('entries-read');
    await tgt.call('XGROUP', 'CREATE', key, name, String(g.get('last-delivered-id')),
      ...(read !== undefined && read !== null ? ['ENTRIESREAD', String(read)] : []));
    const consumers = ((await src.call('XINFO', 'CONSUMERS', key, name)) as unknown[][]).map(fields);
    for (const c of consumers) await tgt.call('XGROUP', 'CREATECONSUMER', key, name, String(c.get('name')));
    let from = '-';
    for (;;) {
      const pend = (await src.call('XPENDING', key, name, from, '+', String(CHUNK))) as Array<[string, string, number, number]>;
      const p = tgt.pipeline();
      for (const [id, consumer, idle, deliveries] of pend) {
        p.call('XCLAIM', key, name, consumer, '0', id, 'IDLE', String(idle), 'RETRYCOUNT', String(deliveries), 'FORCE', 'JUSTID');
      }
      if (pend.length) { await execOrThrow(p); from = `(${pend[pend.length - 1]![0]}`; }
      if (pend.length < CHUNK) break;
    }
  }
}

/** Run a pipeline and throw its first error. */
export async function execOrThrow(p: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
  const res = (await p.exec()) ?? [];
  for (const [err] of res) if (err) throw err;
  return res.map(([, v]) => v);
}

/** A key name fit for a message: printable ASCII as is, else hex. */
export function printable(key: Buffer): string {
  const s = key.toString('latin1');
  return /^[\x20-\x7e]*$/.test(s) ? `\`${s}\`` : `0x${key.toString('hex')}`;
}
