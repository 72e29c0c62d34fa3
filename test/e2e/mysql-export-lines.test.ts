/**
 * The MySQL export's server-built lines and key-range segments, end to end on real servers.
 *
 * Long lines: on a source whose max_allowed_packet is 1 MiB, rows whose QUOTE()d line would exceed it
 * come back as a NULL line and are fetched again by key and encoded in JavaScript, in key order, into the
 * bytes a server with a larger packet builds; the chunk files must still hold every row byte for byte,
 * through LOAD DATA and through the INSERT path's parser, and read back from such a target they are equal.
 *
 * Segments: a big table with a single integer key is split into key ranges exported in parallel
 * (`<table>.sNN.NNNNN.tsv`); the chunk ranges must tile the key space, and verify must still find a
 * missing row in it.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, type Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMysql, type StartedMysql } from '../support/containers.ts';
import { exportMysql, importMysql, verifyMysql, type Manifest, type MysqlTarget } from '../../lib/engines/mysql/index.ts';
import { parseRows } from '../../lib/engines/mysql/tsv.ts';

const endpoint = (s: StartedMysql): MysqlTarget => ({ host: s.host, port: s.port, user: 'root', password: s.rootPassword });
const connect = (s: StartedMysql, database = 'mysql'): Promise<Connection> =>
  createConnection({ host: s.host, port: s.port, user: 'root', password: s.rootPassword, database, charset: 'utf8mb4' });
const rowsOf = async (c: Connection, sql: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> =>
  (await c.query(sql, params))[0] as Array<Record<string, unknown>>;
const one = async (c: Connection, sql: string, params: unknown[] = []): Promise<Record<string, unknown>> => (await rowsOf(c, sql, params))[0]!;

/** A deterministic byte generator (xorshift32), so a failure reproduces. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
}

/**
 * ~700 KB, mostly bytes QUOTE() doubles (quote, backslash, NUL, Ctrl-Z) among TAB, LF and CR, so the
 * quoted value is ~1.3 MB: over a 1 MiB max_allowed_packet while the raw value is well under it. It
 * starts with a quote and ends with a backslash (the bytes a line parser is most likely to trip on).
 */
function nastyBlob(seed: number, size = 700 * 1024): Buffer {
  const next = prng(seed);
  const doubled = [0x27, 0x5c, 0x00, 0x1a];
  const literal = [0x09, 0x0a, 0x0d, 0x4e, 0x55, 0x4c, 0x20, 0xff];
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) {
    const r = next();
    b[i] = r % 100 < 85 ? doubled[(r >>> 8) % doubled.length]! : literal[(r >>> 8) % literal.length]!;
  }
  b[0] = 0x27;
  b[size - 1] = 0x5c;
  return b;
}

/** Under TEXT's 65,535 bytes: UTF-8 text full of the same troublesome characters. */
function nastyText(seed: number): string {
  const parts = ["naïve 'quoted'", '\\', '\t', '\n', '\r', '\u001a', '\u0000', 'NULL', 'ø∑', "\\'", "'\t'", '🦊'];
  const next = prng(seed);
  let s = '';
  while (Buffer.byteLength(s) < 60_000) s += parts[next() % parts.length];
  return s;
}

/** The length of QUOTE(b), computed here, to check the fallback is really needed. */
const quotedLength = (b: Buffer): number => 2 + b.length + b.reduce((n, x) => n + (x === 0x27 || x === 0x5c || x === 0x00 || x === 0x1a ? 1 : 0), 0);

/** Decode a hex key bound from the manifest (raw bytes of the key's text form) to a number. */
const keyOf = (hex: readonly string[] | null): number | null => (hex === null ? null : Number(Buffer.from(hex[0]!, 'hex').toString('latin1')));

describe('mysql export: server-built lines and key-range segments', { timeout: 900_000 }, () => {
  let src: StartedMysql;
  let dst: StartedMysql;
  let work: string;

  beforeAll(async () => {
    // The helper passes --max-allowed-packet=256M first; the later flag wins (asserted below).
    [src, dst] = await Promise.all([startMysql({ command: ['--max-allowed-packet=1M'] }), startMysql({ command: ['--local-infile=1'] })]);
    work = await mkdtemp(join(tmpdir(), 'ferry-mysql-lines-e2e-'));
  });
  afterAll(async () => { await Promise.all([src?.stop(), dst?.stop()]); });

  it('exports rows whose quoted line exceeds max_allowed_packet, byte for byte, through LOAD DATA and INSERTs', async () => {
    const BIG = [100, 150, 151, 400];
    const SPECIAL: Record<number, [Buffer | null, string | null]> = {
      200: [null, null],
      201: [Buffer.alloc(0), ''],
      202: [Buffer.from('NULL'), 'NULL'],
      203: [null, 'NULL'],
      204: [Buffer.from('NULL'), null],
      205: [Buffer.from('\\N'), '\\N'],
    };
    const blobs = new Map(BIG.map((id) => [id, nastyBlob(id)] as const));
    const s = await connect(src);
    try {
      expect(await one(s, 'SELECT @@GLOBAL.max_allowed_packet AS p')).toEqual({ p: 1048576 });
      await s.query('CREATE DATABASE lines_db');
      await s.query('CREATE TABLE lines_db.payload (id INT NOT NULL PRIMARY KEY, b LONGBLOB NULL, t TEXT CHARACTER SET utf8mb4 NULL) ENGINE=InnoDB');
      const ordinary: unknown[][] = [];
      for (let id = 1; id <= 400; id++) {
        if (BIG.includes(id) || SPECIAL[id]) continue;
        ordinary.push([id, Buffer.from(`row ${id}\t'x'\\${'y'.repeat(id % 50)}\n\r\0\x1a`, 'latin1'), `ligne ${id} é ${'z'.repeat(id % 70)} \t'"\\`]);
      }
      await s.query('INSERT INTO lines_db.payload (id, b, t) VALUES ?', [ordinary]);
      for (const [id, [b, t]] of Object.entries(SPECIAL)) await s.execute('INSERT INTO lines_db.payload (id, b, t) VALUES (?, ?, ?)', [Number(id), b, t]);
      // Prepared statements carry the Buffer raw (~760 KB, under the 1 MiB packet); a text query would hex it to 1.4 MB.
      for (const id of BIG) await s.execute('INSERT INTO lines_db.payload (id, b, t) VALUES (?, ?, ?)', [id, blobs.get(id)!, nastyText(id)]);

      // The precondition: the server cannot build these rows' lines (QUOTE is NULL), but can build the others'.
      for (const id of BIG) {
        expect(quotedLength(blobs.get(id)!)).toBeGreaterThan(1048576);
        expect(await one(s, 'SELECT LENGTH(b) AS n, QUOTE(b) IS NULL AS tooLong FROM lines_db.payload WHERE id = ?', [id])).toEqual({ n: 700 * 1024, tooLong: 1 });
      }
      expect(await one(s, 'SELECT COUNT(*) AS n FROM lines_db.payload WHERE QUOTE(b) IS NULL AND b IS NOT NULL')).toEqual({ n: BIG.length });
    } finally { await s.end(); }

    const dir = join(work, 'lines');
    // Tiny chunks (the sizer's floor is 100 rows): too-long rows end a chunk (100), sit inside one (150,
    // 151) and end the table (400). A chunk's upper bound must come from its last key even when that
    // row's line was NULL.
    const manifest: Manifest = await exportMysql({ source: endpoint(src), databases: ['lines_db'], dir, chunkBytes: 4 * 1024, parallelism: 2 });
    const entry = manifest.tables.find((t) => t.table.name === 'payload')!;
    expect(entry.rows).toBe(400);
    expect(entry.chunks.reduce((n, c) => n + c.rows, 0)).toBe(400);
    expect(entry.chunks.length).toBeGreaterThanOrEqual(2);
    expect(entry.chunks[0]!.lo).toBeNull();
    expect(entry.chunks.at(-1)!.hi).toBeNull();
    for (let i = 1; i < entry.chunks.length; i++) expect(entry.chunks[i]!.lo).toEqual(entry.chunks[i - 1]!.hi);
    expect(entry.chunks.slice(0, -1).map((c) => keyOf(c.hi)).filter((k) => BIG.includes(k!)), 'a chunk ending at a too-long row').not.toEqual([]);

    // Every row is in the chunk files exactly once, and the too-long ones decode to the source's bytes.
    const seen = new Map<number, Array<Buffer | null>>();
    for (const c of entry.chunks) {
      let lines = 0;
      for await (const row of parseRows(createReadStream(join(dir, c.file)))) {
        lines++;
        expect(row).toHaveLength(3);
        const id = Number(row[0]!.toString('latin1'));
        expect(seen.has(id), `row ${id} twice`).toBe(false);
        seen.set(id, row);
      }
      expect(lines, c.file).toBe(c.rows);
    }
    expect([...seen.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    for (const id of BIG) {
      expect(seen.get(id)![1]!.equals(blobs.get(id)!), `blob of row ${id}`).toBe(true);
      expect(seen.get(id)![2]!.toString('utf8')).toBe(nastyText(id));
    }
    for (const [id, [b, t]] of Object.entries(SPECIAL)) {
      expect(seen.get(Number(id))![1], `b of row ${id}`).toEqual(b);
      expect(seen.get(Number(id))![2], `t of row ${id}`).toEqual(t === null ? null : Buffer.from(t));
    }

    const compare = async (label: string) => {
      const sql = 'SELECT id, LENGTH(b) AS n, SHA2(b, 256) AS h, b IS NULL AS bn, t, t IS NULL AS tn FROM lines_db.payload ORDER BY id';
      const [a, d] = [await connect(src), await connect(dst)];
      try {
        const want = await rowsOf(a, sql);
        expect(want).toHaveLength(400);
        expect(await rowsOf(d, sql), label).toEqual(want);
      } finally { await a.end(); await d.end(); }
    };

    // Through LOAD DATA LOCAL, then again through multi-row INSERTs (parseRows on the import side) into a
    // fresh database. An empty chunk (a range found empty) already matches the target and is skipped.
    for (const pass of [{ via: 'auto', path: 'local-infile', label: 'after LOAD DATA' }, { via: 'insert', path: 'insert', label: 'after INSERTs' }] as const) {
      if (pass.via === 'insert') {
        const d = await connect(dst);
        await d.query('DROP DATABASE lines_db');
        await d.end();
      }
      const loaded = await importMysql({ target: endpoint(dst), dir, stateFile: join(work, `lines-state-${pass.via}.json`), via: pass.via });
      expect(loaded.via).toBe(pass.path);
      expect(loaded.chunksLoaded).toBe(entry.chunks.filter((c) => c.rows > 0).length);
      expect(loaded.chunksLoaded + loaded.chunksSkipped).toBe(entry.chunks.length);
      const report = await verifyMysql({ target: endpoint(dst), source: endpoint(src), dir });
      expect(report.findings).toEqual([]);
      expect(report.ok).toBe(true);
      // Without the source, each chunk is read back from the target, whose max_allowed_packet (256 MiB)
      // lets it build the lines the source could not: the same bytes as the ones encoded at export.
      expect((await verifyMysql({ target: endpoint(dst), dir })).findings, `${pass.label}, chunks read back`).toEqual([]);
      await compare(pass.label);
    }
  });

  it('splits a big integer-keyed table into key-range segments that tile the key space', async () => {
    const N = 20_000;
    const FIRST = -2_000; // negative keys too: the cuts are computed as BigInts from MIN and MAX
    const s = await connect(src);
    let total: number;
    try {
      await s.query('CREATE DATABASE segs');
      await s.query('CREATE TABLE segs.items (id INT NOT NULL PRIMARY KEY, name VARCHAR(64) NOT NULL, body VARCHAR(255) NULL) ENGINE=InnoDB');
      for (let at = 0; at < N; at += 1000) {
        const batch: unknown[][] = [];
        for (let i = at; i < at + 1000; i++) {
          const id = FIRST + i;
          batch.push([id, `item ${id}`, i % 97 === 0 ? null : `${"body 'q' \\ \t".repeat(1 + (i % 3))}${'x'.repeat(120 + (i % 60))}`]);
        }
        await s.query('INSERT INTO segs.items (id, name, body) VALUES ?', [batch]);
      }
      await s.query('ANALYZE TABLE segs.items');
      const stats = await one(s, "SELECT DATA_LENGTH AS b FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'segs' AND TABLE_NAME = 'items'");
      // The precondition for segments: approxBytes >= 4 x chunkBytes.
      expect(Number(stats.b)).toBeGreaterThanOrEqual(4 * 64 * 1024);
      total = Number((await one(s, 'SELECT COUNT(*) AS n FROM segs.items')).n);
      expect(total).toBe(N);
    } finally { await s.end(); }

    const dir = join(work, 'segs');
    const manifest = await exportMysql({ source: endpoint(src), databases: ['segs'], dir, chunkBytes: 64 * 1024, parallelism: 2 });
    const entry = manifest.tables.find((t) => t.table.name === 'items')!;
    const files = entry.chunks.map((c) => c.file);
    expect(files.every((f) => /\.s0\d\.\d{5}\.tsv$/.test(f)), files.join(', ')).toBe(true);
    const segments = [...new Set(files.map((f) => /\.s(\d\d)\.\d{5}\.tsv$/.exec(f)![1]!))];
    expect(segments.length).toBeGreaterThanOrEqual(2);
    expect(segments).toEqual(Array.from({ length: segments.length }, (_, i) => String(i).padStart(2, '0')));
    // Chunks numbered from 0 within each segment, in order.
    for (const seg of segments) {
      const within = files.filter((f) => f.includes(`.s${seg}.`)).map((f) => Number(/\.(\d{5})\.tsv$/.exec(f)![1]));
      expect(within).toEqual(Array.from({ length: within.length }, (_, i) => i));
    }

    // The ranges tile the key space: unbounded at both ends, each lo the previous hi.
    expect(entry.chunks[0]!.lo).toBeNull();
    expect(entry.chunks.at(-1)!.hi).toBeNull();
    for (let i = 1; i < entry.chunks.length; i++) expect(entry.chunks[i]!.lo, `chunk ${i} (${entry.chunks[i]!.file})`).toEqual(entry.chunks[i - 1]!.hi);
    for (const c of entry.chunks.slice(0, -1)) expect(c.hi).not.toBeNull();
    expect(entry.chunks.reduce((n, c) => n + c.rows, 0)).toBe(total);
    expect(entry.rows).toBe(total);
    // Each chunk holds exactly the source's rows of its range.
    const c = await connect(src);
    try {
      for (const ch of entry.chunks) {
        const lo = keyOf(ch.lo);
        const hi = keyOf(ch.hi);
        const n = await one(c, `SELECT COUNT(*) AS n FROM segs.items WHERE (? IS NULL OR id > ?) AND (? IS NULL OR id <= ?)`, [lo, lo, hi, hi]);
        expect(Number(n.n), ch.file).toBe(ch.rows);
      }
    } finally { await c.end(); }
    // A segment's first chunk starts at the previous segment's end: that key is the cut.
    const cut = keyOf(entry.chunks.find((ch) => ch.file.includes('.s01.00000.'))!.lo)!;
    expect(cut).toBeGreaterThan(FIRST);
    expect(cut).toBeLessThan(FIRST + N - 1);

    const loaded = await importMysql({ target: endpoint(dst), dir, stateFile: join(work, 'segs-state.json') });
    // An empty chunk (a range found empty) already matches the target and is skipped.
    expect(loaded.chunksLoaded).toBe(entry.chunks.filter((c) => c.rows > 0).length);
    expect(loaded.chunksLoaded + loaded.chunksSkipped).toBe(entry.chunks.length);
    const report = await verifyMysql({ target: endpoint(dst), source: endpoint(src), dir });
    expect(report.findings).toEqual([]);
    expect(report.ok).toBe(true);

    // Remove the row at a segment cut (the last row of segment 0) on the target: verify names it.
    const d = await connect(dst);
    try {
      const [gone] = await d.query('DELETE FROM segs.items WHERE id = ?', [cut]);
      expect((gone as { affectedRows: number }).affectedRows).toBe(1);
    } finally { await d.end(); }
    const damaged = await verifyMysql({ target: endpoint(dst), source: endpoint(src), dir });
    expect(damaged.ok).toBe(false);
    const bad = damaged.tables.filter((t) => !t.ok);
    expect(bad.map((t) => t.table)).toEqual(['segs.items']);
    expect(bad[0]!.actualRows).toBe(total - 1);
    expect(bad[0]!.mismatchedChunks).toBe(1);
    expect(bad[0]!.differences.flatMap((x) => x.rows)).toEqual([{ key: String(cut), issue: 'missing on target' }]);
    expect(damaged.findings.join('\n')).toContain(`segs.items: ${total - 1} rows on the target, ${total} exported`);
  });
});
