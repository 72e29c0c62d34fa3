/**
 * Step `redis-export`: the rollback backup of the source Redis, an RDB snapshot fetched over the
 * replication protocol (no access to the source's files needed), kept at
 * `<artifactsDir>/redis/source.rdb` with its sha256. The physical import places this same file.
 */
import { open, readFile, stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { defineStep } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import type { FerryContext } from './context.ts';
import { fetchRdb, describeEndpoint } from '../engines/redis/index.ts';
import { endpoints, rdbArtifact, redisSourceState, type RedisStepParams } from './redis-shared.ts';

interface Sidecar { sha256: string; bytes: number; sourceState: string }

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

async function readHead(path: string): Promise<string> {
  const fh = await open(path, 'r');
  try { const b = Buffer.alloc(9); await fh.read(b, 0, 9, 0); return b.toString('latin1'); } finally { await fh.close(); }
}

async function readSidecar(p: RedisStepParams): Promise<Sidecar | undefined> {
  return readFile(`${rdbArtifact(p)}.json`, 'utf8').then((s) => JSON.parse(s) as Sidecar, () => undefined);
}

/** True when the artifact is there, whole, and taken from the source as it is now. */
async function intact(p: RedisStepParams): Promise<boolean> {
  const side = await readSidecar(p);
  if (!side || !(await stat(rdbArtifact(p)).catch(() => null))) return false;
  return side.sourceState === (await redisSourceState(endpoints(p).source)) && side.sha256 === (await sha256File(rdbArtifact(p)));
}

export default defineStep<Config, FerryContext>({
  id: 'redis-export',
  title: 'Back up the source Redis (RDB over replication)',
  async sourceState(p) { return redisSourceState(endpoints(p).source); },
  async check(p) {
    const done = await intact(p);
    return { done, reason: done ? `${rdbArtifact(p)} holds the source as it is` : 'no current RDB backup of the source' };
  },
  async plan(p) {
    const { source } = endpoints(p);
    return { reads: [`redis ${describeEndpoint(source)} (SYNC)`], changes: [rdbArtifact(p)], pending: !(await intact(p)) };
  },
  async run(p) {
    const { source } = endpoints(p);
    const sourceState = await redisSourceState(source);
    p.log.info(`fetching the RDB of ${describeEndpoint(source)} over replication`);
    const rdb = await fetchRdb(source, rdbArtifact(p), p.signal);
    await writeFileAtomic(`${rdb.path}.json`, JSON.stringify({ sha256: rdb.sha256, bytes: rdb.bytes, sourceState } satisfies Sidecar));
    p.progress.update({ unit: 'bytes', done: rdb.bytes, total: rdb.bytes, label: 'source.rdb' });
    return { artifacts: [{ path: rdb.path, sha256: rdb.sha256, bytes: rdb.bytes }], data: { rdbPath: rdb.path, sourceState } };
  },
  async verify(p) {
    const side = await readSidecar(p);
    if (!side) return { ok: false, findings: [`${rdbArtifact(p)}.json is missing: the export did not finish`] };
    const [sha, head] = await Promise.all([sha256File(rdbArtifact(p)), readHead(rdbArtifact(p))]);
    const findings = [
      ...(sha !== side.sha256 ? [`${rdbArtifact(p)}: sha256 ${sha} differs from the recorded ${side.sha256}`] : []),
      ...(!/^REDIS\d{4}$/.test(head) ? [`${rdbArtifact(p)}: not an RDB file (header ${JSON.stringify(head)})`] : []),
    ];
    return { ok: findings.length === 0, findings, report: { bytes: side.bytes, rdbVersion: Number(head.slice(5)) } };
  },
});
