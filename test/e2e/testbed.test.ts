import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import { startMysql, startRedis, type StartedMysql, type StartedRedis } from '../support/containers.ts';

describe('test bed: real servers through Testcontainers, reached on 127.0.0.1', { timeout: 300_000 }, () => {
  let my: StartedMysql;
  let rd: StartedRedis;
  beforeAll(async () => {
    [my, rd] = await Promise.all([startMysql(), startRedis({ password: 'redis-test-pw' })]);
  });
  afterAll(async () => {
    await Promise.all([my?.stop(), rd?.stop()]);
  });

  it('publishes ports on loopback only', async () => {
    const info = await my.container.exec(['true']);
    expect(info.exitCode).toBe(0);
    expect(my.host).toBe('127.0.0.1');
    expect(rd.host).toBe('127.0.0.1');
  });

  it('writes utf8mb4 and binary data to MySQL and reads it back through mysql2', async () => {
    const conn = await mysql.createConnection({ host: my.host, port: my.port, user: 'root', password: my.rootPassword, database: my.database, charset: 'utf8mb4' });
    try {
      await conn.query('CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(50), b VARBINARY(16)) CHARACTER SET utf8mb4');
      const bin = Buffer.from([0, 255, 10, 13, 39, 92]);
      await conn.query('INSERT INTO t VALUES (?, ?, ?)', [1, 'ferry 🚢 ✓', bin]);
      const [rows] = await conn.query('SELECT s, b FROM t WHERE id = 1');
      const row = (rows as Array<{ s: string; b: Buffer }>)[0]!;
      expect(row.s).toBe('ferry 🚢 ✓');
      expect(Buffer.compare(row.b, bin)).toBe(0);
    } finally {
      await conn.end();
    }
  });

  it('writes keys with a TTL to Redis and reads them back through ioredis', async () => {
    const r = new Redis({ host: rd.host, port: rd.port, password: rd.password, lazyConnect: true });
    await r.connect();
    try {
      await r.set(Buffer.from([0xff, 0x00, 0x41]), 'v', 'EX', 100);
      expect(await r.getBuffer(Buffer.from([0xff, 0x00, 0x41]))).toEqual(Buffer.from('v'));
      const ttl = await r.ttl(Buffer.from([0xff, 0x00, 0x41]));
      expect(ttl).toBeGreaterThan(90);
      await r.hset('h', { a: '1', b: '2' });
      expect(await r.hgetall('h')).toEqual({ a: '1', b: '2' });
    } finally {
      r.disconnect();
    }
  });
});
