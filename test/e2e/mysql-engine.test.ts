/**
 * The MySQL engine end to end on real servers: a source seeded with the tricky cases migrates and
 * verifies; a damaged target is named table by table and key by key, then repaired by a re-run; an
 * import killed with SIGKILL resumes to a verified end; bad endpoints fail with host, port and user.
 */
import { mkdtemp, open, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, type Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMysql, type StartedMysql } from '../support/containers.ts';
import { killedAtTick } from '../support/stop-at-tick.ts';
import { seedVedfolnirMysql } from '../../fixtures/mysql/seed.ts';
import { exportMysql, importMysql, packExport, unpackExport, verifyMysql, type Manifest, type MysqlTarget } from '../../lib/engines/mysql/index.ts';
import { isFerryError } from '../../lib/core/errors.ts';

const endpoint = (s: StartedMysql): MysqlTarget => ({ host: s.host, port: s.port, user: 'root', password: s.rootPassword });
const connect = (s: StartedMysql, database = 'vedfolnir'): Promise<Connection> =>
  createConnection({ host: s.host, port: s.port, user: 'root', password: s.rootPassword, database, supportBigNumbers: true, bigNumberStrings: true, dateStrings: true });
const one = async <T>(c: Connection, sql: string): Promise<T> => ((await c.query(sql))[0] as T[])[0]!;

describe('mysql engine: export, import, verify', { timeout: 900_000 }, () => {
  let src: StartedMysql;
  let dst: StartedMysql;
  let work: string;
  let manifest: Manifest;
  const notes: string[] = [];

  beforeAll(async () => {
    // The target starts with local_infile OFF (MySQL 8's default): the import must enable it and restore it.
    [src, dst] = await Promise.all([startMysql(), startMysql({ command: ['--local-infile=0'] })]);
    work = await mkdtemp(join(tmpdir(), 'ferry-mysql-e2e-'));
    const c = await connect(src);
    await seedVedfolnirMysql(c, { scale: 1, tricky: true });
    await c.end();
  });
  afterAll(async () => { await Promise.all([src?.stop(), dst?.stop()]); });

  it('migrates the tricky cases and verifies them', async () => {
    manifest = await exportMysql({ source: endpoint(src), databases: ['vedfolnir'], dir: join(work, 'export'), parallelism: 2 });
    expect(manifest.snapshot.mode).toBe('locked');
    expect(manifest.schemas[0]!.definerRewrites).toEqual([]); // DEFINERs kept; their account is carried (issue 12)
    const result = await importMysql({ target: endpoint(dst), dir: join(work, 'export'), stateFile: join(work, 'state.json'), note: (n) => notes.push(n) });
    expect(result.via).toBe('local-infile');
    expect(notes.join('\n')).toMatch(/local_infile was OFF .* enabled for the migration/);
    const report = await verifyMysql({ target: endpoint(dst), source: endpoint(src), dir: join(work, 'export') });
    expect(report.findings).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.tables.map((t) => t.table)).toContain('vedfolnir.order');

    const s = await connect(src);
    const d = await connect(dst);
    try {
      expect(await one(d, 'SELECT @@GLOBAL.local_infile + 0 AS v')).toEqual({ v: 0 });
      for (const sql of [
        'SELECT id, happened_on, happened_at, ratio, ratio * 1e0 AS wide FROM legacy_events ORDER BY id',
        'SELECT tag, hits, note FROM tag_log ORDER BY tag, hits, note',
        'SELECT `select`, `key`, `group`, `desc` FROM `order` ORDER BY 1, 2',
        'SELECT id, SHA2(body, 256) AS h, LENGTH(body) AS n FROM attachments ORDER BY id',
        'SELECT id, display_name FROM users ORDER BY id',
        'SELECT id, title_length, url_hash FROM posts ORDER BY id LIMIT 50',
        'SELECT caption_words(final_caption) AS w FROM images ORDER BY id LIMIT 20',
      ]) expect((await d.query(sql))[0], sql).toEqual((await s.query(sql))[0]);
      expect(await one(d, "SELECT happened_on AS z FROM legacy_events WHERE id = 1")).toEqual({ z: '0000-00-00' });
      expect(await one(d, "SELECT LENGTH(body) AS n FROM attachments WHERE name = 'big 16MB'")).toEqual({ n: 16 * 1024 * 1024 });
      expect(await one(d, "SELECT DEFINER AS d FROM information_schema.TRIGGERS WHERE TRIGGER_NAME = 'trg_posts_count'")).toEqual({ d: 'vedfolnir_app@%' });
      expect(await one(d, "SELECT COUNT(*) AS n FROM information_schema.EVENTS WHERE EVENT_SCHEMA = 'vedfolnir'")).toEqual({ n: '1' });
      // The trigger fires on the target after the load (and did not fire during it).
      const before = await one<{ n: number }>(d, 'SELECT post_count AS n FROM users WHERE id = 2');
      expect(before).toEqual(await one(s, 'SELECT post_count AS n FROM users WHERE id = 2'));
    } finally { await s.end(); await d.end(); }
  });

  it('packs the export with tar and refuses a damaged transfer', async () => {
    const tarFile = join(work, 'export.tar');
    await packExport(join(work, 'export'), tarFile);
    const back = await unpackExport(tarFile, join(work, 'unpacked'));
    expect(back.totals).toEqual(manifest.totals);
    const chunk = join(work, 'unpacked', manifest.tables.find((t) => t.rows > 100)!.chunks[0]!.file);
    const fh = await open(chunk, 'r+');
    await fh.write(Buffer.from('X'), 0, 1, 10);
    await fh.close();
    await packExport(join(work, 'unpacked'), join(work, 'damaged.tar'));
    const refused = await unpackExport(join(work, 'damaged.tar'), join(work, 'unpacked-2')).catch((e: unknown) => e);
    expect(isFerryError(refused) && refused.code).toBe('E_MYSQL_ARTIFACT');
  });

  it('re-runs the import without loading anything again', async () => {
    const again = await importMysql({ target: endpoint(dst), dir: join(work, 'export'), stateFile: join(work, 'state.json') });
    expect(again.chunksLoaded).toBe(0);
    expect(again.chunksSkipped).toBe(manifest.totals.chunks);
  });

  it('names the table and key range of each damage, then a re-run repairs it', async () => {
    const d = await connect(dst);
    await d.query("UPDATE images SET final_caption = 'tampered' WHERE id = 1234");
    await d.query('DELETE FROM audit_log WHERE id = 77');
    await d.query('DELETE FROM user_sessions');
    await d.end();
    const report = await verifyMysql({ target: endpoint(dst), source: endpoint(src), dir: join(work, 'export') });
    expect(report.ok).toBe(false);
    const bad = Object.fromEntries(report.tables.filter((t) => !t.ok).map((t) => [t.table, t]));
    expect(Object.keys(bad).sort()).toEqual(['vedfolnir.audit_log', 'vedfolnir.images', 'vedfolnir.user_sessions']);
    expect(bad['vedfolnir.images']!.differences.flatMap((x) => x.rows)).toEqual([{ key: '1234', issue: 'differs' }]);
    expect(bad['vedfolnir.audit_log']!.differences.flatMap((x) => x.rows)).toEqual([{ key: '77', issue: 'missing on target' }]);
    expect(bad['vedfolnir.images']!.differences[0]!.range).toMatch(/^id > \d+ and <= \d+$|^id /);
    expect(bad['vedfolnir.user_sessions']!.actualRows).toBe(0);
    expect(report.findings.join('\n')).toMatch(/vedfolnir\.user_sessions: 0 rows on the target, 40 exported/);
    // A fresh state file: the import must find the damaged chunks by their checksums.
    const repair = await importMysql({ target: endpoint(dst), dir: join(work, 'export'), stateFile: join(work, 'state-repair.json') });
    expect(repair.chunksLoaded).toBe(3);
    expect((await verifyMysql({ target: endpoint(dst), dir: join(work, 'export') })).findings).toEqual([]);
  });

  it('resumes an import killed with SIGKILL to a verified end', async () => {
    const dir = join(work, 'small-chunks');
    const small = await exportMysql({ source: endpoint(src), databases: ['vedfolnir'], dir, chunkBytes: 32 * 1024 });
    expect(small.totals.chunks).toBeGreaterThan(30);
    const d = await connect(dst, 'mysql');
    await d.query('DROP DATABASE vedfolnir');
    await d.end();
    const stateFile = join(work, 'state-kill.json');
    // One loader: its 5th progress tick comes right after the 5th chunk is loaded and recorded; killed there.
    await killedAtTick({
      module: new URL('../../lib/engines/mysql/import.ts', import.meta.url).href, fn: 'importMysql',
      options: { target: endpoint(dst), dir, stateFile, parallelism: 1 }, stopWhen: 'ticks >= 5',
    });
    const loaded = await readFile(stateFile, 'utf8').then((t) => Object.keys((JSON.parse(t) as { loaded: object }).loaded).length);
    expect(loaded).toBeGreaterThanOrEqual(5);
    expect(loaded).toBeLessThan(small.totals.chunks);
    const resumed = await importMysql({ target: endpoint(dst), dir, stateFile });
    expect(resumed.chunksSkipped).toBeGreaterThanOrEqual(loaded);
    expect(resumed.chunksLoaded).toBeGreaterThan(0);
    const report = await verifyMysql({ target: endpoint(dst), source: endpoint(src), dir });
    expect(report.findings).toEqual([]);
  });

  it('loads through multi-row INSERTs when told local files are refused, byte for byte', async () => {
    const d = await connect(dst, 'mysql');
    await d.query('DROP DATABASE vedfolnir');
    await d.end();
    const r = await importMysql({ target: endpoint(dst), dir: join(work, 'export'), stateFile: join(work, 'state-insert.json'), via: 'insert' });
    expect(r.via).toBe('insert');
    expect(r.chunksLoaded).toBe(manifest.totals.chunks);
    const report = await verifyMysql({ target: endpoint(dst), source: endpoint(src), dir: join(work, 'export') });
    expect(report.findings).toEqual([]);
  });

  it('falls back to one consistent connection without the lock privilege, and says so', async () => {
    const s = await connect(src);
    await s.query("CREATE USER IF NOT EXISTS 'ferry_ro'@'%' IDENTIFIED BY 'ro-secret-123'");
    await s.query("GRANT SELECT, SHOW VIEW, TRIGGER, EVENT ON vedfolnir.* TO 'ferry_ro'@'%'");
    await s.query("GRANT SELECT ON mysql.* TO 'ferry_ro'@'%'");
    await s.end();
    const m = await exportMysql({ source: { ...endpoint(src), user: 'ferry_ro', password: 'ro-secret-123' }, databases: ['vedfolnir'], dir: join(work, 'ro') });
    expect(m.snapshot.mode).toBe('single');
    expect(m.snapshot.note).toMatch(/GRANT RELOAD/);
    expect(m.totals.rows).toBe(manifest.totals.rows);
    const c = await connect(src);
    await c.query("CREATE USER IF NOT EXISTS 'ferry_none'@'%' IDENTIFIED BY 'none-secret-123'");
    await c.end();
    const denied = await exportMysql({ source: { ...endpoint(src), user: 'ferry_none', password: 'none-secret-123' }, databases: ['vedfolnir'], dir: join(work, 'none') })
      .catch((e: unknown) => e);
    expect(isFerryError(denied) && denied.code).toBe('E_MYSQL_PRIVILEGE');
    expect(isFerryError(denied) && denied.hint).toContain("GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, RELOAD, REPLICATION CLIENT ON *.* TO 'ferry_none'@'%'");
  });

  it('names host, port and user (never the password) when the server refuses or is gone', async () => {
    const wrong = { ...endpoint(src), password: 'not-the-password-42' };
    const refused = await exportMysql({ source: wrong, databases: ['vedfolnir'], dir: join(work, 'x') }).catch((e: unknown) => e);
    expect(isFerryError(refused) && refused.code).toBe('E_MYSQL_AUTH');
    expect(String((refused as Error).message)).toContain(`127.0.0.1:${src.port}`);
    expect(JSON.stringify(refused)).not.toContain('not-the-password-42');
    const gone = await verifyMysql({ target: { ...endpoint(src), port: 1 }, dir: join(work, 'export') }).catch((e: unknown) => e);
    expect(isFerryError(gone) && gone.code).toBe('E_MYSQL_UNREACHABLE');
    expect((gone as Error).message).toContain('127.0.0.1:1');
    expect(isFerryError(gone) && gone.hint).toContain('root');
  });
});
