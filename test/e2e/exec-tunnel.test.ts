/**
 * The `docker exec` tunnel that reaches a data service publishing no port (after unpublish and cutover),
 * against a real Redis container: every connection is bridged into the container (through the engine's
 * local socket: no CLI process; a 24 MB value comes back byte for byte); SPARES bridges are kept
 * started ahead and connect to the server only when a connection takes one (the server never sees them
 * before); held (the write freeze), the tunnel starts none ahead until released; a spare that died with its
 * container's restart is replaced by a bridge of the connection's own; nothing is left running once the
 * tunnel is closed.
 */
import { connect } from 'node:net';
import { execa } from 'execa';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openExecTunnel, SPARES, type Tunnel } from '../../lib/playbooks/exec-tunnel.ts';
import { resolveEngineSocket } from '../../lib/util/docker-api.ts';
import { startRedis, type StartedRedis } from '../support/containers.ts';

const PASSWORD = 'tunnel-Pw-1';

/**
 * Bridges inside container `id` (docker top): spares are still the `sh` waiting for their line; a taken one
 * has exec'd its bridge (bash, or nc), as a connection's own bridge does.
 */
async function bridges(id: string): Promise<{ spares: number; live: number }> {
  let r = await execa('docker', ['top', id, '-eo', 'pid,args'], { reject: false });
  // A container restarting has no processes to list; a running one is asked again (a busy engine's hiccup is not a count of 0).
  for (let i = 0; i < 5 && r.exitCode !== 0 && !/is not running|restarting/i.test(r.stderr); i++) r = await execa('docker', ['top', id, '-eo', 'pid,args'], { reject: false });
  const out = r.exitCode === 0 ? r.stdout.split('\n').slice(1).map((l) => l.trim().replace(/^\d+\s+/, '')) : [];
  return { spares: out.filter((l) => l.startsWith('sh -c read -r _')).length, live: out.filter((l) => /^(bash -c exec 3<>|nc 127)/.test(l)).length };
}

/** `docker exec` CLI processes on this host into `id`. */
async function execClients(id: string): Promise<number> {
  return (await execa('pgrep', ['-f', `docker exec -i ${id} `], { reject: false })).stdout.split('\n').filter(Boolean).length;
}

async function until(what: string, ok: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const client = (port: number) => new Redis({ host: '127.0.0.1', port, password: PASSWORD, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });

describe('exec tunnel with spare bridges', { timeout: 240_000 }, () => {
  let redis: StartedRedis;
  let tunnel: Tunnel;
  let id: string;
  let lookups = 0;
  beforeAll(async () => {
    redis = await startRedis({ password: PASSWORD });
    id = redis.container.getId();
    tunnel = await openExecTunnel(async () => { lookups++; return id; }, 6379);
  });
  afterAll(async () => { await tunnel?.close(); await redis?.stop(); });

  it('keeps SPARES started that the server never sees until a connection takes one', async () => {
    await until('the first spares', async () => (await bridges(id)).spares === SPARES);
    const c = client(tunnel.port);
    await c.connect();
    try {
      await c.set('k', 'through the tunnel');
      expect(await c.get('k')).toBe('through the tunnel');
      // The spares are all there again, and the server lists only this client: no spare has connected.
      await until('the next spare', async () => (await bridges(id)).spares === SPARES);
      const clients = String(await c.call('CLIENT', 'LIST')).trim().split('\n');
      expect(clients).toHaveLength(1);
      expect(await bridges(id)).toEqual({ spares: SPARES, live: 1 });
      // Through the engine's local socket: no `docker exec` process on this host for any of them.
      if (resolveEngineSocket() !== undefined) expect(await execClients(id)).toBe(0);
      // A value bigger than any frame or socket read comes back byte for byte (the output's frames reassembled).
      const big = Buffer.alloc(24 << 20, 'ferry-tunnel-');
      big.writeUInt32BE(0xdeadbeef, big.length - 4);
      await c.set('big', big);
      expect((await c.getBuffer('big'))?.equals(big)).toBe(true);
    } finally { c.disconnect(); }
    // Connections one after another each take the spare; the data is the server's.
    for (let i = 0; i < 3; i++) {
      const d = client(tunnel.port);
      await d.connect();
      expect(await d.incr('n')).toBe(i + 1);
      d.disconnect();
    }
    await until('the bridges of closed connections gone', async () => (await bridges(id)).live === 0);
    await until('the spares refilled', async () => (await bridges(id)).spares === SPARES);
  });

  it('held: connections take the spares and none is started ahead; past them a connection bridges on its own; released, they are refilled', async () => {
    await until('the spares', async () => (await bridges(id)).spares === SPARES);
    const clients = await execClients(id);
    tunnel.hold();
    try {
      for (let i = 1; i <= SPARES + 1; i++) {
        const c = client(tunnel.port);
        await c.connect();
        expect(await c.incr('held')).toBe(i);
        c.disconnect();
        await until('the bridge of the closed connection gone', async () => (await bridges(id)).live === 0);
        // No `docker exec` started ahead: the spares only go down (the last connection's own bridge has ended).
        expect((await bridges(id)).spares).toBe(Math.max(0, SPARES - i));
        await until('the closed connection\'s docker exec gone', async () => await execClients(id) === Math.max(0, clients - i));
        expect((await bridges(id)).spares).toBe(Math.max(0, SPARES - i));
      }
    } finally { tunnel.release(); }
    await until('the spares refilled once released', async () => (await bridges(id)).spares === SPARES);
  });

  it('a spare that died with its container\'s restart: the next connection bridges on its own, and new spares follow', async () => {
    await until('the spares', async () => (await bridges(id)).spares === SPARES);
    await execa('docker', ['restart', '-t', '1', id]);
    await until('the dead spare gone', async () => (await bridges(id)).spares === 0);
    const before = lookups;
    await until('the server up again through the tunnel', async () => {
      const c = client(tunnel.port);
      try { await c.connect(); return (await c.ping()) === 'PONG'; } catch { return false; } finally { c.disconnect(); }
    });
    expect(lookups).toBeGreaterThan(before);
    await until('new spares', async () => (await bridges(id)).spares === SPARES);
    const c = client(tunnel.port);
    await c.connect();
    await c.set('after', 'restart');
    expect(await c.get('after')).toBe('restart');
    c.disconnect();
  });

  it('closed: no bridge or spare left, the port refuses', async () => {
    const port = tunnel.port;
    await tunnel.close();
    await until('every docker exec into the container gone', async () => { const b = await bridges(id); return b.spares + b.live === 0 && await execClients(id) === 0; });
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(false); });
      s.on('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  });
});
