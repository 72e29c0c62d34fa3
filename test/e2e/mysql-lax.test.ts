/**
 * Values a lax sql_mode let the source store, on real servers. The source is seeded under `sql_mode=''`
 * and then runs strict (as a MySQL 8 that inherited old data does): an ENUM holding the empty error value
 * (index 0), a SET that lost an unknown member, zero dates and zero-in-date parts, clipped and truncated
 * numbers, bytes cp1252 leaves undefined in a latin1 column. They migrate through LOAD DATA LOCAL and
 * through INSERT batches and back (the rollback direction: stack → host), byte for byte (HEX() of every
 * column, ENUM/SET indexes, floats widened), the load warnings listed once by table, key and column. A
 * target whose column is narrower is refused naming table, key range, row, column and warning.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, type Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMysql, type StartedMysql } from '../support/containers.ts';
import { exportMysql, importMysql, verifyMysql, type MysqlTarget } from '../../lib/engines/mysql/index.ts';
import { FerryError } from '../../lib/core/errors.ts';
import { formatWarningGroup } from '../../lib/engines/mysql/load-warnings.ts';
import { copyMysql } from '../../lib/engines/mysql/copy.ts';
import type { Manifest } from '../../lib/engines/mysql/manifest.ts';

const DB = 'laxdb';
const endpoint = (s: StartedMysql): MysqlTarget => ({ host: s.host, port: s.port, user: 'root', password: s.rootPassword });
const connect = (s: StartedMysql): Promise<Connection> =>
  createConnection({ host: s.host, port: s.port, user: 'root', password: s.rootPassword, charset: 'utf8mb4', dateStrings: true, supportBigNumbers: true, bigNumberStrings: true });

const TABLE = `CREATE TABLE ${DB}.lax (
  id INT NOT NULL PRIMARY KEY,
  e ENUM('draft','live') NOT NULL DEFAULT 'draft',
  s SET('a','b','c'),
  d DATE, dt DATETIME, ts TIMESTAMP NULL DEFAULT NULL,
  n TINYINT, u TINYINT UNSIGNED, dec5 DECIMAL(5,2), f FLOAT, dbl DOUBLE, y YEAR,
  v VARCHAR(6), ch CHAR(3),
  l VARCHAR(20) CHARACTER SET latin1,
  note TEXT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;

/** Inserted under sql_mode='': the server stores what it can and warns. Row ids are spread over the chunks. */
const LAX_ROWS = [
  `(7, 'published', 'a,zzz', '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', 300, -5, 12345.678, 1e39, 1e308, 1800, 'toolongvalue', 'abcdef', X'818D8F909DFF005C27', 'enum index 0')`,
  `(777, '', 'c,b,zz', '2020-00-15', '2021-04-00 10:00:00', NULL, -300, 999, -99999, -1e39, -0.0, 0, '123456789', 'x', X'80A0E9', 'zero-in-date parts')`,
  `(1500, 'live', '', '2020-02-31', '2020-02-30 25:61:61', '1969-01-01', '12abc', 'x', '1.005', 'nan', '1e', 2156, '  pad  ', 'a  ', X'E9', 'invalid date parts')`,
  `(2999, 'draft', NULL, '9999-12-31', '1000-01-01', '2038-01-19 03:14:07', 127, 255, 999.995, 3.4028235e38, 2.2250738585072014e-308, 1901, '', '', X'', '')`,
];

/** Every column as exact bytes: HEX() of the value, ENUM/SET indexes, FLOAT and DOUBLE widened. */
async function snapshot(c: Connection): Promise<unknown[]> {
  const [cols] = await c.query(`SELECT COLUMN_NAME AS n, DATA_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'lax' ORDER BY ORDINAL_POSITION`, [DB]);
  const exprs = (cols as Array<{ n: string; t: string }>).flatMap(({ n, t }) => [
    `HEX(\`${n}\`)`, `\`${n}\` IS NULL`,
    ...(/enum|set/.test(t) ? [`\`${n}\`+0`] : []),
    ...(/float|double/.test(t) ? [`CONCAT(\`${n}\`+0e0)`] : []),
  ]);
  const [rows] = await c.query({ sql: `SELECT ${exprs.join(', ')} FROM ${DB}.lax ORDER BY id`, rowsAsArray: true });
  return rows as unknown[];
}

describe('mysql: values a lax sql_mode let the source store', { timeout: 900_000 }, () => {
  let src: StartedMysql;
  let dst: StartedMysql;
  let work: string;
  let before: unknown[];

  beforeAll(async () => {
    [src, dst] = await Promise.all([startMysql({ database: DB }), startMysql({ database: 'other', command: ['--local-infile=1'] })]);
    work = await mkdtemp(join(tmpdir(), 'ferry-mysql-lax-'));
    const c = await connect(src);
    try {
      await c.query("SET SESSION sql_mode = ''");
      await c.query(TABLE);
      // Plain rows around the lax ones, so the table spans several chunks.
      const plain = Array.from({ length: 3000 }, (_, i) => i + 1).filter((i) => ![7, 777, 1500, 2999].includes(i))
        .map((i) => `(${i}, 'live', 'a,b', '2024-01-0${1 + (i % 9)}', '2024-01-01 10:00:00', '2024-01-01 10:00:00', ${i % 100}, ${i % 200}, ${i % 900}.25, ${i}.5, ${i}.125, 2024, 'v${i % 1000}', 'c', X'41', 'plain row ${i} ${'x'.repeat(200)}')`);
      await c.query(`INSERT INTO ${DB}.lax VALUES ${[...plain, ...LAX_ROWS].join(',')}`);
      // The server now runs strict, as MySQL 8 does by default; the rows stay as they are.
      await c.query("SET GLOBAL sql_mode = 'STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'");
      before = await snapshot(c);
      const [[e0]] = await c.query(`SELECT e + 0 AS i, HEX(e) AS h FROM ${DB}.lax WHERE id = 777`) as unknown as [[{ i: string; h: string }]];
      expect({ i: Number(e0.i), h: e0.h }).toEqual({ i: 0, h: '' }); // the ENUM's empty error value really is there
    } finally { await c.end(); }
    await exportMysql({ source: endpoint(src), databases: [DB], dir: join(work, 'export'), parallelism: 2, chunkBytes: 64 * 1024, definer: { mode: 'keep' } });
  });
  afterAll(async () => { await Promise.all([src?.stop(), dst?.stop()]); });

  for (const via of ['local-infile', 'insert'] as const) {
    it(`migrates every lax value byte for byte through ${via}, listing each warning once by table, key and column`, async () => {
      const d = await connect(dst);
      try {
        await d.query(`DROP DATABASE IF EXISTS ${DB}`);
        const r = await importMysql({ target: endpoint(dst), dir: join(work, 'export'), stateFile: join(work, `state-${via}.json`), via });
        expect(r.via).toBe(via);
        expect(r.chunksLoaded).toBeGreaterThan(3);
        const enumWarning = r.warnings.find((w) => w.column === 'e');
        expect(enumWarning).toMatchObject({ table: `${DB}.lax`, code: 1265, count: 2, keys: ['id 7', 'id 777'] });
        console.log(r.warnings.map(formatWarningGroup).join('\n'));
        expect(new Set(r.warnings.map((w) => `${w.table}.${w.column}.${w.code}`)).size).toBe(r.warnings.length);
        const report = await verifyMysql({ target: endpoint(dst), source: endpoint(src), dir: join(work, 'export') });
        expect(report.findings).toEqual([]);
        expect(await snapshot(d)).toEqual(before);
        // A re-run loads nothing and still reports the warnings of the loads it keeps.
        const again = await importMysql({ target: endpoint(dst), dir: join(work, 'export'), stateFile: join(work, `state-${via}.json`), via });
        expect(again.chunksLoaded).toBe(0);
        expect(again.warnings).toEqual(r.warnings);
      } finally { await d.end(); }
    });
  }

  it('streams them: chunks load into the target while the export runs, the artifact written alongside', async () => {
    const d = await connect(dst);
    try {
      await d.query(`DROP DATABASE IF EXISTS ${DB}`);
      const r = await copyMysql({ source: endpoint(src), target: endpoint(dst), databases: [DB], dir: join(work, 'copy'), stateFile: join(work, 'state-copy.json'),
        parallelism: 2, chunkBytes: 64 * 1024, definer: { mode: 'keep' } });
      expect(r.streamedChunks).toBe(r.manifest.totals.chunks);
      expect(r.import.chunksLoaded).toBe(0);
      expect(r.import.warnings.find((w) => w.column === 'e')).toMatchObject({ code: 1265, count: 2, keys: ['id 7', 'id 777'] });
      expect((await verifyMysql({ target: endpoint(dst), source: endpoint(src), dir: join(work, 'copy') })).findings).toEqual([]);
      expect(await snapshot(d)).toEqual(before);
      // Run again onto the tables it left: no streaming, every chunk found by checksum, nothing reloaded.
      const notes: string[] = [];
      const again = await copyMysql({ source: endpoint(src), target: endpoint(dst), databases: [DB], dir: join(work, 'copy'), stateFile: join(work, 'state-copy.json'),
        parallelism: 2, chunkBytes: 64 * 1024, definer: { mode: 'keep' }, note: (n) => notes.push(n) });
      expect(again.streamedChunks).toBe(0);
      expect(notes.join('\n')).toMatch(/tables already exist .* export first, then import/);
      expect(again.import.chunksLoaded).toBe(0);
      expect(await snapshot(d)).toEqual(before);
    } finally { await d.end(); }
  });

  it('a streaming copy stopped mid-way resumes by running it again (export, then every chunk checked on the target)', async () => {
    const d = await connect(dst);
    try {
      await d.query(`DROP DATABASE IF EXISTS ${DB}`);
      const stop = new AbortController();
      let chunks = 0;
      const o = { source: endpoint(src), target: endpoint(dst), databases: [DB], dir: join(work, 'copy-stopped'), stateFile: join(work, 'state-copy-stopped.json'),
        parallelism: 2, chunkBytes: 64 * 1024, definer: { mode: 'keep' } as const };
      const err = await copyMysql({ ...o, signal: stop.signal, progress: { update: () => { if (++chunks === 3) stop.abort(new Error('stopped by the test')); } } })
        .then(() => undefined, (e: unknown) => e);
      expect(String(err)).toMatch(/stopped by the test/);
      const again = await copyMysql(o);
      expect(again.streamedChunks).toBe(0);
      expect((await verifyMysql({ target: endpoint(dst), source: endpoint(src), dir: join(work, 'copy-stopped') })).findings).toEqual([]);
      expect(await snapshot(d)).toEqual(before);
    } finally { await d.end(); }
  });

  it('carries them back the other way (rollback --with-data: the stack is the source, the host the target)', async () => {
    await exportMysql({ source: endpoint(dst), databases: [DB], dir: join(work, 'reverse'), parallelism: 2, chunkBytes: 64 * 1024, definer: { mode: 'keep' } });
    const s = await connect(src);
    try {
      await s.query(`DROP DATABASE ${DB}`);
      const r = await importMysql({ target: endpoint(src), dir: join(work, 'reverse'), stateFile: join(work, 'state-reverse.json') });
      expect(r.warnings.some((w) => w.column === 'e' && w.keys.includes('id 777'))).toBe(true);
      expect((await verifyMysql({ target: endpoint(src), dir: join(work, 'reverse') })).findings).toEqual([]);
      expect(await snapshot(s)).toEqual(before);
    } finally { await s.end(); }
  });

  for (const via of ['local-infile', 'insert'] as const) {
    it(`refuses a target whose column is narrower (${via}), naming table, key range, row, column and warning`, async () => {
      const d = await connect(dst);
      try {
        await d.query(`DROP DATABASE IF EXISTS ${DB}`);
        await d.query(`CREATE DATABASE ${DB}`);
        await d.query(TABLE.replace('v VARCHAR(6)', 'v VARCHAR(3)'));
        const err = await importMysql({ target: endpoint(dst), dir: join(work, 'export'), stateFile: join(work, `state-narrow-${via}.json`), via })
          .then(() => undefined, (e: unknown) => e);
        expect(err).toBeInstanceOf(FerryError);
        const fe = err as FerryError;
        expect(fe.code).toBe('E_MYSQL_LOAD_CHANGED');
        expect(fe.message).toMatch(new RegExp(`${DB}\\.lax, id (> \\d+ and )?<= \\d+: row id \\d+, column v \\(\\d bytes in the export, 3 bytes on the target\\); Warning 1265: Data truncated for column .v. at row \\d+`));
        expect(fe.hint).toMatch(/SHOW CREATE TABLE/);
        // Named by comparing the target's lines with the chunk file: the chunks are identified by their lines.
        const m = JSON.parse(await readFile(join(work, 'export', 'manifest.json'), 'utf8')) as Manifest;
        const identities = m.tables.flatMap((t) => t.chunks.map((c) => c.identity));
        expect(identities.length).toBeGreaterThan(1);
        expect(new Set(identities)).toEqual(new Set(['lines']));
        // The refused chunk was rolled back: no row with a clipped v is on the target.
        const [[n]] = await d.query(`SELECT COUNT(*) AS n FROM ${DB}.lax WHERE id IN (7, 777, 1500)`) as unknown as [[{ n: string }]];
        expect(Number(n.n)).toBe(0);
      } finally { await d.end(); }
    });
  }
});
