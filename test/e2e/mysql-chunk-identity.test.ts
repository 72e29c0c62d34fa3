/**
 * A chunk's identity on real servers (manifest ferry-mysql/3): a chunk of server-built lines is the
 * sha256 of its lines, with no checksum term computed at export; "does the target hold it" reads the
 * range's lines back. A half-loaded chunk and a changed value are found by a re-run with no progress file
 * and only those chunks reload; the line compare names the first differing row and column; a table
 * exported value by value (no primary key) keeps its server-side checksum; an older manifest is refused.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, type Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMysql, type StartedMysql } from '../support/containers.ts';
import { seedVedfolnirMysql } from '../../fixtures/mysql/seed.ts';
import { exportMysql, importMysql, verifyMysql, type Manifest, type MysqlTarget } from '../../lib/engines/mysql/index.ts';
import { connectMysql, withConnection } from '../../lib/engines/mysql/connect.ts';
import { firstLineDifference, holdsChunk } from '../../lib/engines/mysql/chunk-compare.ts';
import { isFerryError } from '../../lib/core/errors.ts';

const endpoint = (s: StartedMysql): MysqlTarget => ({ host: s.host, port: s.port, user: 'root', password: s.rootPassword });
const connect = (s: StartedMysql): Promise<Connection> =>
  createConnection({ host: s.host, port: s.port, user: 'root', password: s.rootPassword, database: 'vedfolnir' });

describe('mysql chunk identity: lines read back from the target', { timeout: 600_000 }, () => {
  let src: StartedMysql;
  let dst: StartedMysql;
  let work: string;
  let m: Manifest;
  const dir = () => join(work, 'export');
  const table = (name: string) => m.tables.find((t) => t.table.name === name)!;

  beforeAll(async () => {
    [src, dst] = await Promise.all([startMysql(), startMysql({ command: ['--local-infile=1'] })]);
    work = await mkdtemp(join(tmpdir(), 'ferry-mysql-identity-'));
    const c = await connect(src);
    await seedVedfolnirMysql(c, { scale: 3, tricky: true });
    await c.end();
    // Small chunks so one table spans several.
    m = await exportMysql({ source: endpoint(src), databases: ['vedfolnir'], dir: dir(), parallelism: 2, chunkBytes: 256 << 10 });
    await importMysql({ target: endpoint(dst), dir: dir(), stateFile: join(work, 'state.json') });
  });
  afterAll(async () => {
    await Promise.all([src?.stop(), dst?.stop()]);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('identifies keyed chunks by the sha256 of their lines, keyless ones by the server checksum', () => {
    expect(m.format).toBe('ferry-mysql/3');
    const images = table('images');
    expect(images.chunks.length).toBeGreaterThan(2);
    for (const c of images.chunks) expect(c).toMatchObject({ identity: 'lines', checksum: c.sha256 });
    const keyless = m.tables.filter((t) => t.table.primaryKey.length === 0 && t.rows > 0);
    expect(keyless.length).toBeGreaterThan(0);
    for (const t of keyless) for (const c of t.chunks) { expect(c.identity).toBe('checksum'); expect(c.checksum).toMatch(/^\d+$/); }
  });

  it('finds a half-loaded chunk and a changed value with no progress file, and reloads only those chunks', async () => {
    const images = table('images');
    const inner = images.chunks.filter((c) => c.lo && c.hi);
    const half = inner[0]!;
    const changed = inner[1]!;
    const intact = images.chunks.find((c) => c !== half && c !== changed)!;
    const keyless = m.tables.find((t) => t.table.primaryKey.length === 0 && t.rows > 0)!;
    const d = await connect(dst);
    const key = (hex: string) => Buffer.from(hex, 'hex').toString('latin1');
    await d.query('SET SESSION foreign_key_checks = 0');
    // The upper half of chunk 1 never arrived; one caption of chunk 2 differs by one byte.
    const mid = Math.floor((Number(key(half.lo![0]!)) + Number(key(half.hi![0]!))) / 2);
    await d.query(`DELETE FROM images WHERE id > ${mid} AND id <= ${key(half.hi![0]!)}`);
    await d.query(`UPDATE images SET final_caption = CONCAT(COALESCE(final_caption, ''), 'x') WHERE id = ${key(changed.hi![0]!)}`);
    await d.query(`DELETE FROM \`${keyless.table.name}\` LIMIT 1`);
    await d.end();

    const pool = await connectMysql(endpoint(dst), { connections: 1 });
    try {
      await withConnection(pool, async (c) => {
        expect(await holdsChunk(c, images.table, intact)).toEqual({ rows: intact.rows, same: true });
        expect((await holdsChunk(c, images.table, half)).same).toBe(false);
        // The line compare names the row and the column, never the value.
        const diff = await firstLineDifference(c, images.table, changed, join(dir(), changed.file));
        expect(diff).toMatchObject({ key: `id ${key(changed.hi![0]!)}`, column: 'final_caption' });
        expect(diff!.detail).toMatch(/^(\d+ bytes|NULL) in the export, \d+ bytes on the target$/);
        const missing = await firstLineDifference(c, images.table, half, join(dir(), half.file));
        expect(missing).toMatchObject({ key: `id ${mid + 1}`, detail: 'the row is missing on the target' });
        expect(await firstLineDifference(c, images.table, intact, join(dir(), intact.file))).toBeUndefined();
      });
    } finally {
      await pool.end();
    }

    const before = await verifyMysql({ target: endpoint(dst), dir: dir() });
    expect(before.ok).toBe(false);
    expect(before.tables.filter((t) => !t.ok).map((t) => [t.table, t.mismatchedChunks]).sort()).toEqual(
      [[`vedfolnir.${keyless.table.name}`, 1], ['vedfolnir.images', 2]].sort());
    const repair = await importMysql({ target: endpoint(dst), dir: dir(), stateFile: join(work, 'state-fresh.json') });
    expect(repair.chunksLoaded).toBe(3);
    expect(repair.chunksSkipped).toBe(m.totals.chunks - 3);
    expect((await verifyMysql({ target: endpoint(dst), dir: dir(), source: endpoint(src) })).findings).toEqual([]);
  });

  it('refuses an export of the previous format, saying to export again', async () => {
    const old = join(work, 'old');
    await cp(dir(), old, { recursive: true });
    const path = join(old, 'manifest.json');
    await writeFile(path, (await readFile(path, 'utf8')).replace('"ferry-mysql/3"', '"ferry-mysql/2"'));
    const err = await importMysql({ target: endpoint(dst), dir: old, stateFile: join(work, 'state-old.json') }).catch((e: unknown) => e);
    expect(isFerryError(err) && err.code).toBe('E_MYSQL_ARTIFACT');
    expect(String((err as Error).message)).toMatch(/format ferry-mysql\/2, expected ferry-mysql\/3/);
    expect(isFerryError(err) && err.hint).toMatch(/export again/);
  });
});
