/**
 * Verify while the app still runs on the host: pin a consistent point on the source (a brief global read
 * lock opens a snapshot and reads its binlog position), let the follower apply exactly up to it and hold
 * there, compare every chunk's server-side checksum (the export's key ranges) of the snapshot and the held
 * target, then let the follower continue. The source is never frozen; its writers wait only for the lock.
 */
import { FerryError } from '../../core/errors.ts';
import { systemClock } from '../../util/wait.ts';
import { connectMysql, type MysqlTarget } from './connect.ts';
import { rangeChecksum } from './checksum.ts';
import { describeRange } from './bisect.ts';
import { readManifest } from './manifest.ts';
import { openSnapshot } from './snapshot.ts';
import { readReplicationFacts } from './replication-prereq.ts';
import { applyUntilStatement, startReplicaStatement, stopApplierStatement } from './replication-sql.ts';
import { readReplicaStatus, type BinlogCoordinates } from './replication-status.ts';
import { safeReplicaError } from './server-message.ts';

export interface PinnedVerifyOptions {
  readonly source: MysqlTarget;
  readonly target: MysqlTarget;
  /** The export whose chunk key ranges are compared (tables created since are not covered). */
  readonly dir: string;
  readonly parallelism?: number;
  /** How long the follower may take to reach the pin. Default 5 min. */
  readonly reachTimeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface PinnedVerifyReport {
  readonly ok: boolean;
  /** The source's binlog position the comparison was made at. */
  readonly pinnedAt: BinlogCoordinates;
  readonly chunks: number;
  readonly rows: number;
  /** `<db>.<table>: <key range>: source n rows, target m rows` per differing chunk. */
  readonly findings: readonly string[];
  /** How long the follower's applier was held (it catches up afterwards). */
  readonly heldMs: number;
  readonly seconds: number;
}

export async function verifyMysqlPinned(o: PinnedVerifyOptions): Promise<PinnedVerifyReport> {
  const started = performance.now();
  const m = await readManifest(o.dir);
  const parallelism = o.parallelism ?? 2;
  const src = await connectMysql(o.source, { connections: parallelism + 1 });
  const tgt = await connectMysql(o.target, { connections: parallelism + 1 });
  let held = 0;
  let result: Omit<PinnedVerifyReport, 'heldMs' | 'seconds'>;
  try {
    const { dialect } = await readReplicationFacts(tgt);
    const before = await readReplicaStatus(tgt, dialect);
    if (!before || before.ioRunning !== 'Yes' || before.sqlRunning !== 'Yes') {
      throw new FerryError('E_MYSQL_PIN', `the target ${o.target.host}:${o.target.port} is not following (IO ${before?.ioRunning ?? '-'}, SQL ${before?.sqlRunning ?? '-'})`, { hint: 'run follow first (or re-run it to resume)' });
    }
    await tgt.query(stopApplierStatement(dialect));
    held = performance.now();
    try {
      const snap = await openSnapshot(src, parallelism);
      try {
        if (snap.mode !== 'locked' || !snap.binlog) {
          throw new FerryError('E_MYSQL_PIN', `cannot pin a consistent point on ${o.source.host}:${o.source.port}: ${snap.note}`, { hint: 'GRANT RELOAD ON *.* to ferry\'s account, or verify inside the freeze' });
        }
        const pin = { file: snap.binlog.file, position: snap.binlog.position };
        await tgt.query(applyUntilStatement(dialect, pin.file, pin.position));
        await reachPin(o, tgt, dialect, pin);
        const work = m.tables.flatMap((t) => t.chunks.map((c) => ({ t, c })));
        const findings: string[] = [];
        let rows = 0;
        const chunks = work.length;
        await Promise.all(snap.workers.map(async (w) => {
          for (let job = work.shift(); job; job = work.shift()) {
            o.signal?.throwIfAborted();
            const [a, b] = await Promise.all([rangeChecksum(w, job.t.table, job.c), rangeChecksum(tgt, job.t.table, job.c)]);
            rows += a.rows;
            if (a.rows !== b.rows || a.sum !== b.sum) {
              findings.push(`${job.t.table.database}.${job.t.table.name}: ${describeRange(job.t.table, job.c)}: source ${a.rows} rows, target ${b.rows} rows${a.rows === b.rows ? ' (values differ)' : ''}`);
            }
          }
        }));
        result = { ok: findings.length === 0, pinnedAt: pin, chunks, rows, findings };
      } finally {
        await snap.close();
      }
    } finally {
      await tgt.query(startReplicaStatement(dialect)).catch(() => undefined);
      held = performance.now() - held;
    }
  } finally {
    await src.end();
    await tgt.end();
  }
  return { ...result, heldMs: Math.round(held), seconds: (performance.now() - started) / 1000 };
}

/** The applier stops by itself at the pin; errors and a pin never reached are failures (replication resumes either way). */
async function reachPin(o: PinnedVerifyOptions, tgt: Awaited<ReturnType<typeof connectMysql>>, dialect: Parameters<typeof readReplicaStatus>[1], pin: BinlogCoordinates): Promise<void> {
  const budget = o.reachTimeoutMs ?? 300_000;
  const t0 = systemClock.now();
  for (;;) {
    const s = await readReplicaStatus(tgt, dialect);
    if (!s) throw new FerryError('E_MYSQL_PIN', 'the target lost its replication settings while pinning', { hint: 're-run follow' });
    if (s.lastSqlErrno) throw new FerryError('E_MYSQL_FOLLOW_BROKEN', `replication stopped with error ${s.lastSqlErrno} before the pin`, { hint: 'abort the follow, clear the target, import again and follow', detail: safeReplicaError(s.lastSqlError) });
    const atPin = s.executed.file === pin.file && s.executed.position === pin.position;
    if (atPin && s.sqlRunning !== 'Yes') return;
    // MariaDB checks UNTIL before the next event: with nothing received past the pin it waits; nothing can follow, so stop it here.
    if (atPin && s.read.file === pin.file && s.read.position === pin.position) { await tgt.query(stopApplierStatement(dialect)); continue; }
    if (s.sqlRunning !== 'Yes' && (s.executed.file > pin.file || (s.executed.file === pin.file && s.executed.position > pin.position))) {
      throw new FerryError('E_MYSQL_PIN', `the target stopped at ${s.executed.file}:${s.executed.position}, past the pin ${pin.file}:${pin.position}`, { hint: 'run the pinned verify again' });
    }
    if (systemClock.now() - t0 > budget) throw new FerryError('E_MYSQL_PIN', `the target did not reach the pin ${pin.file}:${pin.position} within ${budget}ms`, { hint: 'let it catch up (follow status) and run the pinned verify again' });
    await systemClock.sleep(20, o.signal);
  }
}
