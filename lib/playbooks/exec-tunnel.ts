/**
 * Reaching a data service after cutover, when it publishes no port: a TCP listener on 127.0.0.1 whose
 * every connection is bridged by `docker exec -i` into the container, to the service's own loopback
 * port (bash's /dev/tcp, else busybox nc). Nothing in the stack is changed or restarted, so verify can
 * run at any time.
 */
import { createServer, type Server, type Socket } from 'node:net';
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

/**
 * `container`: an id, or a lookup run for every connection (a service's container: the tunnel then
 * follows the service across a recreation).
 */
export async function openExecTunnel(container: string | (() => Promise<string | undefined>), containerPort: number): Promise<Tunnel> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    // Replies go out as the bridge writes them: Nagle would hold small ones back for the client's delayed ACK.
    socket.setNoDelay(true);
    // One `docker exec` per connection, its stdin and stdout the socket's; aborted when the socket closes.
    const ac = new AbortController();
    const end = () => { ac.abort(); socket.destroy(); sockets.delete(socket); };
    socket.on('close', end).on('error', end);
    const id = typeof container === 'string' ? Promise.resolve(container) : container().catch(() => undefined);
    void id.then((c) => (c === undefined ? undefined
      : exec('docker', ['exec', '-i', c, 'sh', '-c', bridge(containerPort)], { stdin: socket, stdout: socket, signal: ac.signal }))).finally(end);
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen({ port: 0, host: '127.0.0.1' }, resolve); });
  const addr = server.address();
  if (!addr || typeof addr !== 'object') throw new FerryError('E_TUNNEL', 'the tunnel listener has no port', { hint: 'report this as a bug' });
  return {
    port: addr.port,
    close: () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}
