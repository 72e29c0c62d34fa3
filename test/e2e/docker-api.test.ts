/**
 * The Engine API on the local socket (lib/util/docker-api.ts) answers what the `docker` CLI answers, on a
 * real engine: a compose-labelled project (a running container publishing a port on 127.0.0.1 with the
 * migration label, a stopped one, a one-off one) and its migration network are read both ways — the CLI
 * forced with FERRY_DOCKER_API=off — and must agree: container lists (running, all, one service, no
 * one-offs), the project snapshot (services, states, health, published bindings, the label), a service's
 * health (the containers run without a health check, so their states hold still between the two reads),
 * a command run in a service's container (output, exit code, variables, user, a timeout; streamed; with
 * ferry's bytes on its stdin, closed by a half-close); the network is
 * listed, then removed through the API.
 */
import { createHash, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { composeContainers } from '../../lib/compose/containers.ts';
import { projectSnapshot } from '../../lib/compose/snapshot.ts';
import { serviceHealth } from '../../lib/compose/health.ts';
import { migrationNetworks, removeMigrationNetwork } from '../../lib/compose/stack.ts';
import { MIGRATION_LABEL } from '../../lib/compose/migration-access.ts';
import { createComposeClient, type ComposeClient } from '../../lib/compose/client.ts';
import { apiExecDuplex, apiExecStream, resetEngineSocket, resolveEngineSocket } from '../../lib/util/docker-api.ts';
import { freePort } from '../../lib/util/free-port.ts';
import { testImages } from '../support/images.ts';
import { testLabels } from '../support/labels.ts';

const project = `ferry-api-${randomUUID().slice(0, 8)}`;
const labels = Object.entries(testLabels()).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
const compose = (service: string, oneoff = 'False') => ['--label', `com.docker.compose.project=${project}`, '--label', `com.docker.compose.service=${service}`, '--label', `com.docker.compose.oneoff=${oneoff}`];
const created: string[] = [];
let port = 0;

/** Run `fn` with the CLI (FERRY_DOCKER_API=off), then with the API; both results. */
async function bothWays<T>(fn: () => Promise<T>): Promise<{ cli: T; api: T }> {
  process.env.FERRY_DOCKER_API = 'off';
  resetEngineSocket();
  const cli = await fn();
  delete process.env.FERRY_DOCKER_API;
  resetEngineSocket();
  return { cli, api: await fn() };
}

const client = { project, containerIds: (s: string) => composeContainers({ project, service: s }) } as unknown as ComposeClient;

describe('the Engine API answers what the docker CLI answers', () => {
  beforeAll(async () => {
    expect(resolveEngineSocket({ HOME: process.env.HOME })).toBeDefined();
    const run = async (args: string[]) => { const id = (await execa('docker', ['run', '-d', '--no-healthcheck', ...labels, ...args])).stdout.trim(); created.push(id); return id; };
    const image = testImages().redis;
    port = await freePort();
    await run([...compose('cache'), '--label', `${MIGRATION_LABEL}=1`, '-p', `127.0.0.1:${port}:6379`, image, 'redis-server', '--save', '']);
    const stopped = await run([...compose('worker'), image, 'redis-server', '--save', '']);
    await execa('docker', ['stop', '-t', '0', stopped]);
    await run([...compose('cache', 'True'), image, 'redis-server', '--save', '']);
    await execa('docker', ['network', 'create', ...labels, '--label', `com.docker.compose.project=${project}`, '--label', `${MIGRATION_LABEL}=1`, `${project}_migration`]);
  }, 180_000);
  afterEach(() => { delete process.env.FERRY_DOCKER_API; resetEngineSocket(); });
  afterAll(async () => {
    if (created.length) await execa('docker', ['rm', '-f', '-v', ...created], { reject: false });
    await execa('docker', ['network', 'rm', `${project}_migration`], { reject: false });
  });

  it('lists the same containers', async () => {
    for (const q of [{ project }, { project, all: true }, { project, all: true, noOneOff: true }, { project, service: 'cache' }, { project, service: 'worker', all: true }]) {
      const { cli, api } = await bothWays(() => composeContainers(q));
      expect(api.sort(), JSON.stringify(q)).toEqual(cli.sort());
    }
    const { api } = await bothWays(() => composeContainers({ project, all: true }));
    expect(api).toHaveLength(3);
  });

  it('reads the same snapshot and health', async () => {
    const { cli, api } = await bothWays(() => projectSnapshot(project));
    const view = (s: typeof cli) => s.containers.map((c) => ({ service: c.service, status: c.state.Status, published: c.published, migrationAccess: c.migrationAccess })).sort((a, b) => a.service.localeCompare(b.service));
    expect(view(api)).toEqual(view(cli));
    expect(view(api)).toEqual([
      { service: 'cache', status: 'running', published: [`127.0.0.1:${port}`], migrationAccess: true },
      { service: 'worker', status: 'exited', published: [], migrationAccess: false },
    ]);
    for (const s of ['cache', 'worker', 'absent']) {
      const h = await bothWays(() => serviceHealth(client, s));
      expect(h.api, s).toBe(h.cli);
    }
    expect((await bothWays(() => serviceHealth(client, 'cache'))).api).toBe('running');
  });

  it('runs a command in a service\'s container the same way: output, stderr, exit code, variables, user', async () => {
    const c = await createComposeClient({ project, composeDir: tmpdir() });
    const script = 'printf "%s|%s" "$SECRET_X" "$(id -u)"; echo oops >&2; exit 3';
    const { cli, api } = await bothWays(() => c.exec('cache', ['sh', '-c', script], { env: { SECRET_X: 'v@l ue' }, user: '999' }));
    expect(api).toMatchObject({ stdout: 'v@l ue|999', stderr: 'oops\n', exitCode: 3 });
    expect({ stdout: cli.stdout, stderr: cli.stderr, exitCode: cli.exitCode }).toEqual({ stdout: api.stdout, stderr: api.stderr, exitCode: api.exitCode });
    // Output larger than one frame, both streams interleaved, and a clean exit.
    const big = await c.exec('cache', ['sh', '-c', 'head -c 300000 /dev/zero | tr "\\0" a; echo; echo done >&2']);
    expect(big.exitCode).toBe(0);
    expect(big.stdout).toBe(`${'a'.repeat(300000)}\n`);
    expect(big.stderr).toBe('done\n');
    // A timeout is a stopped command (data), as the CLI path reports it.
    const slow = await c.exec('cache', ['sleep', '5'], { timeoutMs: 300 });
    expect(slow.exitCode).toBeUndefined();
    expect(slow.failure).toMatch(/timed out/);
  });

  it('streams a command\'s stdout as it comes, byte-exact across frames, with its stderr and exit code (the files helpers\' path)', async () => {
    const id = created[0]!;
    // 3 MB of binary stdout (every byte value, NULs included) in many frames, stderr between, exit 5.
    const x = await apiExecStream(id, ['sh', '-c', 'i=10; while [ $i -lt 22 ]; do head -c 262144 /dev/urandom > /tmp/chunk-$i; cat /tmp/chunk-$i; echo "err $i" >&2; i=$((i+1)); done; cat /tmp/chunk-* | sha256sum >&2; exit 5']);
    expect(x).toBeDefined();
    const parts: Buffer[] = [];
    let reads = 0;
    for await (const b of x!.stdout) { parts.push(b); reads++; }
    const out = Buffer.concat(parts);
    const d = await x!.done;
    expect(out.length).toBe(12 * 262144);
    expect(reads).toBeGreaterThan(1);
    expect(d.exitCode).toBe(5);
    expect(d.stderr.split('\n').slice(0, 12)).toEqual(Array.from({ length: 12 }, (_, i) => `err ${i + 10}`));
    expect(d.stderr).toContain(createHash('sha256').update(out).digest('hex'));
    // Without a socket to speak to: undefined (the caller runs the CLI).
    process.env.FERRY_DOCKER_API = 'off';
    resetEngineSocket();
    try { expect(await apiExecStream(id, ['true'])).toBeUndefined(); } finally { delete process.env.FERRY_DOCKER_API; resetEngineSocket(); }
  });

  it('runs a command with ferry\'s bytes on its stdin: closing it is a half-close, the output after it arrives byte for byte (the exec tunnels\' path)', async () => {
    const id = created[0]!;
    // 2 MB of random bytes in; the command answers only once its stdin ended: their sha256, then the bytes back; stderr is not output.
    const input = Buffer.from(Array.from({ length: 2 << 20 }, (_, i) => (i * 2654435761) >>> 24));
    const x = await apiExecDuplex(id, ['sh', '-c', 'cat > /tmp/duplex-in; echo noise >&2; sha256sum < /tmp/duplex-in | cut -c1-64; cat /tmp/duplex-in']);
    expect(x).toBeDefined();
    const parts: Buffer[] = [];
    x!.stdout.on('data', (b: Buffer) => parts.push(b));
    x!.stdin.end(input);
    await x!.done;
    const out = Buffer.concat(parts);
    const digest = createHash('sha256').update(input).digest('hex');
    expect(out.subarray(0, 65).toString()).toBe(`${digest}\n`);
    expect(out.subarray(65).equals(input)).toBe(true);
    // abort(): the connection closes, and the command waiting on its stdin ends with it.
    const y = await apiExecDuplex(id, ['sh', '-c', 'read -r _']);
    y!.abort();
    await y!.done;
    process.env.FERRY_DOCKER_API = 'off';
    resetEngineSocket();
    try { expect(await apiExecDuplex(id, ['true'])).toBeUndefined(); } finally { delete process.env.FERRY_DOCKER_API; resetEngineSocket(); }
  });

  it('lists the migration network, and removes it', async () => {
    const { cli, api } = await bothWays(() => migrationNetworks(client));
    expect(cli).toHaveLength(1);
    expect(api).toHaveLength(1);
    expect(api[0]!.startsWith(cli[0]!)).toBe(true); // the CLI prints the short id
    expect(await removeMigrationNetwork(client)).toEqual(api);
    expect(await migrationNetworks(client)).toEqual([]);
    expect((await execa('docker', ['network', 'inspect', `${project}_migration`], { reject: false })).exitCode).not.toBe(0);
  });
});
