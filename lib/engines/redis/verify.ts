/**
 * Key-by-key verification of a copy: every source key present on the target with the same type, the
 * same value (compare-key.ts) and its expiry within a tolerance; key counts per database and type, with
 * keys that expired during the window counted apart; keys the target holds beyond the source named.
 */
import type { Redis } from 'ioredis';
import type { RedisEndpoint } from './endpoint.ts';
import { connectRedis } from './connect.ts';
import { compareVersions, serverInfo } from './info.ts';
import { expiryCommand, scanBatches } from './scan.ts';
import { compareKey, type CompareOptions } from './compare-key.ts';
import { execOrThrow, printable } from './rewrite.ts';
import { pool, VERIFY_CONCURRENCY } from './pool.ts';

export interface VerifyOptions extends CompareOptions {
  readonly source: RedisEndpoint;
  readonly target: RedisEndpoint;
  readonly databases?: readonly number[];
  readonly ttlToleranceMs: number;
  /** Stop listing findings after this many (counts stay exact). */
  readonly maxFindings?: number;
}

export interface DbReport {
  /** Source keys by type, as compared. */
  readonly types: Record<string, number>;
  readonly compared: number;
  readonly expiredDuringWindow: number;
  readonly sourceKeys: number;
  readonly targetKeys: number;
}

export interface RedisVerifyReport {
  readonly ok: boolean;
  readonly findings: string[];
  readonly dbs: Record<number, DbReport>;
  readonly sampling: string;
}

export async function verifyCopy(o: VerifyOptions): Promise<RedisVerifyReport> {
  const src = await connectRedis(o.source, { name: 'ferry-verify-src' });
  const tgt = await connectRedis(o.target, { name: 'ferry-verify-tgt' });
  const findings: string[] = [];
  const max = o.maxFindings ?? 100;
  let findingCount = 0;
  const note = (s: string) => { findingCount++; if (findings.length < max) findings.push(s); };
  try {
    const [si, ti] = await Promise.all([serverInfo(src), serverInfo(tgt)]);
    const dbs = o.databases?.length ? [...o.databases] : [...new Set([...si.keyspace.keys(), ...ti.keyspace.keys()])].sort((a, b) => a - b);
    const exS = expiryCommand(compareVersions(si.version, '7.0.0') >= 0);
    const exT = expiryCommand(compareVersions(ti.version, '7.0.0') >= 0);
    const report: Record<number, DbReport> = {};
    for (const db of dbs) {
      await Promise.all([src.select(db), tgt.select(db)]);
      const types: Record<string, number> = {};
      let compared = 0;
      let expired = 0;
      for await (const b of scanBatches(src)) {
        if (!b.keys.length) continue;
        const [a, t] = await Promise.all([meta(src, b.keys, exS.cmd), meta(tgt, b.keys, exT.cmd)]);
        const now = Date.now();
        const strings: Array<{ key: Buffer; name: string; at: number }> = [];
        const others: Array<{ key: Buffer; name: string; type: string; at: number }> = [];
        for (let i = 0; i < b.keys.length; i++) {
          const key = b.keys[i]!;
          const name = `db ${db} key ${printable(key)}`;
          const sType = a.types[i]!; const tType = t.types[i]!;
          const sAt = exS.toAbs(a.exp[i]!, now); const tAt = exT.toAbs(t.exp[i]!, now);
          if (sType === 'none' || (sAt > 0 && sAt <= now + o.ttlToleranceMs && tType === 'none')) { expired++; continue; }
          types[sType] = (types[sType] ?? 0) + 1;
          compared++;
          if (tType === 'none') { note(`${name}: missing on the target`); continue; }
          if (tType !== sType) { note(`${name}: type ${sType} on the source, ${tType} on the target`); continue; }
          if (sAt > 0 && tAt < 0) note(`${name}: TTL dropped (expires at ${new Date(sAt).toISOString()} on the source, never on the target)`);
          else if (sAt < 0 && tAt > 0) note(`${name}: TTL added on the target (${new Date(tAt).toISOString()})`);
          else if (sAt > 0 && Math.abs(sAt - tAt) > o.ttlToleranceMs) note(`${name}: expiry differs by ${tAt - sAt} ms (tolerance ${o.ttlToleranceMs} ms)`);
          if (sType === 'string') { strings.push({ key, name, at: sAt }); continue; }
          others.push({ key, name, type: sType, at: sAt });
        }
        // Collections: many keys compared at once, so their commands share round trips.
        await pool(others, VERIFY_CONCURRENCY, async (k) => {
          const diff = await compareKey(src, tgt, k.key, k.type, o);
          if (diff && !(k.at > 0 && k.at <= Date.now() + o.ttlToleranceMs)) note(`${k.name}: ${diff}`);
        });
        if (strings.length) {
          // Strings, the bulk of most keyspaces, are compared in one pipeline per side.
          const [va, vb] = await Promise.all([src, tgt].map((r) => { const p = r.pipeline(); for (const s of strings) p.getBuffer(s.key); return execOrThrow(p); }));
          strings.forEach((s, i) => {
            const x = va![i] as Buffer | null; const y = vb![i] as Buffer | null;
            // Gone on one side since the TYPE check: it expired in between, not a finding.
            if (x && !y && !(s.at > 0 && s.at <= Date.now() + o.ttlToleranceMs)) note(`${s.name}: missing on the target`);
            else if (x && y && !x.equals(y)) note(`${s.name}: value differs (${x.length} vs ${y.length} bytes)`);
          });
        }
      }
      const [sourceKeys, targetKeys] = await Promise.all([src.dbsize(), tgt.dbsize()]);
      if (targetKeys > compared) {
        const extra = await extraKeys(tgt, src, 5, o.ttlToleranceMs);
        if (extra.length) note(`db ${db}: target holds keys the source does not (e.g. ${extra.join(', ')})`);
      }
      report[db] = { types, compared, expiredDuringWindow: expired, sourceKeys, targetKeys };
    }
    if (findingCount > findings.length) findings.push(`… and ${findingCount - findings.length} more findings`);
    const sampling = `every key compared; collections above ${o.sampleAbove ?? 1_000_000} elements on ${Math.round((o.sampleRate ?? 0.1) * 100)}% of their chunks`;
    return { ok: findingCount === 0, findings, dbs: report, sampling };
  } finally {
    src.disconnect();
    tgt.disconnect();
  }
}

async function meta(r: Redis, keys: readonly Buffer[], expCmd: string): Promise<{ types: string[]; exp: number[] }> {
  const p = r.pipeline();
  for (const k of keys) { p.type(k); p.call(expCmd, k); }
  const res = await execOrThrow(p);
  const types: string[] = []; const exp: number[] = [];
  for (let i = 0; i < res.length; i += 2) { types.push(String(res[i])); exp.push(Number(res[i + 1])); }
  return { types, exp };
}

/**
 * Up to `limit` key names (matching `match`, when given) present on `a` (the target) and not on `b`
 * (the source). A key that just expired on the source and is about to on the target (within `tolMs`)
 * is not one.
 */
export async function extraKeys(a: Redis, b: Redis, limit: number, tolMs: number, match?: string): Promise<string[]> {
  const out: string[] = [];
  for await (const batch of scanBatches(a, match ? { match } : {})) {
    if (!batch.keys.length) continue;
    const p = b.pipeline();
    for (const k of batch.keys) p.exists(k);
    const ex = await execOrThrow(p);
    const candidates = batch.keys.filter((_k, i) => Number(ex[i]) === 0);
    if (!candidates.length) continue;
    const q = a.pipeline();
    for (const k of candidates) q.pttl(k);
    const ttl = (await execOrThrow(q)).map(Number);
    candidates.forEach((k, i) => { if ((ttl[i] === -1 || ttl[i]! > tolMs) && out.length < limit) out.push(printable(k)); });
    if (out.length >= limit) break;
  }
  return out;
}
