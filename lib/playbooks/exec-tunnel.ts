/**
 * Reaching a data service after cutover, when it publishes no port: a TCP listener on 127.0.0.1 whose
 * every connection is bridged by `docker exec -i` into the container, to the service's own loopback
 * port (bash's /dev/tcp, else busybox nc). Nothing in the stack is changed or restarted, so verify can
 * run at any time.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { FerryError } from '../core/errors.ts';
import { composeContainers } from '../compose/containers.ts';
import { exec } from '../util/exec.ts';

export interface Tunnel { readonly port: number; close(): Promise<void> }

/** A tunnel to whichever container runs `service` of `project` when a connection comes in. */
export function openServiceTunnel(project: string, service: string, containerPort: number): Promise<Tunnel> {
  return openExecTunnel(() => serviceContainer(project, service), containerPort);
}

// bash reaps its background cat (`wait`): left to the container's PID 1, a postmaster takes the killed orphan
// for one of its crashed backends and restarts every session in crash recovery ("in recovery mode").
const bridge = (port: number) =>
  `if command -v bash >/dev/null 2>&1; then exec bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port} && { cat <&3 & cat >&3; kill %1 2>/dev/null; wait; }'; else exec nc 127.0.0.1 ${port}; fi`;

/** The running container of a compose service, by the labels compose v1 and v2 both set. */
export async function serviceContainer(project: string, service: string): Promise<string | undefined> {
  return (await composeContainers({ project, service }).catch(() => []))[0];
}

/** One connection's `docker exec` into the container, its stdin and stdout streams ferry pipes a socket through. */
interface Bridge { readonly input: PassThrough; readonly output: PassThrough; readonly ac: AbortController; readonly done: Promise<unknown>; exited: boolean }

/** `armed`: a spare, started ahead and waiting inside the container for one line on its stdin before it connects. */
function startBridge(container: string, containerPort: number, armed: boolean): Bridge {
  const input = new PassThrough(), output = new PassThrough(), ac = new AbortController();
  const script = armed ? `read -r _ && { ${bridge(containerPort)}; }` : bridge(containerPort);
  const b = { input, output, ac, exited: false } as Omit<Bridge, 'done'> & { done?: Promise<unknown> };
  b.done = exec('docker', ['exec', '-i', container, 'sh', '-c', script], { stdin: input, stdout: output, signal: ac.signal })
    .catch(() => undefined).finally(() => { b.exited = true; output.end(); });
  return b as Bridge;
}

/**
 * `container`: an id, or a lookup run for every bridge started (a service's container: the tunnel then
 * follows the service across a recreation).
 *
 * A spare bridge is kept started: its `docker exec` (≈ 0.2 s here, plus ≈ 0.07 s for the lookup) is
 * paid ahead, and it connects to the service only when a connection takes it (one line on its stdin), so
 * an unused spare never opens a connection the server would count as aborted. Inside the freeze each
 * catch-up and promote opens one connection through the tunnel: those no longer wait for `docker exec`.
 * A spare whose container went (a recreated service) has exited: the connection starts a bridge of its own.
 */
export async function openExecTunnel(container: string | (() => Promise<string | undefined>), containerPort: number): Promise<Tunnel> {
  const sockets = new Set<Socket>();
  const lookup = typeof container === 'string' ? () => Promise.resolve<string | undefined>(container) : () => container().catch(() => undefined);
  let closed = false;
  let spare: Bridge | undefined;
  let refilling = false;
  const refill = async () => {
    if (closed || spare || refilling) return;
    refilling = true;
    try {
      const c = await lookup();
      if (c !== undefined && !closed && !spare) spare = startBridge(c, containerPort, true);
    } finally { refilling = false; }
  };
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    // Replies go out as the bridge writes them: Nagle would hold small ones back for the client's delayed ACK.
    socket.setNoDelay(true);
    let b: Bridge | undefined;
    const end = () => { b?.ac.abort(); socket.destroy(); sockets.delete(socket); };
    socket.on('close', end).on('error', end);
    void (async () => {
      const s = spare;
      spare = undefined;
      if (s && !s.exited) { b = s; s.input.write('\n'); } else {
        s?.ac.abort();
        const c = await lookup();
        if (c === undefined || socket.destroyed) return;
        b = startBridge(c, containerPort, false);
      }
      if (socket.destroyed) return;
      socket.pipe(b.input);
      b.output.pipe(socket);
      void refill().catch(() => undefined);
      await b.done;
    })().finally(end);
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen({ port: 0, host: '127.0.0.1' }, resolve); });
  const addr = server.address();
  if (!addr || typeof addr !== 'object') throw new FerryError('E_TUNNEL', 'the tunnel listener has no port', { hint: 'report this as a bug' });
  void refill().catch(() => undefined);
  return {
    port: addr.port,
    close: async () => {
      closed = true;
      const s = spare;
      spare = undefined;
      s?.ac.abort();
      for (const x of sockets) x.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await s?.done;
    },
  };
}
