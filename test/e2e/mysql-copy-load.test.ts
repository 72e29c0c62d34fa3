/**
 * The streaming copy's load on real servers (MariaDB 10.11 standing in for MySQL 8): a target that keeps
 * a binary log (MySQL 8's default) gets the load kept out of it (sql_log_bin = 0) when ferry is told to
 * and may, and says so; without that every loaded row goes to its binary log too. The target runs
 * innodb_autoinc_lock_mode = 2 (MySQL 8's default), so two loaders share a big table once its first chunk
 * is in (the streaming copy and the two-pass import, with its keys deferred or not); every copy verifies row by row
 * against the source.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, type Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMysql, type StartedMysql } from '../support/containers.ts';
import { seedVedfolnirMysql } from '../../fixtures/mysql/seed.ts';
import { importMysql, verifyMysql, type MysqlTarget } from '../../lib/engines/mysql/index.ts';
import { copyMysql, streamMysql } from '../../lib/engines/mysql/copy.ts';

const DB = 'vedfolnir';
const endpoint = (s: StartedMysql): MysqlTarget => ({ host: s.host, port: s.port, user: 'root', password: s.rootPassword });
const connect = (s: StartedMysql): Promise<Connection> => createConnection({ host: s.host, port: s.port, user: 'root', password: s.rootPassword });
const binlogAt = async (c: Connection): Promise<number> => Number(((await c.query('SHOW MASTER STATUS'))[0] as Array<{ Position: unknown }>)[0]!.Position);

describe('mysql copy: the load kept out of the binary log, loaders sharing a table', { timeout: 600_000 }, () => {
  let src: StartedMysql;
  let dst: StartedMysql;
  let work: string;

  beforeAll(async () => {
    [src, dst] = await Promise.all([
      startMysql({ database: DB }),
      startMysql({ database: 'other', command: ['--local-infile=1', '--log-bin=mysql-bin', '--server-id=7', '--innodb-autoinc-lock-mode=2'] }),
    ]);
    work = await mkdtemp(join(tmpdir(), 'ferry-mysql-copy-load-'));
    const c = await createConnection({ host: src.host, port: src.port, user: 'root', password: src.rootPassword, database: DB });
    try { await seedVedfolnirMysql(c, { scale: 3, tricky: false }); } finally { await c.end(); }
  });
  afterAll(async () => {
    await Promise.all([src?.stop(), dst?.stop()]);
    if (work) await rm(work, { recursive: true, force: true });
  });

  const copy = async (name: string, skipBinlog: boolean) => {
    const d = await connect(dst);
    try {
      await d.query(`DROP DATABASE IF EXISTS ${DB}`);
      const before = await binlogAt(d);
      const notes: string[] = [];
      const r = await copyMysql({ source: endpoint(src), target: endpoint(dst), databases: [DB], dir: join(work, name), stateFile: join(work, `${name}.json`),
        parallelism: 2, chunkBytes: 128 * 1024, skipBinlog, note: (n) => notes.push(n) });
      const logged = (await binlogAt(d)) - before;
      const v = await verifyMysql({ target: endpoint(dst), source: endpoint(src), dir: join(work, name) });
      return { r, logged, notes, v };
    } finally { await d.end(); }
  };

  it('keeps the load out of the target binary log when told to, and says so; verified', async () => {
    const { r, logged, notes, v } = await copy('skip', true);
    expect(v.findings).toEqual([]);
    expect(r.streamedChunks).toBe(r.manifest.totals.chunks);
    expect(r.manifest.tables.find((t) => t.table.name === 'images')!.chunks.length).toBeGreaterThan(4);
    expect(notes.join('\n')).toMatch(/kept out of its binary log \(sql_log_bin = 0\)/);
    // The schema, objects and accounts are still logged (DDL on other connections); the rows are not.
    expect(logged).toBeLessThan(r.manifest.totals.bytes / 10);
  });

  it('without it, every loaded row is in the binary log as well; verified', async () => {
    const { r, logged, notes, v } = await copy('keep', false);
    expect(v.findings).toEqual([]);
    expect(notes.join('\n')).not.toMatch(/binary log/);
    expect(logged).toBeGreaterThan(r.manifest.totals.bytes / 2);
  });

  it('the two-pass import shares tables the same way on this target, and verifies', async () => {
    const d = await connect(dst);
    try {
      await d.query(`DROP DATABASE IF EXISTS ${DB}`);
      const r = await importMysql({ target: endpoint(dst), dir: join(work, 'skip'), stateFile: join(work, 'import.json'), parallelism: 2, skipBinlog: true });
      expect(r.chunksLoaded).toBeGreaterThan(8);
      expect((await verifyMysql({ target: endpoint(dst), source: endpoint(src), dir: join(work, 'skip') })).findings).toEqual([]);
    } finally { await d.end(); }
  });

  it('the streaming copy adds each table\'s indexes once its chunks are in (the largest table is created with its own), then the foreign keys of all but the largest; the import the rest; verified', async () => {
    const d = await connect(dst);
    const s = await connect(src);
    const keys = async (c: Connection) => {
      const [idx] = await c.query('SELECT TABLE_NAME AS t, INDEX_NAME AS n FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? GROUP BY 1, 2 ORDER BY 1, 2', [DB]);
      const [fks] = await c.query("SELECT TABLE_NAME AS t, CONSTRAINT_NAME AS n FROM information_schema.TABLE_CONSTRAINTS WHERE TABLE_SCHEMA = ? AND CONSTRAINT_TYPE = 'FOREIGN KEY' ORDER BY 1, 2", [DB]);
      return { idx: idx as Array<{ t: string; n: string }>, fks: fks as Array<{ t: string; n: string }> };
    };
    try {
      const want = await keys(s);
      expect(want.idx.filter((k) => k.t !== 'images' && k.n !== 'PRIMARY' && !k.n.startsWith('uq_')).length).toBeGreaterThan(3);
      await d.query(`DROP DATABASE IF EXISTS ${DB}`);
      const o = { source: endpoint(src), target: endpoint(dst), databases: [DB], dir: join(work, 'stream-keys'), stateFile: join(work, 'stream-keys.json'), parallelism: 2, chunkBytes: 128 * 1024, skipBinlog: true };
      const streamed = await streamMysql(o);
      expect(streamed.streamedChunks).toBe(streamed.manifest.totals.chunks);
      // Every index is there once the stream is over (each table's added by a loader after its last chunk), and
      // every foreign key but the largest table's (images: its own, and none references it), which the import adds.
      const mid = await keys(d);
      expect(mid.idx).toEqual(want.idx);
      expect(mid.fks).toEqual(want.fks.filter((k) => k.t !== 'images'));
      expect(want.fks.filter((k) => k.t === 'images').length).toBeGreaterThan(0);
      // An import not told the target is ferry's own (rollback into the host) leaves its tables' keys as they are.
      expect((await importMysql({ target: endpoint(dst), dir: o.dir, stateFile: o.stateFile, parallelism: 2 })).chunksLoaded).toBe(0);
      expect(await keys(d)).toEqual(mid);
      const r = await importMysql({ target: endpoint(dst), dir: o.dir, stateFile: o.stateFile, parallelism: 2, skipBinlog: true, addMissingKeys: true });
      expect(r.chunksLoaded).toBe(0);
      expect(await keys(d)).toEqual(want);
      expect((await verifyMysql({ target: endpoint(dst), source: endpoint(src), dir: o.dir })).findings).toEqual([]);
    } finally { await d.end(); await s.end(); }
  });

  it('the import with deferred keys adds every index, then every foreign key, after the data; verified; a re-run adds nothing', async () => {
    const d = await connect(dst);
    const keysOf = async () => {
      const [idx] = await d.query('SELECT TABLE_NAME AS t, INDEX_NAME AS n FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? GROUP BY 1, 2 ORDER BY 1, 2', [DB]);
      const [fks] = await d.query("SELECT TABLE_NAME AS t, CONSTRAINT_NAME AS n FROM information_schema.TABLE_CONSTRAINTS WHERE TABLE_SCHEMA = ? AND CONSTRAINT_TYPE = 'FOREIGN KEY' ORDER BY 1, 2", [DB]);
      return { idx, fks };
    };
    try {
      const [want] = await Promise.all([(async () => { const s = await connect(src); try {
        const [idx] = await s.query('SELECT TABLE_NAME AS t, INDEX_NAME AS n FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? GROUP BY 1, 2 ORDER BY 1, 2', [DB]);
        const [fks] = await s.query("SELECT TABLE_NAME AS t, CONSTRAINT_NAME AS n FROM information_schema.TABLE_CONSTRAINTS WHERE TABLE_SCHEMA = ? AND CONSTRAINT_TYPE = 'FOREIGN KEY' ORDER BY 1, 2", [DB]);
        return { idx, fks };
      } finally { await s.end(); } })()]);
      expect((want.fks as unknown[]).length).toBeGreaterThan(3);
      await d.query(`DROP DATABASE IF EXISTS ${DB}`);
      const run = () => importMysql({ target: endpoint(dst), dir: join(work, 'skip'), stateFile: join(work, 'deferred.json'), parallelism: 2, skipBinlog: true, deferKeys: true });
      expect((await run()).chunksLoaded).toBeGreaterThan(8);
      expect(await keysOf()).toEqual(want);
      expect((await verifyMysql({ target: endpoint(dst), source: endpoint(src), dir: join(work, 'skip') })).findings).toEqual([]);
      expect((await run()).chunksLoaded).toBe(0);
      expect(await keysOf()).toEqual(want);
    } finally { await d.end(); }
  });
});
