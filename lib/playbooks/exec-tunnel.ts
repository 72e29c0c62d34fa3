/**
 * Reaching a data service after cutover, when it publishes no port: a TCP listener on 127.0.0.1 whose
 * every connection is bridged by an exec into the container (the Engine API's, on an upgraded connection
 * to its local socket; else `docker exec -i`), to the service's own loopback port (bash's /dev/tcp, else
 * busybox nc). Nothing in the stack is changed or restarted, so verify can run at any time.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { finished } from 'node:stream/promises';
import { FerryError } from '../core/errors.ts';
import { composeContainers } from '../compose/containers.ts';
import { exec } from '../util/exec.ts';
import { apiExecDuplex } from '../util/docker-api.ts';

export interface Tunnel {
  readonly port: number;
  /**
   * Start no bridge ahead until `release`: the spares already started are taken first, and a connection
   * that finds none starts its own. For the write freeze: a `docker exec` started there costs its CPU
   * (≈ 0.2 CPU-s here, on 2 cores) to the work the freeze waits for.
   */
  hold(): void;
  /** Start bridges ahead again, up to SPARES. */
  release(): void;
  close(): Promise<void>;
}

/**
 * Bridges kept started ahead per tunnel: what a following store's work inside the freeze takes without a
 * `docker exec` of its own — catch-up and promote open one connection each, a rehearsal's catch-up runs
 * twice. Each spare is a shell waiting in the container and an open connection to the engine's socket
 * (where the CLI is used instead, an idle `docker exec -i`: ≈ 25 MB of the host's memory).
 */
export const SPARES = 3;

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

/**
 * `armed`: a spare, started ahead and waiting inside the container for one line on its stdin before it connects.
 * Through the Engine API's local socket where there is one (an exec on an upgraded connection: no CLI
 * process on the host), else `docker exec -i`.
 */
function startBridge(container: string, containerPort: number, armed: boolean): Bridge {
  const input = new PassThrough(), output = new PassThrough(), ac = new AbortController();
  const script = armed ? `read -r _ && { ${bridge(containerPort)}; }` : bridge(containerPort);
  const b = { input, output, ac, exited: false } as Omit<Bridge, 'done'> & { done?: Promise<unknown> };
  const viaCli = () => exec('docker', ['exec', '-i', container, 'sh', '-c', script], { stdin: input, stdout: output, signal: ac.signal });
  const viaApi = async () => {
    const cmd = ['sh', '-c', script];
    // Asked twice before the CLI: a reset on the socket is one request's, not the engine's answer.
    const x = (await apiExecDuplex(container, cmd)) ?? (ac.signal.aborted ? undefined : await apiExecDuplex(container, cmd));
    if (!x) return ac.signal.aborted ? undefined : viaCli();
    const stop = () => { x.abort(); x.stdout.destroy(); };
    if (ac.signal.aborted) { stop(); return undefined; }
    ac.signal.addEventListener('abort', stop, { once: true });
    input.pipe(x.stdin);
    x.stdin.on('error', stop);
    x.stdout.pipe(output, { end: false });
    // Its output all handed on (or dropped by an abort) before `output` is ended below.
    await Promise.all([x.done, finished(x.stdout).catch(() => undefined)]);
    return undefined;
  };
  b.done = viaApi().catch(() => undefined).finally(() => { b.exited = true; output.end(); });
  return b as Bridge;
}

/**
 * `container`: an id, or a lookup run for every round of bridges started (a service's container: the
 * tunnel then follows the service across a recreation).
 *
 * SPARES bridges are kept started: their exec (≈ 0.17 s here through the socket, ≈ 0.25 s as `docker exec`, plus ≈ 0.07 s for the lookup) is
 * paid ahead, and each connects to the service only when a connection takes it (one line on its stdin),
 * so an unused spare never opens a connection the server would count as aborted. Inside the freeze each
 * catch-up and promote opens one connection through the tunnel: those neither wait for a `docker exec`
 * nor, the tunnel held (`hold`), share the CPU with one starting the next spare (with one spare refilled
 * after each connection the demo's measured downtime was 1.9–2.5 s in four runs; held with three,
 * 0.9–1.5 s in six). Concurrent catch-ups and promotes were tried too: no shorter (each slower beside the
 * others on 2 cores). A spare whose container went (a recreated service) has exited: it is dropped, and a
 * connection that finds no live spare starts a bridge of its own.
 */
export async function openExecTunnel(container: string | (() => Promise<string | undefined>), containerPort: number): Promise<Tunnel> {
  const sockets = new Set<Socket>();
  const lookup = typeof container === 'string' ? () => Promise.resolve<string | undefined>(container) : () => container().catch(() => undefined);
  let closed = false;
  let held = false;
  const pool: Bridge[] = [];
  let refilling = false;
  const refill = async () => {
    if (closed || held || refilling || pool.length >= SPARES) return;
    refilling = true;
    try {
      const c = await lookup();
      while (c !== undefined && !closed && !held && pool.length < SPARES) pool.push(startBridge(c, containerPort, true));
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
      let s = pool.shift();
      while (s?.exited) s = pool.shift();
      if (s) { b = s; s.input.write('\n'); } else {
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
    hold: () => { held = true; },
    release: () => { held = false; void refill().catch(() => undefined); },
    close: async () => {
      closed = true;
      const spares = pool.splice(0);
      for (const s of spares) s.ac.abort();
      for (const x of sockets) x.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all(spares.map((s) => s.done));
    },
  };
}
