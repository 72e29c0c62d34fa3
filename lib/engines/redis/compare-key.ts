/**
 * Compare one key's value on two servers, type-aware and chunked: small values are read whole and
 * put in canonical order (hash fields and set members sorted); big ones are compared chunk by chunk
 * (HSCAN→HMGET, SSCAN→SMISMEMBER, ZSCAN→ZMSCORE, LRANGE and XRANGE side by side), so memory stays flat.
 * Streams also compare their consumer groups and pending entries. Returns what differs, or undefined.
 */
import type { Redis } from 'ioredis';
import { CHUNK, fields } from './rewrite.ts';

/** Collections up to this many elements are read whole. */
export const WHOLE_LIMIT = 1000;

export interface CompareOptions {
  /** Collections above this size are compared on a sample of chunks. */
  readonly sampleAbove?: number;
  /** Share of chunks compared for those (0–1). */
  readonly sampleRate?: number;
}

const eq = (a: Buffer | null | undefined, b: Buffer | null | undefined) => (a == null || b == null ? a == b : a.equals(b));
const sortPairs = (flat: Buffer[]) => {
  const ps: Array<[Buffer, Buffer]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) ps.push([flat[i]!, flat[i + 1]!]);
  return ps.sort((x, y) => Buffer.compare(x[0], y[0]));
};
/** ioredis 6 may pair up WITHSCORES replies: flatten back to [member, score, …]. */
const flatBufs = (x: unknown): Buffer[] => (Array.isArray(x) ? x.flatMap(flatBufs) : [x as Buffer]);
const sameLists = (a: Buffer[], b: Buffer[]) => a.length === b.length && a.every((x, i) => x.equals(b[i]!));

export async function compareKey(src: Redis, tgt: Redis, key: Buffer, type: string, o: CompareOptions = {}): Promise<string | undefined> {
  const sampleAbove = o.sampleAbove ?? 1_000_000;
  const keep = (n: number, i: number) => n <= sampleAbove || (i * (o.sampleRate ?? 0.1)) % 1 < (o.sampleRate ?? 0.1);
  switch (type) {
    case 'string': {
      const [a, b] = await Promise.all([src.getBuffer(key), tgt.getBuffer(key)]);
      return eq(a, b) ? undefined : `value differs (${a?.length ?? 0} vs ${b?.length ?? 0} bytes)`;
    }
    case 'hash': case 'set': case 'zset': {
      const lenCmd = { hash: 'HLEN', set: 'SCARD', zset: 'ZCARD' }[type];
      const [na, nb] = await Promise.all([src.call(lenCmd, key), tgt.call(lenCmd, key)]).then((r) => r.map(Number));
      if (na !== nb) return `${type} has ${na} elements on the source, ${nb} on the target`;
      // Hashes are always checked field by field (HSCAN→HMGET): equal counts and every source field equal.
      if (na! <= WHOLE_LIMIT && type !== 'hash') {
        const read = type === 'set' ? ['SMEMBERS'] : ['ZRANGE', '0', '-1', 'WITHSCORES'];
        const [a, b] = (await Promise.all([src.callBuffer(read[0]!, key, ...read.slice(1)), tgt.callBuffer(read[0]!, key, ...read.slice(1))])).map(flatBufs) as [Buffer[], Buffer[]];
        if (type === 'set') return sameLists(a.sort(Buffer.compare), b.sort(Buffer.compare)) ? undefined : 'set members differ';
        return sameLists(a, b) ? undefined : 'sorted set members or scores differ';
      }
      let cursor = '0';
      let i = 0;
      do {
        const [next, flat] = (await src.callBuffer(`${type[0]!.toUpperCase()}SCAN`, key, cursor, 'COUNT', String(CHUNK))) as [Buffer, Buffer[]];
        cursor = next.toString();
        if (!keep(na!, i++) || !flat.length) continue;
        if (type === 'set') {
          const has = (await tgt.call('SMISMEMBER', key, ...flat)) as number[];
          if (has.some((h) => h !== 1)) return 'set members differ';
        } else {
          const ps = sortPairs(flat);
          const got = (await tgt.callBuffer(type === 'hash' ? 'HMGET' : 'ZMSCORE', key, ...ps.map((p) => p[0]))) as Array<Buffer | null>;
          const bad = ps.findIndex((p, j) => (type === 'hash' ? !eq(p[1], got[j]) : got[j] == null || Number(p[1].toString()) !== Number(got[j]!.toString())));
          if (bad >= 0) return type === 'hash' ? 'hash fields differ' : 'sorted set members or scores differ';
        }
      } while (cursor !== '0');
      return undefined;
    }
    case 'list': {
      const [na, nb] = await Promise.all([src.llen(key), tgt.llen(key)]);
      if (na !== nb) return `list has ${na} items on the source, ${nb} on the target`;
      for (let i = 0; i < na; i += CHUNK) {
        if (!keep(na, i / CHUNK)) continue;
        const [a, b] = await Promise.all([src.lrangeBuffer(key, i, i + CHUNK - 1), tgt.lrangeBuffer(key, i, i + CHUNK - 1)]);
        if (!sameLists(a, b)) return `list items differ from index ${i}`;
      }
      return undefined;
    }
    case 'stream': return compareStream(src, tgt, key);
    default: {
      // Module types: compare the serialised form.
      const [a, b] = await Promise.all([src.dumpBuffer(key), tgt.dumpBuffer(key)]);
      return eq(a, b) ? undefined : `${type} value differs`;
    }
  }
}

async function compareStream(src: Redis, tgt: Redis, key: Buffer): Promise<string | undefined> {
  let start = '-';
  for (;;) {
    const [a, b] = (await Promise.all([src, tgt].map((r) => r.callBuffer('XRANGE', key, start, '+', 'COUNT', String(CHUNK))))) as Array<Array<[Buffer, Buffer[]]>>;
    if (a!.length !== b!.length) return 'stream entries differ';
    for (let i = 0; i < a!.length; i++) if (!a![i]![0].equals(b![i]![0]) || !sameLists(a![i]![1], b![i]![1])) return `stream entry ${a![i]![0].toString()} differs`;
    if (a!.length < CHUNK) break;
    start = `(${a![a!.length - 1]![0].toString()}`;
  }
  const groups = async (r: Redis) => ((await r.call('XINFO', 'GROUPS', key)) as unknown[][]).map(fields)
    .map((g) => ({ name: String(g.get('name')), last: String(g.get('last-delivered-id')), pending: Number(g.get('pending')), read: String(g.get('entries-read')), consumers: Number(g.get('consumers')) }))
    .sort((x, y) => x.name.localeCompare(y.name));
  const [ga, gb] = await Promise.all([groups(src), groups(tgt)]);
  if (JSON.stringify(ga) !== JSON.stringify(gb)) return `stream consumer groups differ (${JSON.stringify(ga)} vs ${JSON.stringify(gb)})`;
  for (const g of ga) {
    let from = '-';
    for (;;) {
      const [pa, pb] = (await Promise.all([src, tgt].map((r) => r.call('XPENDING', key, g.name, from, '+', String(CHUNK))))) as Array<Array<[string, string, number, number]>>;
      const norm = (p: Array<[string, string, number, number]>) => JSON.stringify(p.map(([id, c, , n]) => [id, c, n]));
      if (norm(pa!) !== norm(pb!)) return `pending entries of group ${g.name} differ`;
      if (pa!.length < CHUNK) break;
      from = `(${pa![pa!.length - 1]![0]}`;
    }
  }
  return undefined;
}
