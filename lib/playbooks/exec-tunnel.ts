/**
 * Reaching a data service after cutover, when it publishes no port: a TCP listener on 127.0.0.1 whose
 * every connection is bridged by `docker exec -i` into the container, to the service's own loopback
 * port (bash's /dev/tcp, else busybox nc). Nothing in the stack is changed or restarted, so verify can
 * run at any time.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { spawn } from 'node:child_process';
import { execa } from 'execa';
import { FerryError } from '../core/errors.ts';

export interface Tunnel { readonly port: number; close(): Promise<void> }

const bridge = (port: number) =>
  `if command -v bash >/dev/null 2>&1; then exec bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port} && { cat <&3 & cat >&3; kill %1 2>/dev/null; }'; else exec nc 127.0.0.1 ${port}; fi`;

/** The running container of a compose service, by the labels compose v1 and v2 both set. */
export async function serviceContainer(project: string, service: string): Promise<string | undefined> {
  const r = await execa('docker', ['ps', '-q', '--filter', `label=com.docker.compose.project=${project}`, '--filter', `label=com.docker.compose.service=${service}`],
    { reject: false, stdin: 'ignore' });
  return String(r.stdout).split('\n').map((s) => s.trim()).find(Boolean);
}

export async function openExecTunnel(container: string, containerPort: number): Promise<Tunnel> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    const child = spawn('docker', ['exec', '-i', container, 'sh', '-c', bridge(containerPort)], { stdio: ['pipe', 'pipe', 'ignore'] });
    socket.pipe(child.stdin!);
    child.stdout!.pipe(socket);
    const end = () => { socket.destroy(); child.kill(); sockets.delete(socket); };
    socket.on('close', end).on('error', end);
    child.on('exit', end).on('error', end);
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen({ port: 0, host: '127.0.0.1' }, resolve); });
  const addr = server.address();
  if (!addr || typeof addr !== 'object') throw new FerryError('E_TUNNEL', 'the tunnel listener has no port', { hint: 'report this as a bug' });
  return {
    port: addr.port,
    close: () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}
